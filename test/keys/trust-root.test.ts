import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import { OMS_PREDICATE_TYPE } from '../../src/envelope/index.js';
import {
  addSigner,
  diffTrustRoots,
  fileSigner,
  globMatches,
  initialTrustRoot,
  keyEntry,
  readTrustRootUnverified,
  requireDistinctSigners,
  revokeSigner,
  rotateSigner,
  signTrustRoot,
  trustRootCheckpoint,
  trustRootCheckpointFromJSON,
  trustRootDocumentFromJSON,
  trustedKeyForHint,
  verifyAgainstTrustRoot,
  verifyTrustRoot,
  type Signer,
  type TrustRoot,
  type TrustRootDocument,
  type VerifiedSignerEvidence,
} from '../../src/keys/index.js';
import { signManifest } from '../../src/sign/index.js';
import { verifyBundle } from '../../src/verify/index.js';
import { filesManifest, throwsCode } from '../envelope/fixtures.js';
import { codeSigningPki } from './x509-builder.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const T1 = new Date('2026-02-01T00:00:00Z');
const T2 = new Date('2026-03-01T00:00:00Z');
const T3 = new Date('2026-04-01T00:00:00Z');

function ecKey(): { signer: Signer; key: KeyObject } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { signer: fileSigner(privateKey), key: privateKey };
}

const roots = [ecKey(), ecKey(), ecKey()];
const rootSigners = roots.map((r) => r.signer);
const v1 = initialTrustRoot(
  roots.map((r) => r.key),
  2,
  T0,
);

async function signed(doc: TrustRootDocument, signers: readonly Signer[]): Promise<Buffer> {
  return signTrustRoot(doc, signers);
}

function mutateEnvelope(bytes: Buffer, edit: (env: Record<string, unknown>) => void): Buffer {
  const env = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  edit(env);
  return Buffer.from(JSON.stringify(env));
}

function mutatePayload(bytes: Buffer, edit: (doc: Record<string, unknown>) => void): Buffer {
  return mutateEnvelope(bytes, (env) => {
    const doc = JSON.parse(
      Buffer.from(env['payload'] as string, 'base64').toString('utf8'),
    ) as Record<string, unknown>;
    edit(doc);
    env['payload'] = Buffer.from(JSON.stringify(doc)).toString('base64');
  });
}

describe('trust root signatures and thresholds', () => {
  test('a threshold of distinct root keys makes a trust root valid', async () => {
    const root = verifyTrustRoot(await signed(v1, rootSigners.slice(0, 2)));
    assert.equal(root.document.version, 1);
    assert.equal(root.signedBy.length, 2);
  });

  test('too few signatures, a tampered payload, or a foreign key: TRUST_ROOT_SIGNATURE_INVALID', async () => {
    const one = await signed(v1, rootSigners.slice(0, 1));
    throwsCode(() => verifyTrustRoot(one), 'TRUST_ROOT_SIGNATURE_INVALID');
    const two = await signed(v1, rootSigners.slice(0, 2));
    const tampered = mutatePayload(two, (doc) => {
      doc['issuedAt'] = '2026-01-02T00:00:00Z';
    });
    throwsCode(() => verifyTrustRoot(tampered), 'TRUST_ROOT_SIGNATURE_INVALID');
    const outsider = ecKey();
    throwsCode(
      () =>
        verifyTrustRoot(
          mutateEnvelope(two, (env) => {
            // Re-label the second signature with a key id that is not a root key.
            const sigs = env['signatures'] as { keyid: string; sig: string }[];
            sigs[1]!.keyid = keyEntry(outsider.key).keyid;
          }),
        ),
      'TRUST_ROOT_SIGNATURE_INVALID',
    );
  });

  test('one key signing twice counts once toward the threshold', async () => {
    const one = await signed(v1, rootSigners.slice(0, 1));
    const doubled = mutateEnvelope(one, (env) => {
      const sigs = env['signatures'] as unknown[];
      sigs.push(sigs[0], sigs[0]);
    });
    throwsCode(() => verifyTrustRoot(doubled), 'TRUST_ROOT_SIGNATURE_INVALID');
    // signTrustRoot itself never emits a key twice.
    const env = JSON.parse((await signed(v1, [rootSigners[0]!, rootSigners[0]!])).toString()) as {
      signatures: unknown[];
    };
    assert.equal(env.signatures.length, 1);
  });

  test('a root listing one key twice is refused, so one key cannot meet a threshold of two', () => {
    const e = throwsCode(
      () =>
        trustRootDocumentFromJSON({
          ...v1,
          root: { threshold: 2, keys: [v1.root.keys[0], v1.root.keys[0]] },
        }),
      'TRUST_ROOT_INVALID',
    );
    assert.deepEqual(
      (e.details?.['issues'] as { path: string }[]).map((i) => i.path),
      ['root.keys[1]'],
    );
  });

  test('unknown fields in security-relevant places are refused, every bad path listed', async () => {
    const two = await signed(v1, rootSigners.slice(0, 2));
    const withSigner = addSigner(
      v1,
      {
        id: 'ci',
        identity: { kind: 'key', publicKey: ecKey().key },
        repositories: ['**'],
        environments: ['**'],
      },
      T1,
    );
    const bytes = await signed(withSigner, rootSigners.slice(0, 2));
    const bad = mutatePayload(bytes, (doc) => {
      doc['delegations'] = {};
      const s = (doc['signers'] as Record<string, unknown>[])[0]!;
      (s['scopes'] as Record<string, unknown>)['anyRepository'] = true;
      s['notAfter'] = 'tomorrow';
    });
    const e = throwsCode(() => verifyTrustRoot(bad), 'TRUST_ROOT_INVALID');
    const paths = (e.details?.['issues'] as { path: string }[]).map((i) => i.path).sort();
    assert.deepEqual(paths, ['(root)', 'signers[0].notAfter', 'signers[0].scopes'].sort());
    throwsCode(
      () => verifyTrustRoot(mutateEnvelope(two, (env) => (env['signed'] = true))),
      'TRUST_ROOT_INVALID',
    );
    throwsCode(() => verifyTrustRoot(Buffer.from('{"payloadType":')), 'TRUST_ROOT_MALFORMED');
    throwsCode(() => verifyTrustRoot(Buffer.from('['.repeat(100))), 'TRUST_ROOT_MALFORMED');
  });

  test('overlapping grants: one key or identity in two signer entries is refused', () => {
    const k = ecKey().key;
    const doc = addSigner(
      v1,
      {
        id: 'a',
        identity: { kind: 'key', publicKey: k },
        repositories: ['team/*'],
        environments: ['staging'],
      },
      T1,
    );
    throwsCode(
      () =>
        addSigner(
          doc,
          {
            id: 'b',
            identity: { kind: 'key', publicKey: k },
            repositories: ['**'],
            environments: ['**'],
          },
          T1,
        ),
      'TRUST_ROOT_CHANGE_INVALID',
    );
    throwsCode(
      () =>
        addSigner(
          doc,
          {
            id: 'a',
            identity: { kind: 'key', publicKey: ecKey().key },
            repositories: ['**'],
            environments: ['**'],
          },
          T1,
        ),
      'TRUST_ROOT_CHANGE_INVALID',
    );
    throwsCode(
      () =>
        addSigner(
          doc,
          {
            id: 'c',
            identity: { kind: 'keyless', identity: 'x@example.com', issuer: 'https://issuer' },
            repositories: ['team/(a|b)'],
            environments: ['**'],
          },
          T1,
        ),
      'TRUST_ROOT_CHANGE_INVALID',
    );
  });
});

describe('trust root updates', () => {
  test('a new version signed by a threshold of the old and the new root keys is accepted', async () => {
    const trusted = verifyTrustRoot(await signed(v1, rootSigners.slice(0, 2)));
    const v2 = addSigner(
      v1,
      {
        id: 'ci',
        identity: { kind: 'key', publicKey: ecKey().key },
        repositories: ['**'],
        environments: ['**'],
      },
      T1,
    );
    const next = verifyTrustRoot(await signed(v2, rootSigners.slice(1, 3)), { previous: trusted });
    assert.equal(next.document.version, 2);
  });

  test('a stolen single key cannot rewrite trust: new root keys still need the old threshold', async () => {
    const trusted = verifyTrustRoot(await signed(v1, rootSigners.slice(0, 2)));
    const thief = [ecKey(), ecKey()];
    // The attacker controls root key 0 and makes a v2 whose root keys are their own.
    const v2: TrustRootDocument = {
      ...v1,
      version: 2,
      root: { threshold: 1, keys: [keyEntry(thief[0]!.key), keyEntry(roots[0]!.key)] },
    };
    const bytes = await signed(v2, [thief[0]!.signer, rootSigners[0]!]);
    verifyTrustRoot(bytes); // valid on its own…
    throwsCode(() => verifyTrustRoot(bytes, { previous: trusted }), 'TRUST_ROOT_SIGNATURE_INVALID');
  });

  test('versions only go up', async () => {
    const first = verifyTrustRoot(await signed(v1, rootSigners.slice(0, 2)));
    const v2 = addSigner(
      v1,
      {
        id: 'ci',
        identity: { kind: 'key', publicKey: ecKey().key },
        repositories: ['**'],
        environments: ['**'],
      },
      T1,
    );
    const second = verifyTrustRoot(await signed(v2, rootSigners.slice(0, 2)), { previous: first });
    throwsCode(
      () => verifyTrustRoot(Buffer.from(''), { previous: second }),
      'TRUST_ROOT_MALFORMED',
    );
    throwsCode(
      () => verifyTrustRoot(Buffer.from(JSON.stringify(JSON.parse('{}'))), { previous: second }),
      'TRUST_ROOT_INVALID',
    );
    const again = await signed(v1, rootSigners.slice(0, 2));
    assert.equal(
      throwsCode(() => verifyTrustRoot(again, { previous: second }), 'TRUST_ROOT_ROLLBACK')
        .exitCode,
      1,
    );
    throwsCode(() => verifyTrustRoot(again, { previous: first }), 'TRUST_ROOT_ROLLBACK');
  });

  test('every change reports the trust it grants or removes', () => {
    const v2 = addSigner(
      v1,
      {
        id: 'ci',
        identity: { kind: 'key', publicKey: ecKey().key },
        repositories: ['team/*'],
        environments: ['staging'],
      },
      T1,
    );
    const v3 = rotateSigner(
      v2,
      'ci',
      { id: 'ci-2026', identity: { kind: 'key', publicKey: ecKey().key } },
      T2,
    );
    const v4 = revokeSigner(v3, 'ci', { reason: 'laptop stolen', compromisedSince: T1 }, T3);
    assert.deepEqual(
      diffTrustRoots(v1, v2).map((c) => `${c.sign}${c.subject}`),
      ['+ci'],
    );
    assert.deepEqual(
      diffTrustRoots(v2, v3)
        .map((c) => `${c.sign}${c.subject}`)
        .sort(),
      ['+ci-2026', '~ci'],
    );
    assert.deepEqual(
      diffTrustRoots(v3, v4).map((c) => `${c.sign}${c.subject}`),
      ['-ci'],
    );
    assert.ok(diffTrustRoots(undefined, v1).some((c) => c.sign === '+' && c.subject === 'root'));
    assert.equal(v4.version, 4);
    assert.equal(v3.signers[0]!.notAfter, '2026-03-01T00:00:00Z');
    assert.deepEqual(v3.signers[1]!.scopes.repositories, ['team/*']);
    throwsCode(
      () => revokeSigner(v4, 'ci', { reason: 'again', compromisedSince: T1 }, T3),
      'TRUST_ROOT_CHANGE_INVALID',
    );
    throwsCode(
      () => revokeSigner(v4, 'nobody', { reason: 'x', compromisedSince: T1 }, T3),
      'TRUST_ROOT_CHANGE_INVALID',
    );
  });
});

describe('verifying a signature against the trust root', () => {
  const signerKey = ecKey();
  const v2 = addSigner(
    v1,
    {
      id: 'release',
      identity: { kind: 'key', publicKey: signerKey.key },
      repositories: ['team/*'],
      environments: ['staging', 'prod-*'],
      notBefore: T0,
    },
    T0,
  );

  async function rootOf(doc: TrustRootDocument): Promise<TrustRoot> {
    return verifyTrustRoot(await signTrustRoot(doc, rootSigners.slice(0, 2)));
  }

  async function verifiedModelSignature(signer: Signer) {
    const { bundle } = await signManifest(filesManifest([['weights.bin', 'w']]), signer, {
      subjectName: 'model',
    });
    const root = await rootOf(v2);
    const hint = keyEntry(signer.publicKey).keyid;
    return verifyBundle(bundle, { kind: 'key', publicKey: trustedKeyForHint(root, hint) });
  }

  test('a listed signer in scope and in its window is accepted, and named', async () => {
    const root = await rootOf(v2);
    const verified = await verifiedModelSignature(signerKey.signer);
    const facts = verifyAgainstTrustRoot(verified, root, {
      repository: 'team/llm',
      environment: 'prod-eu',
      at: T1,
    });
    assert.equal(facts.signerId, 'release');
    assert.equal(facts.signingTimeSource, 'verification-time');
  });

  test('unknown keys, scope and window violations each fail with their own code', async () => {
    const root = await rootOf(v2);
    const verified = await verifiedModelSignature(signerKey.signer);
    throwsCode(() => trustedKeyForHint(root, keyEntry(ecKey().key).keyid), 'SIGNER_UNTRUSTED');
    const stranger: VerifiedSignerEvidence = {
      signer: { kind: 'key', keyType: 'ecdsa-p256', hint: keyEntry(ecKey().key).keyid },
      predicateType: OMS_PREDICATE_TYPE,
    };
    throwsCode(() => verifyAgainstTrustRoot(stranger, root, { at: T1 }), 'SIGNER_UNTRUSTED');
    const ok = { repository: 'team/llm', environment: 'staging', at: T1 };
    for (const [opts, code] of [
      [{ ...ok, repository: 'other/llm' }, 'SIGNER_OUT_OF_SCOPE'],
      [{ ...ok, repository: 'team/llm/extra' }, 'SIGNER_OUT_OF_SCOPE'],
      [{ ...ok, environment: 'production' }, 'SIGNER_OUT_OF_SCOPE'],
      [{ at: T1 }, 'SIGNER_OUT_OF_SCOPE'],
      [{ ...ok, at: new Date('2025-12-31T23:59:59Z') }, 'SIGNER_EXPIRED'],
    ] as const) {
      throwsCode(() => verifyAgainstTrustRoot(verified, root, opts), code);
    }
    throwsCode(
      () =>
        verifyAgainstTrustRoot(
          { ...verified, predicateType: 'https://slsa.dev/provenance/v1' },
          root,
          ok,
        ),
      'SIGNER_OUT_OF_SCOPE',
    );
  });

  test('after rotation the old key fails for signatures after its notAfter; the new one works', async () => {
    const next = ecKey();
    const v3 = rotateSigner(
      v2,
      'release',
      { id: 'release-2', identity: { kind: 'key', publicKey: next.key } },
      T2,
    );
    const root = await rootOf(v3);
    const old = await verifiedModelSignature(signerKey.signer);
    const opts = { repository: 'team/llm', environment: 'staging' };
    verifyAgainstTrustRoot(old, root, { ...opts, at: T1 });
    throwsCode(() => verifyAgainstTrustRoot(old, root, { ...opts, at: T3 }), 'SIGNER_EXPIRED');
    const fresh: VerifiedSignerEvidence = {
      signer: { kind: 'key', keyType: 'ecdsa-p256', hint: keyEntry(next.key).keyid },
      predicateType: OMS_PREDICATE_TYPE,
    };
    assert.equal(verifyAgainstTrustRoot(fresh, root, { ...opts, at: T3 }).signerId, 'release-2');
  });

  test('a revoked key fails at once; only a logged time before the compromise survives', async () => {
    const v3 = revokeSigner(v2, 'release', { reason: 'key leaked', compromisedSince: T1 }, T2);
    const root = await rootOf(v3);
    const verified = await verifiedModelSignature(signerKey.signer);
    const opts = { repository: 'team/llm', environment: 'staging' };
    // Even "before" the compromise: a key-mode bundle carries no trusted signing time.
    throwsCode(() => verifyAgainstTrustRoot(verified, root, { ...opts, at: T0 }), 'SIGNER_REVOKED');

    const keyless = addSigner(
      v1,
      {
        id: 'ci-oidc',
        identity: {
          kind: 'keyless',
          identity: 'https://ci.example/release',
          issuer: 'https://token.ci.example',
        },
        repositories: ['**'],
        environments: ['**'],
        notBefore: T0,
      },
      T0,
    );
    const revoked = await rootOf(
      revokeSigner(keyless, 'ci-oidc', { reason: 'workflow hijacked', compromisedSince: T2 }, T3),
    );
    const logged = (integratedTime: string): VerifiedSignerEvidence => ({
      signer: {
        kind: 'keyless',
        identity: 'https://ci.example/release',
        issuer: 'https://token.ci.example',
        integratedTime,
      },
      predicateType: OMS_PREDICATE_TYPE,
    });
    const before = verifyAgainstTrustRoot(logged('2026-02-15T00:00:00Z'), revoked, { at: T3 });
    assert.equal(before.signingTimeSource, 'transparency-log');
    throwsCode(
      () => verifyAgainstTrustRoot(logged('2026-03-15T00:00:00Z'), revoked, { at: T3 }),
      'SIGNER_REVOKED',
    );
  });

  test('thresholds over several signatures count each trusted signer once', () => {
    const facts = (signerId: string, principal = signerId) => ({
      signerId,
      principal,
      identity: { kind: 'certificate' as const, subject: 's', issuer: 'i' },
      signingTime: '2026-01-01T00:00:00Z',
      signingTimeSource: 'verification-time' as const,
      checked: [],
    });
    assert.deepEqual(requireDistinctSigners([facts('a'), facts('b')], 2), {
      counted: ['a', 'b'],
      signerIds: ['a', 'b'],
    });
    throwsCode(
      () => requireDistinctSigners([facts('a'), facts('a'), facts('a')], 2),
      'THRESHOLD_NOT_MET',
    );
    // A rotated key and its successor are one signer: both matched, one counted.
    const rotated = [facts('a'), facts('a-2026', 'a')];
    throwsCode(() => requireDistinctSigners(rotated, 2), 'THRESHOLD_NOT_MET');
    assert.deepEqual(requireDistinctSigners(rotated, 1), {
      counted: ['a'],
      signerIds: ['a', 'a-2026'],
    });
  });

  test('a rotated signer keeps its principal, so its old and new keys count once', async () => {
    const next = ecKey();
    const v3 = rotateSigner(
      v2,
      'release',
      { id: 'release-2026', identity: { kind: 'key', publicKey: next.key } },
      T1,
      T2,
    );
    assert.equal(v3.signers[1]!.replaces, 'release');
    const root = await rootOf(v3);
    const oldSig = await verifiedModelSignature(signerKey.signer);
    const opts = { repository: 'team/llm', environment: 'staging', at: T1 };
    const a = verifyAgainstTrustRoot(oldSig, root, opts);
    const { bundle } = await signManifest(filesManifest([['weights.bin', 'w']]), next.signer, {
      subjectName: 'model',
    });
    const hint = keyEntry(next.signer.publicKey).keyid;
    const newSig = verifyBundle(bundle, {
      kind: 'key',
      publicKey: trustedKeyForHint(root, hint),
    });
    const b = verifyAgainstTrustRoot(newSig, root, opts);
    assert.deepEqual([a.principal, b.principal], ['release', 'release']);
    throwsCode(() => requireDistinctSigners([a, b], 2), 'THRESHOLD_NOT_MET');
  });

  test('scope globs are anchored: * stays within a segment, ** crosses them', () => {
    assert.ok(globMatches('team/*', 'team/llm'));
    assert.ok(!globMatches('team/*', 'team/llm/v2'));
    assert.ok(globMatches('team/**', 'team/llm/v2'));
    assert.ok(!globMatches('team', 'myteam'));
    assert.ok(!globMatches('team', 'team/llm'));
    assert.ok(!globMatches('prod.eu', 'prodxeu'));
    assert.ok(globMatches('**', 'anything/at/all'));
  });

  test('readTrustRootUnverified exposes the document without trusting it', async () => {
    const bytes = await signTrustRoot(v2, rootSigners.slice(0, 1));
    assert.equal(readTrustRootUnverified(bytes).document.version, 2);
  });
});

describe('trust root validation: scopes, rotation lines, CA roots', () => {
  const grant = {
    id: 'ci',
    identity: { kind: 'key' as const, publicKey: ecKey().key },
    repositories: ['team/*'],
    environments: ['**'],
  };

  test('a scope listing one pattern twice is refused, each repeat named', () => {
    const e = throwsCode(
      () =>
        addSigner(
          v1,
          { ...grant, repositories: ['team/*', 'team/*'], environments: ['a', 'b', 'a'] },
          T1,
        ),
      'TRUST_ROOT_CHANGE_INVALID',
    );
    assert.deepEqual(
      (e.details?.['issues'] as { path: string }[]).map((i) => i.path),
      ['signers[0].scopes.repositories[1]', 'signers[0].scopes.environments[2]'],
    );
  });

  test('replaces must name another signer and never loop', async () => {
    const doc = addSigner(
      addSigner(v1, grant, T1),
      { ...grant, id: 'b', identity: { kind: 'key', publicKey: ecKey().key } },
      T1,
    );
    const bytes = await signed(doc, rootSigners.slice(0, 2));
    for (const [edit, message] of [
      [(s: Record<string, unknown>[]) => (s[0]!['replaces'] = 'nobody'), /names no other/],
      [(s: Record<string, unknown>[]) => (s[0]!['replaces'] = 'ci'), /names no other/],
      [
        (s: Record<string, unknown>[]) => {
          s[0]!['replaces'] = 'b';
          s[1]!['replaces'] = 'ci';
        },
        /cycle/,
      ],
    ] as const) {
      const bad = mutatePayload(bytes, (d) => edit(d['signers'] as Record<string, unknown>[]));
      const e = throwsCode(() => verifyTrustRoot(bad), 'TRUST_ROOT_INVALID');
      assert.match((e.details?.['issues'] as { message: string }[])[0]!.message, message);
    }
  });

  test('certificate identities may carry their CA roots; an unparsable one is refused', () => {
    const { caCert } = codeSigningPki();
    const identity = {
      kind: 'certificate' as const,
      subject: 'CN=release',
      issuer: 'CN=Cairn Test CA',
      roots: [caCert.toString()],
    };
    const doc = addSigner(v1, { ...grant, identity }, T1);
    assert.deepEqual(doc.signers[0]!.identity, identity);
    const broken = caCert.toString().replace(/\n[A-Za-z0-9+/]{8}/, '\nAAAAAAAA');
    throwsCode(
      () => addSigner(v1, { ...grant, identity: { ...identity, roots: [broken] } }, T1),
      'TRUST_ROOT_CHANGE_INVALID',
    );
    throwsCode(
      () => addSigner(v1, { ...grant, identity: { ...identity, roots: ['not a pem'] } }, T1),
      'TRUST_ROOT_CHANGE_INVALID',
    );
  });
});

describe('checkpoints: the highest version a verifier accepted', () => {
  const withSigner = (doc: TrustRootDocument, id: string) =>
    addSigner(
      doc,
      {
        id,
        identity: { kind: 'key', publicKey: ecKey().key },
        repositories: ['**'],
        environments: ['**'],
      },
      T1,
    );
  const v2 = withSigner(v1, 'a');
  const v3 = withSigner(v2, 'b');

  test('older versions are refused, the same version must be the same document', async () => {
    const b2 = await signed(v2, rootSigners.slice(0, 2));
    const b3 = await signed(v3, rootSigners.slice(0, 2));
    const seen = trustRootCheckpoint(verifyTrustRoot(b3), '/etc/cairn/root.json', T2);
    const stored = trustRootCheckpointFromJSON(JSON.parse(JSON.stringify(seen)));
    assert.equal(verifyTrustRoot(b3, { checkpoint: stored }).document.version, 3);
    const back = throwsCode(
      () => verifyTrustRoot(b2, { checkpoint: stored }),
      'TRUST_ROOT_ROLLBACK',
    );
    assert.equal(back.exitCode, 1);
    // Another v3 (different content, validly signed): two documents with one version.
    const fork = await signed(withSigner(v2, 'c'), rootSigners.slice(1, 3));
    const e = throwsCode(
      () => verifyTrustRoot(fork, { checkpoint: stored }),
      'TRUST_ROOT_ROLLBACK',
    );
    assert.equal(e.details?.['reason'], 'same-version');
  });

  test('a newer version needs a threshold of the remembered root keys, even after skipped versions', async () => {
    const seen = trustRootCheckpoint(
      verifyTrustRoot(await signed(v2, rootSigners.slice(0, 2))),
      'root.json',
      T2,
    );
    const v4 = withSigner(v3, 'c');
    assert.equal(
      verifyTrustRoot(await signed(v4, rootSigners.slice(1, 3)), { checkpoint: seen }).document
        .version,
      4,
    );
    // A stranger's self-consistent root with a high version: its own threshold holds, the
    // remembered one does not.
    const strangers = [ecKey(), ecKey()];
    const forged = {
      ...initialTrustRoot(
        strangers.map((s) => s.key),
        1,
        T1,
      ),
      version: 9,
    };
    const bytes = await signed(
      forged,
      strangers.map((s) => s.signer),
    );
    assert.equal(verifyTrustRoot(bytes).document.version, 9);
    const e = throwsCode(
      () => verifyTrustRoot(bytes, { checkpoint: seen }),
      'TRUST_ROOT_SIGNATURE_INVALID',
    );
    assert.match(e.hint, /skipped/);
  });

  test('a stored checkpoint is validated strictly', () => {
    const e = throwsCode(
      () => trustRootCheckpointFromJSON({ mediaType: 'x', version: 0, extra: true }),
      'TRUST_ROOT_STATE_INVALID',
    );
    assert.ok((e.details?.['issues'] as unknown[]).length >= 4);
  });
});

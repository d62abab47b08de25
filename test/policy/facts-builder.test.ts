import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import {
  CAIRN_SCAN_V1,
  CAIRN_TRANSFORMATION_V1,
  SLSA_PROVENANCE_V1,
  type VerifiedAttestation,
} from '../../src/attest/index.js';
import type { ArtifactDigest } from '../../src/digest/index.js';
import { generateKeyPair, loadPublicKey, publicKeyHint } from '../../src/keys/index.js';
import {
  POLICY_API_VERSION,
  evaluate,
  factsFromEvidence,
  loadPolicySet,
  type GateContext,
} from '../../src/policy/index.js';
import type { SignerFacts } from '../../src/verify/index.js';
import { runCli, tempDir } from '../helpers.js';

/**
 * `factsFromEvidence`: verified signatures and attestations become the facts every gate
 * evaluates; and `cairn policy eval` / `cairn verify --policy` feed it the attestations stored
 * beside the model that verify for its digest.
 */

const D = (c: string): ArtifactDigest => `sha256:${c.repeat(64)}`;
const DIGEST = D('d');
const PARENT = D('e');
const keySigner: SignerFacts = { kind: 'key', keyType: 'ecdsa-p256', hint: 'c3'.repeat(32) };
const gate: GateContext = {
  repository: 'acme/llm',
  environment: 'production',
  reference: { kind: 'digest' },
  request: { action: 'verify' },
};

function verified(
  predicateType: VerifiedAttestation['predicateType'],
  predicate: VerifiedAttestation['predicate'],
  signer: SignerFacts = keySigner,
): VerifiedAttestation {
  return { signer, digest: DIGEST, subjectName: 'llm', predicateType, predicate, warnings: [] };
}

const provenance = verified(SLSA_PROVENANCE_V1, {
  runDetails: { builder: { id: 'https://ci' }, metadata: { finishedOn: '2025-09-30T10:00:00Z' } },
});
const transform = verified(CAIRN_TRANSFORMATION_V1, {
  materials: [{ digest: PARENT }],
  tool: { name: 'quantize' },
  params: {},
  finishedOn: '2025-09-29T00:00:00Z',
});
const scan = verified(CAIRN_SCAN_V1, { version: 1, modelName: 'llm', summary: {}, findings: [] });

describe('factsFromEvidence', () => {
  const signatures = [{ signer: keySigner, digest: DIGEST }];

  test('keeps each attestation with its signer and predicate, dated by verified evidence', () => {
    const logged = verified(SLSA_PROVENANCE_V1, provenance.predicate, {
      kind: 'keyless',
      identity: 'https://github.com/acme/llm/.github/workflows/release.yml@refs/heads/main',
      issuer: 'https://token.actions.githubusercontent.com',
      certificateFingerprint: 'f0'.repeat(32),
      integratedTime: '2025-09-30T11:00:00Z',
    });
    const facts = factsFromEvidence(
      { digest: DIGEST, signatures, attestations: [provenance, logged, scan] },
      gate,
    );
    assert.equal(facts.digest, DIGEST);
    assert.deepEqual(facts.signatures, signatures);
    assert.deepEqual(facts.request, { action: 'verify' });
    const [p, l, s] = facts.attestations;
    assert.deepEqual(p?.signer, keySigner);
    assert.deepEqual(p?.predicate, provenance.predicate);
    // Signed finish time; the log's integration time wins over it; a scan has neither.
    assert.equal(p?.issuedAt?.toISOString(), '2025-09-30T10:00:00.000Z');
    assert.equal(l?.issuedAt?.toISOString(), '2025-09-30T11:00:00.000Z');
    assert.equal(s?.issuedAt, undefined);
  });

  test('a scan report is dated by its signed scannedAt; trust-root names are kept', () => {
    const dated = verified(CAIRN_SCAN_V1, {
      version: 1,
      modelName: 'llm',
      scannedAt: '2025-09-28T08:00:00Z',
      summary: {},
      findings: [],
    });
    const trusted: VerifiedAttestation = {
      ...dated,
      trustedSigner: {
        signerId: 'scanner-2',
        principal: 'scanner',
        identity: { kind: 'key', keyid: keySigner.hint, publicKey: '' },
        signingTime: '2025-10-01T00:00:00.000Z',
        signingTimeSource: 'verification-time',
        checked: ['identity', 'status', 'validity-window', 'scope'],
      },
    };
    const [a] = factsFromEvidence(
      { digest: DIGEST, signatures, attestations: [trusted] },
      gate,
    ).attestations;
    assert.equal(a?.issuedAt?.toISOString(), '2025-09-28T08:00:00.000Z');
    assert.equal(a?.trustRootSigner, 'scanner-2');
    assert.equal(a?.trustRootPrincipal, 'scanner');
  });

  const continuity: [string, VerifiedAttestation[], ArtifactDigest[], string][] = [
    ['nothing attested', [scan], [], 'unknown'],
    ['provenance, no transformation', [provenance, scan], [], 'original'],
    ['a transformation from a signed parent', [provenance, transform], [PARENT], 'continuous'],
    ['a transformation from an unsigned parent', [transform], [], 'broken'],
    ['a transformation whose parent is not the one signed', [transform], [D('f')], 'broken'],
  ];
  for (const [name, attestations, parents, status] of continuity) {
    test(`transformation continuity: ${name} → ${status}`, () => {
      const facts = factsFromEvidence(
        {
          digest: DIGEST,
          signatures,
          attestations,
          parentSignatures: parents.map((digest) => ({ digest, signer: keySigner })),
        },
        gate,
      );
      assert.equal(facts.transformation.status, status);
      if (facts.transformation.status === 'continuous') {
        assert.equal(facts.transformation.parent, PARENT);
      }
    });
  }

  test('an undated attestation never meets a maximum age, and still meets a requirement without one', () => {
    const set = loadPolicySet([
      {
        source: 'p.yaml',
        text: `apiVersion: ${POLICY_API_VERSION}
kind: ModelPolicy
metadata: {name: p}
spec:
  match: {repositories: ["acme/*"], environments: [production]}
  mode: enforce
  attestations:
    - name: fresh-scan
      predicateType: ${CAIRN_SCAN_V1}
      signers: [{key: ${'c3'.repeat(32)}}]
      maxAge: 7d
    - name: any-scan
      predicateType: ${CAIRN_SCAN_V1}
      signers: [{key: ${'c3'.repeat(32)}}]
      condition: 'now - issuedAt > duration("24h")'
`,
      },
    ]);
    const facts = factsFromEvidence({ digest: DIGEST, signatures, attestations: [scan] }, gate);
    const d = evaluate(facts, set.policies, [], [], new Date('2025-10-01T00:00:00Z'));
    const outcomes = d.policies[0]!.requirements.map((r) => [r.requirement, r.code]);
    assert.deepEqual(outcomes, [
      ['attestation:fresh-scan', 'ATTESTATION_UNDATED'],
      // CEL sees an undated attestation as issued at the epoch: freshness checks fail closed.
      ['attestation:any-scan', 'SATISFIED'],
    ]);
    assert.equal(d.outcome, 'deny');
  });
});

// ── end to end: the CLI feeds the gate the model's verified attestations ─────────────────

const env = { SOURCE_DATE_EPOCH: '1759140000' }; // 2025-09-29T10:00:00Z

async function cli(args: string[]) {
  return runCli(args, { env });
}

async function setup(t: TestContext) {
  const dir = tempDir(t);
  const pair = generateKeyPair('ecdsa-p256');
  const other = generateKeyPair('ecdsa-p256');
  writeFileSync(join(dir, 'key.pem'), pair.privateKeyPem);
  writeFileSync(join(dir, 'key.pub'), pair.publicKeyPem);
  writeFileSync(join(dir, 'other.pem'), other.privateKeyPem);
  const hint = publicKeyHint(loadPublicKey(pair.publicKeyPem));
  const key = ['--private-key', join(dir, 'key.pem'), '--allow-unencrypted-key'];
  // The parent, signed; the derived model, signed, with provenance and a transformation step.
  const parent = join(dir, 'parent');
  mkdirSync(parent);
  writeFileSync(join(parent, 'weights.bin'), 'parent weights');
  assert.equal((await cli(['sign', parent, ...key])).code, 0);
  const parentDigest = (await cli(['digest', parent, '--json'])).json<{ digest: string }>().digest;
  const model = join(dir, 'model');
  mkdirSync(model);
  writeFileSync(join(model, 'weights.bin'), 'quantized weights');
  assert.equal((await cli(['sign', model, ...key])).code, 0);
  const provenance = [
    'attest',
    'provenance',
    model,
    ...key,
    '--builder-id',
    'https://ci.example/builder',
  ];
  assert.equal((await cli(provenance)).code, 0);
  const transform = ['attest', 'transform', model, '--from', parentDigest, '--tool', 'quantize'];
  assert.equal((await cli([...transform, ...key])).code, 0);
  // Signed by a key the gate does not trust: refused, never used.
  const untrusted = ['--private-key', join(dir, 'other.pem'), '--allow-unencrypted-key'];
  assert.equal((await cli([...provenance, ...untrusted])).code, 0);

  const policies = join(dir, 'policies');
  mkdirSync(policies);
  const policy = (builder: string) => `apiVersion: ${POLICY_API_VERSION}
kind: ModelPolicy
metadata: {name: production}
spec:
  match: {repositories: ["acme/*"], environments: [production]}
  mode: enforce
  signatures:
    - name: release
      anyOf: [{key: ${hint}}]
  attestations:
    - name: provenance
      predicateType: ${SLSA_PROVENANCE_V1}
      signers: [{key: ${hint}}]
      condition: 'predicate.runDetails.builder.id == "${builder}"'
      maxAge: 30d
  transformation: {requireContinuity: true}
`;
  writeFileSync(join(policies, 'production.yaml'), policy('https://ci.example/builder'));
  const strict = join(dir, 'strict');
  mkdirSync(strict);
  writeFileSync(join(strict, 'production.yaml'), policy('https://ci.example/other-builder'));
  const trust = ['--public-key', join(dir, 'key.pub')];
  /** `cairn policy eval MODEL` (or `cairn verify MODEL`) at the production gate of acme/llm. */
  const gate = (command: 'eval' | 'verify', dir: string, target = model, ...extra: string[]) =>
    cli([
      ...(command === 'eval' ? ['policy', 'eval'] : ['verify']),
      target,
      '--policy',
      dir,
      '--repository',
      'acme/llm',
      '--environment',
      'production',
      ...trust,
      ...extra,
    ]);
  return { dir, model, parent, policies, strict, gate };
}

interface EvalOut {
  decision: {
    outcome: string;
    violations: { code: string; requirement: string }[];
    policies: { requirements: { requirement: string; code: string }[] }[];
  };
  attestations: { verified: boolean; error?: { code: string } }[];
}

describe('the CLI evaluates the attestations that verify for the model', () => {
  test('policy eval and verify --policy: the same decision from the same evidence', async (t) => {
    const s = await setup(t);
    const parentSig = ['--parent-signature', join(s.parent, 'model.sig')];
    const now = ['--now', '2025-10-01T00:00:00Z'];

    const ok = await s.gate('eval', s.policies, s.model, ...parentSig, ...now, '--json');
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const out = ok.json<EvalOut>();
    assert.equal(out.decision.outcome, 'allow');
    assert.deepEqual(
      out.decision.policies[0]!.requirements.map((r) => r.code),
      ['SATISFIED', 'SATISFIED', 'SATISFIED'],
    );
    assert.deepEqual(
      out.attestations.map((a) => (a.verified ? 'verified' : a.error?.code)),
      ['verified', 'verified', 'KEY_MISMATCH'],
    );

    // The same engine behind verify --policy (evaluated now: the provenance is dated 2025-09-29).
    const verify = await s.gate('verify', s.policies, s.model, ...parentSig, '--json');
    const ages = verify
      .json<{ policy: EvalOut['decision'] }>()
      .policy.violations.map((x) => x.code);
    // Pass or fail only on age (depends on today's date), never on anything else.
    assert.ok(
      ages.every((c) => c === 'ATTESTATION_TOO_OLD'),
      JSON.stringify(ages),
    );

    // Human output names the refused attestation.
    const human = await s.gate('eval', s.policies, s.model, ...now);
    assert.match(human.stderr, /line 3 .* did not verify \[KEY_MISMATCH\] and was not used/);
  });

  test('a condition the verified predicate fails, a missing parent signature, a stale attestation: deny', async (t) => {
    const s = await setup(t);
    const run = async (policies: string, ...extra: string[]) =>
      (await s.gate('eval', policies, s.model, ...extra, '--json')).json<EvalOut>().decision;

    const strict = await run(s.strict, '--now', '2025-10-01T00:00:00Z');
    assert.deepEqual(
      strict.violations.map((v) => v.code),
      ['CONDITION_FALSE', 'TRANSFORMATION_BROKEN'],
    );
    const stale = await run(
      s.policies,
      '--now',
      '2025-11-15T00:00:00Z',
      '--parent-signature',
      join(s.parent, 'model.sig'),
    );
    assert.deepEqual(
      stale.violations.map((v) => v.code),
      ['ATTESTATION_TOO_OLD'],
    );
  });

  test('without stored attestations the requirements are missing; a bad parent signature is refused', async (t) => {
    const s = await setup(t);
    const bare = join(tempDir(t), 'model');
    cpSync(s.model, bare, { recursive: true });
    writeFileSync(join(bare, 'model.att.jsonl'), '');
    const run = await s.gate('eval', s.policies, bare, '--json');
    assert.deepEqual(
      run.json<EvalOut>().decision.violations.map((v) => v.code),
      ['ATTESTATION_MISSING', 'TRANSFORMATION_UNKNOWN'],
    );
    const forged = join(s.dir, 'forged.sig');
    writeFileSync(forged, '{"not":"a bundle"}');
    const bad = await s.gate('eval', s.policies, s.model, '--parent-signature', forged);
    assert.equal(bad.code, 2, bad.stdout);
  });
});

describe('continuity beyond one step: the lineage walked through a chain store', () => {
  test('a model two transformations from its signed root is continuous; a missing hop breaks it', async (t) => {
    const dir = tempDir(t);
    const pair = generateKeyPair('ecdsa-p256');
    writeFileSync(join(dir, 'key.pem'), pair.privateKeyPem);
    writeFileSync(join(dir, 'key.pub'), pair.publicKeyPem);
    const key = ['--private-key', join(dir, 'key.pem'), '--allow-unencrypted-key'];
    const store = join(dir, 'store');
    const model = (name: string, content: string) => {
      const path = join(store, name);
      mkdirSync(path, { recursive: true });
      writeFileSync(join(path, 'weights.bin'), content);
      return path;
    };
    const digest = async (path: string) =>
      (await cli(['digest', path, '--json'])).json<{ digest: string }>().digest;
    // base (signed) → mid (attested, not signed) → final (attested and signed).
    const base = model('base', 'base weights');
    assert.equal((await cli(['sign', base, ...key])).code, 0);
    const mid = model('mid', 'fine-tuned weights');
    const fromBase = ['--from', await digest(base), '--tool', 'finetune', ...key];
    assert.equal((await cli(['attest', 'transform', mid, ...fromBase])).code, 0);
    const final = join(dir, 'final');
    mkdirSync(final);
    writeFileSync(join(final, 'weights.bin'), 'quantized weights');
    assert.equal((await cli(['sign', final, ...key])).code, 0);
    const fromMid = ['--from', await digest(mid), '--tool', 'quantize', ...key];
    assert.equal((await cli(['attest', 'transform', final, ...fromMid])).code, 0);

    const policies = join(dir, 'policies');
    mkdirSync(policies);
    writeFileSync(
      join(policies, 'p.yaml'),
      `apiVersion: ${POLICY_API_VERSION}
kind: ModelPolicy
metadata: {name: production}
spec:
  match: {repositories: ["acme/*"], environments: [production]}
  mode: enforce
  transformation: {requireContinuity: true}
`,
    );
    const gate = (...extra: string[]) =>
      cli([
        'policy',
        'eval',
        final,
        '--policy',
        policies,
        '--repository',
        'acme/llm',
        '--environment',
        'production',
        '--public-key',
        join(dir, 'key.pub'),
        '--json',
        ...extra,
      ]);
    type Out = {
      decision: {
        outcome: string;
        policies: { requirements: { code: string; reason: string }[] }[];
      };
    };
    const ok = await gate('--chain-store', store);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const req = ok.json<Out>().decision.policies[0]!.requirements[0]!;
    assert.equal(req.code, 'SATISFIED');
    assert.match(req.reason, /through 2 verified steps/);

    // One step only: mid has no signature of its own, so the chain looks broken.
    const oneStep = await gate('--parent-signature', join(base, 'model.sig'));
    assert.equal(oneStep.code, 1);
    assert.equal(
      oneStep.json<Out>().decision.policies[0]!.requirements[0]!.code,
      'TRANSFORMATION_BROKEN',
    );

    // The store lacks the root: broken, with the walker's code.
    const partial = join(dir, 'partial');
    mkdirSync(partial);
    cpSync(mid, join(partial, 'mid'), { recursive: true });
    const missing = await gate('--chain-store', partial);
    assert.equal(missing.code, 1);
    const broken = missing.json<Out>().decision.policies[0]!.requirements[0]!;
    assert.equal(broken.code, 'TRANSFORMATION_BROKEN');
    assert.match(broken.reason, /CHAIN_PARENT_MISSING/);

    // Both ways at once is refused rather than guessed.
    const both = await gate('--chain-store', store, '--parent-signature', join(base, 'model.sig'));
    assert.equal(both.code, 2);
  });
});

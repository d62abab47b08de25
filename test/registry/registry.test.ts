import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import {
  SLSA_VERIFICATION_SUMMARY_V1,
  buildTransformation,
  signAttestation,
  verificationSummaryFromJSON,
} from '../../src/attest/index.js';
import { bundleFromJSON, statementFromPayload } from '../../src/envelope/index.js';
import { isCairnError } from '../../src/errors/index.js';
import { fileSigner } from '../../src/keys/index.js';
import { signManifest } from '../../src/sign/index.js';
import { Registry, type RegistryPolicies } from '../../src/registry/index.js';
import type { Actor } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';
import { codeSigningPki } from '../keys/x509-builder.js';
import {
  productionPolicy,
  uploadBlob,
  signatureFor,
  testModel,
  testTrust,
  trustRootWithCi,
  type TestModel,
  type TestTrust,
} from './fixtures.js';
import { openTestStores } from './stores.js';

const admin: Actor = { issuer: 'test', subject: 'admin' };
const ci: Actor = { issuer: 'test', subject: 'ci' };
const deployer: Actor = { issuer: 'test', subject: 'deployer' };
const intruder: Actor = { issuer: 'test', subject: 'intruder' };

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isCairnError(err), `expected a CairnError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

async function setup(
  t: TestContext,
  options: { trust?: TestTrust; policies?: RegistryPolicies; signer?: boolean } = {},
) {
  const dir = tempDir(t);
  const stores = await openTestStores(t, dir);
  const trust = options.trust ?? (await testTrust());
  const registry = new Registry({
    metadata: stores.metadata,
    blobs: stores.blobs,
    trust: { root: trust.root },
    policies: options.policies ?? productionPolicy(deployer),
    ...(options.signer === false ? {} : { signer: trust.server }),
  });
  return { registry, trust, stores, dir };
}

async function pushModel(registry: Registry, model: TestModel, signatures: string[] = []) {
  for (const bytes of model.files.values()) await uploadBlob(registry, 'acme/llm', bytes);
  return registry.push(ci, 'acme/llm', 'staging', model.digest, {
    resources: model.resources,
    serialization: model.serialization as never,
    signatures,
  });
}

test('push then retrieve: the artifact, its bundles and its blob bytes round-trip', async (t) => {
  const { registry, trust } = await setup(t);
  await registry.createRepository(admin, 'acme/llm');
  const model = testModel();
  const sig = await signatureFor(model, trust.ci);
  const pushed = await pushModel(registry, model, [sig]);
  assert.equal(pushed.created, true);
  assert.equal(pushed.bundles.length, 1);
  const again = await pushModel(registry, model, [sig]);
  assert.equal(again.created, false, 'the same push twice is idempotent');

  const got = await registry.retrieve(ci, 'acme/llm', 'staging', {
    kind: 'digest',
    digest: model.digest,
  });
  assert.equal(got.artifact.digest, model.digest);
  assert.equal(got.bundles[0]?.bundle, sig);
  for (const r of model.resources) {
    const { stream } = await registry.openArtifactBlob(
      ci,
      'acme/llm',
      'staging',
      model.digest,
      r.blob,
    );
    const chunks: Buffer[] = [];
    for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
    assert.deepEqual(Buffer.concat(chunks), model.files.get(r.name));
  }
  const other = testModel('other');
  await rejectsWith(
    registry.openArtifactBlob(ci, 'acme/llm', 'staging', model.digest, other.resources[0]!.blob),
    'BLOB_NOT_FOUND',
  );
});

test('a push whose resources do not hash to the digest is refused and nothing is stored', async (t) => {
  const { registry } = await setup(t);
  await registry.createRepository(admin, 'acme/llm');
  const model = testModel();
  for (const bytes of model.files.values()) await uploadBlob(registry, 'acme/llm', bytes);
  const wrong = testModel('other').digest;
  await rejectsWith(
    registry.push(ci, 'acme/llm', 'staging', wrong, {
      resources: model.resources,
      serialization: model.serialization as never,
    }),
    'ARTIFACT_DIGEST_MISMATCH',
  );
  assert.deepEqual(await registry.listArtifacts('acme/llm', 'staging'), []);
  // A resource whose blob was never uploaded.
  const missing = testModel('missing');
  await rejectsWith(
    registry.push(ci, 'acme/llm', 'staging', missing.digest, {
      resources: missing.resources,
      serialization: missing.serialization as never,
    }),
    'ARTIFACT_INVALID',
  );
  // A signature about another digest.
  const { trust } = await setup(t);
  await rejectsWith(
    pushModel(registry, model, [await signatureFor(testModel('other'), trust.ci)]),
    'SUBJECT_DIGEST_MISMATCH',
  );
});

test('production takes no direct push, from anyone', async (t) => {
  const { registry } = await setup(t);
  await registry.createRepository(admin, 'acme/llm');
  const model = testModel();
  for (const bytes of model.files.values()) await uploadBlob(registry, 'acme/llm', bytes);
  await rejectsWith(
    registry.push(admin, 'acme/llm', 'production', model.digest, {
      resources: model.resources,
      serialization: model.serialization as never,
    }),
    'PUSH_TO_PROTECTED_ENVIRONMENT',
  );
  const audit = await registry.listAudit();
  const last = audit.at(-1)!;
  assert.equal(last.action, 'push');
  assert.equal(last.decision, 'deny');
  assert.deepEqual(last.reasons, ['PUSH_TO_PROTECTED_ENVIRONMENT']);
});

test('tags move and are recorded in a mutable repository, never move in a protected one', async (t) => {
  const { registry } = await setup(t);
  await registry.createRepository(admin, 'acme/llm');
  await registry.createRepository(admin, 'acme/locked', true);
  const a = testModel('a');
  const b = testModel('b');
  await pushModel(registry, a);
  await pushModel(registry, b);
  await registry.moveTag(ci, 'acme/llm', 'staging', 'latest', { digest: a.digest, expected: null });
  await rejectsWith(
    registry.moveTag(ci, 'acme/llm', 'staging', 'latest', { digest: b.digest, expected: null }),
    'TAG_CONFLICT',
  );
  await registry.moveTag(ci, 'acme/llm', 'staging', 'latest', {
    digest: b.digest,
    expected: a.digest,
  });
  const history = await registry.tagHistory('acme/llm', 'staging', 'latest');
  assert.deepEqual(
    history.map((h) => [h.previous, h.digest]),
    [
      [null, a.digest],
      [a.digest, b.digest],
    ],
  );
  // Protected repository: a set tag never moves.
  for (const m of [a, b]) {
    // Blobs are linked per repository: acme/locked uploads its own (stored once).
    for (const bytes of m.files.values()) await uploadBlob(registry, 'acme/locked', bytes);
    await registry.push(ci, 'acme/locked', 'staging', m.digest, {
      resources: m.resources,
      serialization: m.serialization as never,
    });
  }
  await registry.moveTag(ci, 'acme/locked', 'staging', 'v1', { digest: a.digest });
  await rejectsWith(
    registry.moveTag(ci, 'acme/locked', 'staging', 'v1', { digest: b.digest }),
    'TAG_IMMUTABLE',
  );
  assert.equal((await registry.getTag('acme/locked', 'staging', 'v1')).digest, a.digest);
});

test('promotion: denied without a trusted signature (every failed requirement listed), allowed with one', async (t) => {
  const { registry, trust } = await setup(t);
  await registry.createRepository(admin, 'acme/llm');
  const model = testModel();
  await pushModel(registry, model, [await signatureFor(model, trust.stranger)]);

  const denied = (await rejectsWith(
    registry.promote(ci, 'acme/llm', { digest: model.digest, from: 'staging', to: 'production' }),
    'POLICY_DENIED',
  )) as { details: { decision: { violations: { requirement: string; remediation?: string }[] } } };
  const violations = denied.details.decision.violations;
  assert.ok(
    violations.some((v) => v.requirement === 'signatures:ci' && v.remediation !== undefined),
  );
  await rejectsWith(
    registry.retrieve(deployer, 'acme/llm', 'production', { kind: 'digest', digest: model.digest }),
    'ARTIFACT_NOT_FOUND',
  );

  await registry.addBundle(
    ci,
    'acme/llm',
    'staging',
    model.digest,
    await signatureFor(model, trust.ci),
  );
  const promoted = await registry.promote(ci, 'acme/llm', {
    digest: model.digest,
    from: 'staging',
    to: 'production',
    tag: 'prod-current',
  });
  assert.equal(promoted.decision.outcome, 'allow');
  assert.ok(promoted.attestation !== null, 'a signed verification summary is stored');
  assert.equal(promoted.tag?.digest, model.digest);
  const inProd = await registry.listArtifacts('acme/llm', 'production');
  assert.equal(inProd.length, 1);

  const audit = await registry.listAudit();
  const promotions = audit.filter((r) => r.action === 'promote');
  assert.deepEqual(
    promotions.map((r) => r.decision),
    ['deny', 'allow'],
  );
  assert.ok(promotions[0]!.reasons.includes('POLICY_DENIED'));
  assert.equal(promotions[1]!.seq, promoted.auditSeq);
  assert.deepEqual(promotions[1]!.detail?.['copied'], { environment: 'production', created: true });

  // The summary is the attest domain's SLSA VSA v1, naming the allow's audit record.
  const statement = statementFromPayload(
    bundleFromJSON(Buffer.from(promoted.attestation.bundle)).dsseEnvelope.payload,
  );
  assert.equal(statement.predicateType, SLSA_VERIFICATION_SUMMARY_V1);
  const vsa = verificationSummaryFromJSON(statement.predicate);
  assert.equal(vsa.verificationResult, 'PASSED');
  assert.equal(vsa.resourceUri, `cairn:acme/llm@${model.digest}`);
  assert.equal(vsa.cairn?.['auditSeq'], promoted.auditSeq);
  // The chain links every record to the one before it.
  for (let i = 1; i < audit.length; i++) assert.equal(audit[i]!.prevHash, audit[i - 1]!.hash);
});

test('promotion: a failed copy is audited as a deny and never leaves an allow behind', async (t) => {
  const { registry, trust, dir } = await setup(t);
  await registry.createRepository(admin, 'acme/llm');
  const model = testModel();
  await pushModel(registry, model, [await signatureFor(model, trust.ci)]);
  // A real fault in the real database: production rows cannot be written.
  const db = new Database(join(dir, 'cairn.sqlite'));
  db.exec(`CREATE TRIGGER no_production BEFORE INSERT ON artifacts
           WHEN NEW.environment = 'production' BEGIN SELECT RAISE(ABORT, 'disk says no'); END`);
  const err = (await rejectsWith(
    registry.promote(ci, 'acme/llm', { digest: model.digest, from: 'staging', to: 'production' }),
    'PROMOTION_COPY_FAILED',
  )) as { details: { stage: string } };
  assert.equal(err.details.stage, 'copy');
  assert.deepEqual(await registry.listArtifacts('acme/llm', 'production'), []);
  const promotions = (await registry.listAudit()).filter((r) => r.action === 'promote');
  assert.deepEqual(
    promotions.map((r) => [r.decision, r.reasons[0]]),
    [['deny', 'PROMOTION_COPY_FAILED']],
  );
  assert.deepEqual(
    (await registry.listBundles('acme/llm', model.digest)).map((b) => b.kind),
    ['signature'],
    'no verification summary for a promotion that did not happen',
  );

  // Once the store accepts the copy, the same promotion goes through.
  db.exec('DROP TRIGGER no_production');
  db.close();
  const promoted = await registry.promote(ci, 'acme/llm', {
    digest: model.digest,
    from: 'staging',
    to: 'production',
  });
  assert.equal(promoted.decision.outcome, 'allow');
  assert.equal((await registry.listArtifacts('acme/llm', 'production')).length, 1);
});

test('protected retrieval: digest required, policy access enforced, audited allow and deny', async (t) => {
  const { registry, trust } = await setup(t);
  await registry.createRepository(admin, 'acme/llm');
  const model = testModel();
  await pushModel(registry, model, [await signatureFor(model, trust.ci)]);
  await registry.promote(ci, 'acme/llm', {
    digest: model.digest,
    from: 'staging',
    to: 'production',
    tag: 'prod-current',
  });
  await rejectsWith(
    registry.retrieve(deployer, 'acme/llm', 'production', { kind: 'tag', tag: 'prod-current' }),
    'REFERENCE_NOT_PINNED',
  );
  await rejectsWith(
    registry.retrieve(intruder, 'acme/llm', 'production', { kind: 'digest', digest: model.digest }),
    'POLICY_DENIED',
  );
  await rejectsWith(
    registry.openArtifactBlob(
      intruder,
      'acme/llm',
      'production',
      model.digest,
      model.resources[0]!.blob,
    ),
    'POLICY_DENIED',
  );
  const ok = await registry.retrieve(deployer, 'acme/llm', 'production', {
    kind: 'digest',
    digest: model.digest,
  });
  assert.equal(ok.decision?.outcome, 'allow');
  const retrievals = (await registry.listAudit()).filter((r) => r.action === 'retrieve');
  assert.deepEqual(
    retrievals.map((r) => [r.actor.subject, r.decision]),
    [
      ['deployer', 'deny'],
      ['intruder', 'deny'],
      ['intruder', 'deny'],
      ['deployer', 'allow'],
    ],
  );
});

test('central signing: the server key signs the stored manifest for the digest', async (t) => {
  const { registry, trust } = await setup(t);
  await registry.createRepository(admin, 'acme/llm');
  const model = testModel();
  await pushModel(registry, model);
  const bundle = await registry.sign(ci, 'acme/llm', 'staging', model.digest, {
    kind: 'signature',
  });
  assert.equal(bundle.kind, 'signature');
  assert.equal(bundle.digest, model.digest);
  const { registry: keyless } = await setup(t, { trust, signer: false });
  await keyless.createRepository(admin, 'acme/llm');
  await pushModel(keyless, model);
  await rejectsWith(
    keyless.sign(ci, 'acme/llm', 'staging', model.digest, { kind: 'signature' }),
    'SIGNING_UNAVAILABLE',
  );
});

test('repository names with path tricks never reach the store', async (t) => {
  const { registry } = await setup(t);
  for (const name of [
    '..',
    'acme/..',
    '../etc',
    '/abs',
    'acme\\llm',
    'acme/llm\u0000',
    'Acme/LLM',
    '%2e%2e',
    'acme//llm',
    'a/b/c/d/e',
    `acme/${'x'.repeat(200)}`,
    '',
    'acme/.hidden',
    'acme/llm/',
  ]) {
    await rejectsWith(registry.createRepository(admin, name), 'REPOSITORY_NAME_INVALID');
  }
  assert.deepEqual(await registry.listRepositories(), []);
});

test('transformation continuity comes from the stored transformation and the parent signature', async (t) => {
  const trust = await testTrust();
  const { registry } = await setup(t, {
    trust,
    policies: productionPolicy(deployer, { continuity: true }),
  });
  await registry.createRepository(admin, 'acme/llm');
  await registry.createRepository(admin, 'acme/base');
  const pushTo = async (
    repository: string,
    model: TestModel,
    signatures: string[],
    attestations: string[] = [],
  ) => {
    for (const bytes of model.files.values()) await uploadBlob(registry, repository, bytes);
    await registry.push(ci, repository, 'staging', model.digest, {
      resources: model.resources,
      serialization: model.serialization as never,
      signatures,
      attestations,
    });
  };
  const transformation = async (child: TestModel, parent: TestModel) => {
    const built = buildTransformation({
      digest: child.digest,
      subjectName: 'acme/llm',
      parent: parent.digest,
      parentName: 'acme/base',
      tool: 'quantize',
      params: { bits: 4 },
    });
    return (await signAttestation(built.statement, trust.ci)).toString('utf8').trimEnd();
  };
  const promote = (model: TestModel) =>
    registry.promote(ci, 'acme/llm', { digest: model.digest, from: 'staging', to: 'production' });

  // A parent with no trusted signature: the chain is broken.
  const unsignedParent = testModel('unsigned-parent');
  await pushTo('acme/base', unsignedParent, [await signatureFor(unsignedParent, trust.stranger)]);
  const orphan = testModel('orphan');
  await pushTo(
    'acme/llm',
    orphan,
    [await signatureFor(orphan, trust.ci)],
    [await transformation(orphan, unsignedParent)],
  );
  const denied = (await rejectsWith(promote(orphan), 'POLICY_DENIED')) as {
    details: { decision: { violations: { requirement: string }[] } };
  };
  assert.deepEqual(
    denied.details.decision.violations.map((v) => v.requirement),
    ['transformation'],
  );

  // No transformation and no provenance: continuity unknown, denied too.
  const bare = testModel('bare');
  await pushTo('acme/llm', bare, [await signatureFor(bare, trust.ci)]);
  await rejectsWith(promote(bare), 'POLICY_DENIED');

  // A signed parent (in the repository the material names): continuous, allowed.
  const parent = testModel('parent');
  await pushTo('acme/base', parent, [await signatureFor(parent, trust.ci)]);
  const child = testModel('child');
  await pushTo(
    'acme/llm',
    child,
    [await signatureFor(child, trust.ci)],
    [await transformation(child, parent)],
  );
  const promoted = await promote(child);
  assert.equal(promoted.decision.outcome, 'allow');

  // Two hops (the chain walker): base (signed) → mid (transformation only) → grandchild.
  const mid = testModel('mid');
  await pushTo('acme/base', mid, [], [await transformation(mid, parent)]);
  const grandchild = testModel('grandchild');
  await pushTo(
    'acme/llm',
    grandchild,
    [await signatureFor(grandchild, trust.ci)],
    [await transformation(grandchild, mid)],
  );
  const twoHops = await promote(grandchild);
  assert.equal(twoHops.decision.outcome, 'allow');
  assert.match(JSON.stringify(twoHops.decision), /through 2 verified steps/);
  // …and a chain whose middle hop vouches for nothing is broken.
  const stray = testModel('stray');
  await pushTo('acme/base', stray, []);
  const lost = testModel('lost');
  await pushTo(
    'acme/llm',
    lost,
    [await signatureFor(lost, trust.ci)],
    [await transformation(lost, stray)],
  );
  await rejectsWith(promote(lost), 'POLICY_DENIED');
});

test('every retrieval is audited, from unprotected environments too (allow and deny)', async (t) => {
  const { registry, trust } = await setup(t);
  await registry.createRepository(admin, 'acme/llm');
  const model = testModel();
  await pushModel(registry, model, [await signatureFor(model, trust.ci)]);
  await registry.retrieve(ci, 'acme/llm', 'staging', { kind: 'digest', digest: model.digest });
  await rejectsWith(
    registry.retrieve(ci, 'acme/llm', 'staging', { kind: 'tag', tag: 'missing' }),
    'TAG_NOT_FOUND',
  );
  const stream = await registry.openArtifactBlob(
    ci,
    'acme/llm',
    'staging',
    model.digest,
    model.resources[0]!.blob,
  );
  stream.stream.resume();
  const retrievals = (await registry.listAudit()).filter((r) => r.action === 'retrieve');
  assert.deepEqual(
    retrievals.map((r) => [r.environment, r.decision, r.reasons[0] ?? null]),
    [
      ['staging', 'allow', null],
      ['staging', 'deny', 'TAG_NOT_FOUND'],
      ['staging', 'allow', null],
    ],
  );
});

test("certificate signers verify against the trust root entry's own CA roots", async (t) => {
  const pki = codeSigningPki();
  const impostor = codeSigningPki(); // same names, another CA
  const root = await trustRootWithCi({
    kind: 'certificate',
    subject: pki.leafCert.subject,
    issuer: pki.caCert.subject,
    roots: [pki.caCert.toString()],
  });
  const trust = { ...(await testTrust()), root };
  const { registry } = await setup(t, { trust });
  await registry.createRepository(admin, 'acme/llm');
  const signed = async (model: TestModel, p: ReturnType<typeof codeSigningPki>) =>
    (
      await signManifest(
        model.manifest,
        fileSigner(p.leaf.privateKey, { certificateChain: [p.leafCert] }),
      )
    ).bundle
      .toString('utf8')
      .trimEnd();
  const promote = (model: TestModel) =>
    registry.promote(ci, 'acme/llm', { digest: model.digest, from: 'staging', to: 'production' });

  const forged = testModel('forged');
  await pushModel(registry, forged, [await signed(forged, impostor)]);
  const denied = (await rejectsWith(promote(forged), 'POLICY_DENIED')) as {
    details: { refused: string[] };
  };
  assert.deepEqual(denied.details.refused, ['signature:CERT_CHAIN_INVALID']);

  const model = testModel('released');
  await pushModel(registry, model, [await signed(model, pki)]);
  assert.equal((await promote(model)).decision.outcome, 'allow');
});

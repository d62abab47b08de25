import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  CAIRN_PREDICATE_BASE,
  CAIRN_SCAN_V1,
  CAIRN_TRANSFORMATION_V1,
  SLSA_PROVENANCE_V1,
  appendAttestation,
  attestationFacts,
  buildProvenance,
  buildScanAttestation,
  buildTransformation,
  ciFromEnvironment,
  gitFacts,
  readAttestationLines,
  serializeStatement,
  signAttestation,
  verifyAttestation,
  withoutCredentials,
  type ProvenanceInput,
} from '../../src/attest/index.js';
import { isCairnError } from '../../src/errors/index.js';
import {
  fileSigner,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
} from '../../src/keys/index.js';
import { digestModel } from '../../src/model/index.js';
import type { VerificationTrust } from '../../src/verify/index.js';
import { tempDir } from '../helpers.js';

function keys() {
  const pair = generateKeyPair('ecdsa-p256');
  return {
    signer: fileSigner(loadPrivateKey(pair.privateKeyPem)),
    trust: { kind: 'key', publicKey: loadPublicKey(pair.publicKeyPem) } as VerificationTrust,
  };
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isCairnError(err), String(err));
    assert.equal(err.code, code);
    return true;
  });
}

async function model(t: TestContext, content = 'weights') {
  const dir = join(tempDir(t), 'model');
  mkdirSync(dir);
  writeFileSync(join(dir, 'weights.bin'), content);
  writeFileSync(join(dir, 'requirements.txt'), 'torch==2.3.0\n');
  const { digest, manifest } = await digestModel(dir);
  return { dir, digest, manifest };
}

function provenanceInput(
  m: Awaited<ReturnType<typeof model>>,
  env: Record<string, string>,
  now: Date,
): ProvenanceInput {
  return {
    digest: m.digest,
    subjectName: 'model',
    manifest: m.manifest,
    modelPath: m.dir,
    env,
    runtime: { os: 'linux', arch: 'x64', node: '20.20.0' },
    tool: { cairn: '0.1.0' },
    startedOn: now,
    finishedOn: now,
  };
}

test('provenance is byte-identical under SOURCE_DATE_EPOCH, whatever the clock says', async (t) => {
  const m = await model(t);
  const env = { SOURCE_DATE_EPOCH: '1700000000' };
  const a = buildProvenance(provenanceInput(m, env, new Date('2026-01-01T00:00:00Z')));
  const b = buildProvenance(provenanceInput(m, env, new Date('2027-06-01T12:34:56Z')));
  assert.ok(a.statement.equals(b.statement));
  assert.equal(a.predicate.runDetails.metadata?.startedOn, '2023-11-14T22:13:20.000Z');
  // Without it, the times differ and so do the bytes.
  const c = buildProvenance(provenanceInput(m, {}, new Date('2026-01-01T00:00:00Z')));
  const d = buildProvenance(provenanceInput(m, {}, new Date('2027-01-01T00:00:00Z')));
  assert.ok(!c.statement.equals(d.statement));
  // Signing is deterministic too (RFC 6979), so the bundle line is reproducible.
  const { signer } = keys();
  assert.ok(
    (await signAttestation(a.statement, signer)).equals(await signAttestation(b.statement, signer)),
  );
});

test('provenance records lock files, CI builder and invocation, and git facts', async (t) => {
  const m = await model(t);
  const gitDir = join(m.dir, '..', '.git');
  mkdirSync(join(gitDir, 'refs', 'heads'), { recursive: true });
  const commit = 'a'.repeat(40);
  writeFileSync(join(gitDir, 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(gitDir, 'refs', 'heads', 'main'), `${commit}\n`);
  writeFileSync(
    join(gitDir, 'config'),
    '[core]\n\tbare = false\n[remote "origin"]\n\turl = https://bot:secret@example.com/team/model.git\n',
  );
  const env = {
    GITHUB_ACTIONS: 'true',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'team/model',
    GITHUB_WORKFLOW_REF: 'team/model/.github/workflows/train.yml@refs/heads/main',
    GITHUB_RUN_ID: '42',
    GITHUB_RUN_ATTEMPT: '2',
    SOURCE_DATE_EPOCH: '0',
  };
  const { predicate, statement } = buildProvenance(provenanceInput(m, env, new Date()));
  assert.equal(
    predicate.runDetails.builder.id,
    'https://github.com/team/model/.github/workflows/train.yml@refs/heads/main',
  );
  assert.equal(
    predicate.runDetails.metadata?.invocationId,
    'https://github.com/team/model/actions/runs/42/attempts/2',
  );
  const deps = predicate.buildDefinition.resolvedDependencies ?? [];
  assert.deepEqual(deps[0], {
    uri: 'git+https://example.com/team/model.git',
    digest: { gitCommit: commit },
    annotations: { ref: 'refs/heads/main' },
  });
  const lock = deps.find((d) => d.name === 'requirements.txt');
  assert.match(lock?.digest?.['sha256'] ?? '', /^[0-9a-f]{64}$/);
  assert.ok(!statement.toString().includes('secret'), 'credentials never reach the statement');
  const parsed = JSON.parse(statement.toString()) as { predicateType: string; subject: unknown };
  assert.equal(parsed.predicateType, SLSA_PROVENANCE_V1);
  assert.deepEqual(parsed.subject, [{ name: 'model', digest: { sha256: m.digest.slice(7) } }]);
});

test('CI variables of GitLab, Buildkite and generic CI; credentials stripped from URLs', () => {
  assert.equal(
    ciFromEnvironment({
      GITLAB_CI: 'true',
      CI_PROJECT_URL: 'https://gl/x',
      CI_RUNNER_ID: '7',
      CI_JOB_URL: 'https://gl/x/-/jobs/1',
    })?.builderId,
    'https://gl/x/-/runners/7',
  );
  assert.equal(
    ciFromEnvironment({ BUILDKITE: 'true', BUILDKITE_BUILD_URL: 'https://bk/b/1' })?.invocationId,
    'https://bk/b/1',
  );
  assert.equal(ciFromEnvironment({ CI: 'true', BUILD_URL: 'https://j/1' })?.system, 'generic-ci');
  assert.equal(ciFromEnvironment({}), undefined);
  assert.equal(withoutCredentials('https://u:p@h/x'), 'https://h/x');
  assert.equal(gitFacts('/'), undefined);
});

test('a signed provenance verifies and becomes policy facts', async (t) => {
  const m = await model(t);
  const { signer, trust } = keys();
  const built = buildProvenance(provenanceInput(m, { SOURCE_DATE_EPOCH: '0' }, new Date()));
  const bundle = await signAttestation(built.statement, signer);
  const v = verifyAttestation(bundle, trust, m.digest);
  assert.equal(v.predicateType, SLSA_PROVENANCE_V1);
  assert.equal(v.digest, m.digest);
  assert.equal(v.signer.kind, 'key');
  const facts = attestationFacts(v, new Date(0));
  assert.equal(facts.predicateType, SLSA_PROVENANCE_V1);
  assert.equal(facts.issuedAt.getTime(), 0);
});

test('an attestation about another model (replayed) is refused', async (t) => {
  const a = await model(t, 'A');
  const b = await model(t, 'B');
  const { signer, trust } = keys();
  const built = buildTransformation({
    digest: a.digest,
    subjectName: 'model',
    parent: b.digest,
    tool: 'quantise',
    params: { bits: 4 },
  });
  const bundle = await signAttestation(built.statement, signer);
  assert.equal(verifyAttestation(bundle, trust, a.digest).predicateType, CAIRN_TRANSFORMATION_V1);
  throwsCode(() => verifyAttestation(bundle, trust, b.digest), 'ATTESTATION_SUBJECT_MISMATCH');
});

test('unknown predicate types are refused with their own code', async (t) => {
  const m = await model(t);
  const { signer, trust } = keys();
  const statement = serializeStatement({
    digest: m.digest,
    subjectName: 'model',
    predicateType: `${CAIRN_PREDICATE_BASE}made-up/v9`,
    predicate: { anything: true },
  });
  const bundle = await signAttestation(statement, signer);
  throwsCode(() => verifyAttestation(bundle, trust, m.digest), 'ATTESTATION_PREDICATE_UNKNOWN');
});

test('oversized predicates are refused', async (t) => {
  const m = await model(t);
  const { signer, trust } = keys();
  const built = buildTransformation({
    digest: m.digest,
    subjectName: 'model',
    parent: m.digest,
    tool: 'convert',
    params: { blob: 'x'.repeat(4096) },
  });
  const bundle = await signAttestation(built.statement, signer);
  throwsCode(
    () => verifyAttestation(bundle, trust, m.digest, { maxPredicateBytes: 1024 }),
    'ATTESTATION_PREDICATE_TOO_LARGE',
  );
  assert.ok(verifyAttestation(bundle, trust, m.digest));
});

test('a tampered or foreign-signed attestation is refused; a bad known predicate is invalid', async (t) => {
  const m = await model(t);
  const { signer, trust } = keys();
  const built = buildScanAttestation({
    digest: m.digest,
    subjectName: 'model',
    report: { version: 1, modelName: 'model', summary: { files: 1 }, findings: [] },
  });
  const bundle = await signAttestation(built.statement, signer);
  assert.equal(verifyAttestation(bundle, trust, m.digest).predicateType, CAIRN_SCAN_V1);
  const json = JSON.parse(bundle.toString()) as { dsseEnvelope: { payload: string } };
  const payload = Buffer.from(json.dsseEnvelope.payload, 'base64')
    .toString()
    .replace('"findings":[]', '"findings":[ ]');
  json.dsseEnvelope.payload = Buffer.from(payload).toString('base64');
  throwsCode(
    () => verifyAttestation(Buffer.from(JSON.stringify(json)), trust, m.digest),
    'SIGNATURE_INVALID',
  );
  throwsCode(() => verifyAttestation(bundle, keys().trust, m.digest), 'KEY_MISMATCH');

  const bad = serializeStatement({
    digest: m.digest,
    subjectName: 'model',
    predicateType: SLSA_PROVENANCE_V1,
    predicate: { buildDefinition: {} },
  });
  const signedBad = await signAttestation(bad, signer);
  throwsCode(() => verifyAttestation(signedBad, trust, m.digest), 'ATTESTATION_PREDICATE_INVALID');
});

test('the attestations file appends atomically, one bundle a line, and bounds what it reads', async (t) => {
  const m = await model(t);
  const { signer } = keys();
  const path = join(m.dir, 'model.att.jsonl');
  assert.deepEqual(readAttestationLines(path), []);
  const one = await signAttestation(
    buildTransformation({
      digest: m.digest,
      subjectName: 'm',
      parent: m.digest,
      tool: 't',
      params: {},
    }).statement,
    signer,
  );
  assert.equal(appendAttestation(path, one), 1);
  assert.equal(appendAttestation(path, one), 2);
  const lines = readAttestationLines(path);
  assert.deepEqual(
    lines.map((l) => l.line),
    [1, 2],
  );
  assert.ok(lines[0]!.bundle.equals(one));
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 3);
  // The attestations file is never part of the hashed model.
  assert.equal((await digestModel(m.dir)).digest, m.digest);
  writeFileSync(path, '{}\n'.repeat(1001));
  assert.throws(() => readAttestationLines(path), { code: 'ATTESTATIONS_FILE_INVALID' });
});

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CAIRN_SCAN_V1, SLSA_PROVENANCE_V1 } from '../../src/attest/index.js';
import { generateKeyPair } from '../../src/keys/index.js';
import { POLICY_API_VERSION } from '../../src/policy/index.js';
import { runCli, tempDir } from '../helpers.js';

/**
 * `cairn verify MODEL --trust-root ROOT --policy DIR`: the signers trust-root verification
 * matched (several bundles, counted distinct) and the attestations whose signers are scoped to
 * their predicate types feed the policy engine. A real trust root, built with `cairn trust`.
 */

/** Signed into provenance and the scan report: a day ago, so a 30-day maxAge holds today. */
const env = { SOURCE_DATE_EPOCH: String(Math.floor(Date.now() / 1000) - 86_400) };

async function cli(args: string[]) {
  return runCli(args, { env });
}

async function setup(t: TestContext) {
  const dir = tempDir(t);
  const key = (name: string) => {
    const pair = generateKeyPair('ecdsa-p256');
    writeFileSync(join(dir, `${name}.pem`), pair.privateKeyPem);
    writeFileSync(join(dir, `${name}.pub`), pair.publicKeyPem);
    return ['--private-key', join(dir, `${name}.pem`), '--allow-unencrypted-key'];
  };
  const rootKey = key('root');
  const release = key('release');
  const qa = key('qa');
  const builder = key('builder');
  const root = join(dir, 'trust.json');
  assert.equal(
    (
      await cli([
        'trust',
        'init',
        root,
        '--threshold',
        '1',
        '--root-key',
        rootKey[1]!,
        '--allow-unencrypted-key',
      ])
    ).code,
    0,
  );
  const grant = async (id: string, ...types: string[]) => {
    const run = await cli([
      'trust',
      'add-signer',
      root,
      '--id',
      id,
      '--public-key',
      join(dir, `${id}.pub`),
      '--repository',
      'acme/*',
      '--environment',
      'production',
      ...types.flatMap((p) => ['--predicate-type', p]),
      '--root-key',
      rootKey[1]!,
      '--allow-unencrypted-key',
    ]);
    assert.equal(run.code, 0, run.stderr);
  };
  // release and qa sign models (the default scope); builder signs provenance and scans only.
  await grant('release');
  await grant('qa');
  await grant('builder', SLSA_PROVENANCE_V1, CAIRN_SCAN_V1);

  const model = join(dir, 'model');
  mkdirSync(model);
  writeFileSync(join(model, 'config.json'), '{"layers": 2}');
  // qa signs first: a bundle written outside the model hashes every file in it, model.sig too.
  const qaSig = join(dir, 'qa.sig');
  assert.equal((await cli(['sign', model, '--signature', qaSig, ...qa])).code, 0);
  assert.equal((await cli(['sign', model, ...release])).code, 0);
  const provenance = ['attest', 'provenance', model, '--builder-id', 'https://ci.example/builder'];
  // By release, who may not sign provenance: listed as refused, never used.
  assert.equal((await cli([...provenance, ...release])).code, 0);
  assert.equal((await cli([...provenance, ...builder])).code, 0);
  // The scan report records its (SOURCE_DATE_EPOCH) time, so a scan maxAge can be met.
  const scan = await cli(['scan', model, '--attest', ...builder, '--json']);
  assert.equal(scan.code, 0, scan.stderr);

  const policies = (builderId: string) => {
    const p = join(dir, `policies-${builderId.length}`);
    mkdirSync(p, { recursive: true });
    writeFileSync(
      join(p, 'production.yaml'),
      `apiVersion: ${POLICY_API_VERSION}
kind: ModelPolicy
metadata: {name: production}
spec:
  match: {repositories: ["acme/*"], environments: [production]}
  mode: enforce
  signatures:
    - name: two-person
      threshold: 2
      signers: [{trustRoot: release}, {trustRoot: qa}]
  attestations:
    - name: provenance
      predicateType: ${SLSA_PROVENANCE_V1}
      signers: [{trustRoot: builder}]
      condition: 'predicate.runDetails.builder.id == "${builderId}"'
      maxAge: 30d
    - name: scan
      predicateType: ${CAIRN_SCAN_V1}
      signers: [{trustRoot: builder}]
      condition: 'predicate.summary.findings.critical == 0.0'
      maxAge: 30d
`,
    );
    return p;
  };
  /** `cairn verify MODEL --trust-root … --policy DIR` for acme/llm in production, as JSON. */
  const verify = (
    policyDir: string,
    signatures: string[] = [],
    json = true,
    repo = 'acme/llm',
    ...extra: string[]
  ) =>
    cli([
      'verify',
      model,
      '--trust-root',
      root,
      '--trust-root-state',
      join(dir, 'state'),
      '--policy',
      policyDir,
      '--repository',
      repo,
      '--environment',
      'production',
      ...signatures.flatMap((sig) => ['--signature', sig]),
      ...(json ? ['--json'] : []),
      ...extra,
    ]);
  return { dir, model, qaSig, policies, verify };
}

interface Out {
  ok: boolean;
  trustRoot: { counted: string[] };
  policy: {
    outcome: string;
    violations: { code: string; requirement: string }[];
    policies: { requirements: { requirement: string; code: string }[] }[];
  };
  attestations: {
    verified: boolean;
    error?: { code: string };
    trustedSigner?: { signerId: string };
  }[];
  error?: { code: string };
}

test('verify --trust-root --policy: two trust-root signers and scoped attestations allow', async (t) => {
  const s = await setup(t);
  const both = [join(s.model, 'model.sig'), s.qaSig];
  const run = await s.verify(s.policies('https://ci.example/builder'), both);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const out = run.json<Out>();
  assert.equal(out.policy.outcome, 'allow');
  assert.deepEqual(out.trustRoot.counted, ['qa', 'release']);
  assert.deepEqual(
    out.policy.policies[0]!.requirements.map((r) => [r.requirement, r.code]),
    [
      ['signatures:two-person', 'SATISFIED'],
      ['attestation:provenance', 'SATISFIED'],
      ['attestation:scan', 'SATISFIED'],
    ],
  );
  // The provenance release signed is out of its scope: listed as refused, not used.
  assert.deepEqual(
    out.attestations.map((a) => (a.verified ? a.trustedSigner?.signerId : a.error?.code)),
    ['SIGNER_OUT_OF_SCOPE', 'builder', 'builder'],
  );
  // The scan predicate carries the signed scan time.
  const lines = readFileSync(join(s.model, 'model.att.jsonl'), 'utf8').trim().split('\n');
  const bundle = JSON.parse(lines[2]!) as { dsseEnvelope: { payload: string } };
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString()) as {
    predicate: { scannedAt?: string };
  };
  assert.equal(
    statement.predicate.scannedAt,
    new Date(Number(env.SOURCE_DATE_EPOCH) * 1000).toISOString().replace('.000Z', 'Z'),
  );

  // Human output: the counted signers, then the decision.
  const human = await s.verify(s.policies('https://ci.example/builder'), both, false);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /trust root v4: qa, release/);
  assert.match(human.stdout, /^ALLOW /m);

  // --require with --policy: the required kinds must verify in scope, then the policy decides.
  const policyDir = s.policies('https://ci.example/builder');
  const required = await s.verify(policyDir, both, true, 'acme/llm', '--require', 'scan');
  assert.equal(required.code, 0, required.stdout);
  assert.equal(required.json<Out>().policy.outcome, 'allow');
  const training = await s.verify(policyDir, both, true, 'acme/llm', '--require', 'training');
  assert.equal(training.code, 1);
  assert.equal(training.json<Out>().error?.code, 'ATTESTATION_REQUIRED');
});

test('verify --trust-root --policy: one signer short, or a condition the predicate fails, denies', async (t) => {
  const s = await setup(t);
  const one = await s.verify(s.policies('https://ci.example/builder'));
  assert.equal(one.code, 1, one.stdout + one.stderr);
  const out = one.json<Out>();
  assert.equal(out.ok, false);
  assert.deepEqual(
    out.policy.violations.map((v) => [v.requirement, v.code]),
    [['signatures:two-person', 'SIGNATURES_INSUFFICIENT']],
  );
  const strict = await s.verify(s.policies('https://ci.example/another-builder'), [
    join(s.model, 'model.sig'),
    s.qaSig,
  ]);
  assert.equal(strict.code, 1);
  assert.deepEqual(
    strict.json<Out>().policy.violations.map((v) => v.code),
    ['CONDITION_FALSE'],
  );
  // Outside the trust root's scope for the repository: refused by verification, not by policy.
  const elsewhere = await s.verify(s.policies('https://ci.example/builder'), [], true, 'other/llm');
  assert.equal(elsewhere.code, 1);
  assert.equal(elsewhere.json<Out>().error?.code, 'SIGNER_OUT_OF_SCOPE');
});

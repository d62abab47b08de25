import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { generateKeyPair } from '../../src/keys/index.js';
import { runCli, tempDir } from '../helpers.js';

interface Listed {
  ok: boolean;
  digest: string;
  results: {
    line: number;
    verified: boolean;
    predicateType: string | null;
    error?: { code: string };
  }[];
}

function setup(t: TestContext) {
  const dir = tempDir(t);
  const model = join(dir, 'model');
  mkdirSync(model);
  writeFileSync(join(model, 'weights.bin'), 'weights');
  writeFileSync(join(model, 'uv.lock'), 'version = 1\n');
  const pair = generateKeyPair('ecdsa-p256');
  writeFileSync(join(dir, 'key.pem'), pair.privateKeyPem);
  writeFileSync(join(dir, 'key.pub'), pair.publicKeyPem);
  const other = generateKeyPair('ed25519');
  writeFileSync(join(dir, 'other.pem'), other.privateKeyPem);
  return { dir, model };
}

const env = { SOURCE_DATE_EPOCH: '1700000000' };

test('attest provenance and transform append signed lines that attest list verifies', async (t) => {
  const { dir, model } = setup(t);
  writeFileSync(join(dir, 'extra.json'), JSON.stringify({ externalParameters: { epochs: 3 } }));
  const prov = await runCli(
    [
      'attest',
      'provenance',
      model,
      '--private-key',
      join(dir, 'key.pem'),
      '--allow-unencrypted-key',
      '--builder-id',
      'https://ci.example/builder',
      '--python-version',
      '3.11.9',
      '--accelerator',
      'nvidia-h100',
      '--from-json',
      join(dir, 'extra.json'),
      '--json',
    ],
    { env },
  );
  assert.equal(prov.code, 0, prov.stderr);
  const p = prov.json<{
    line: number;
    digest: string;
    predicate: {
      buildDefinition: {
        externalParameters: { epochs: number };
        internalParameters: { runtime: Record<string, string> };
      };
      runDetails: { builder: { id: string } };
    };
  }>();
  assert.equal(p.line, 1);
  assert.equal(p.predicate.buildDefinition.externalParameters.epochs, 3);
  assert.equal(p.predicate.buildDefinition.internalParameters.runtime['python'], '3.11.9');
  assert.equal(
    p.predicate.buildDefinition.internalParameters.runtime['accelerator'],
    'nvidia-h100',
  );
  assert.equal(p.predicate.runDetails.builder.id, 'https://ci.example/builder');

  const parent = `sha256:${'b'.repeat(64)}`;
  const tr = await runCli(
    [
      'attest',
      'transform',
      model,
      '--from',
      parent,
      '--tool',
      'quantize',
      '--params',
      '{"bits":4}',
      '--private-key',
      join(dir, 'key.pem'),
      '--allow-unencrypted-key',
    ],
    { env },
  );
  assert.equal(tr.code, 0, tr.stderr);
  assert.match(tr.stdout, /line 2/);

  const list = await runCli([
    'attest',
    'list',
    model,
    '--public-key',
    join(dir, 'key.pub'),
    '--json',
  ]);
  assert.equal(list.code, 0, list.stdout);
  const l = list.json<Listed>();
  assert.equal(l.digest, p.digest);
  assert.deepEqual(
    l.results.map((r) => [r.line, r.verified, r.predicateType]),
    [
      [1, true, 'https://slsa.dev/provenance/v1'],
      [2, true, 'https://cairn.dev/attestation/transformation/v1'],
    ],
  );
  const text = await runCli(['attest', 'list', model, '--public-key', join(dir, 'key.pub')]);
  assert.match(text.stdout, /VERIFIED .*produced from sha256:b{64} by quantize/);
});

test('provenance is reproducible with SOURCE_DATE_EPOCH: the same line twice', async (t) => {
  const { dir, model } = setup(t);
  const args = [
    'attest',
    'provenance',
    model,
    '--private-key',
    join(dir, 'key.pem'),
    '--allow-unencrypted-key',
  ];
  assert.equal((await runCli(args, { env })).code, 0);
  assert.equal((await runCli(args, { env })).code, 0);
  const lines = readFileSync(join(model, 'model.att.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 2);
  assert.equal(lines[0], lines[1]);
});

test('attest list refuses tampered, foreign-signed and replayed lines, and lists unknown ones', async (t) => {
  const { dir, model } = setup(t);
  const sign = (key: string, m = model) =>
    runCli(
      [
        'attest',
        'transform',
        m,
        '--from',
        `sha256:${'c'.repeat(64)}`,
        '--tool',
        't',
        '--private-key',
        join(dir, key),
        '--allow-unencrypted-key',
      ],
      { env },
    );
  assert.equal((await sign('key.pem')).code, 0);
  assert.equal((await sign('other.pem')).code, 0);
  // A line replayed from another model.
  const other = join(dir, 'other-model');
  mkdirSync(other);
  writeFileSync(join(other, 'weights.bin'), 'different');
  assert.equal((await sign('key.pem', other)).code, 0);
  const path = join(model, 'model.att.jsonl');
  const replayed = readFileSync(join(other, 'model.att.jsonl'), 'utf8').trim();
  // A tampered line: the signed payload changed.
  const first = JSON.parse(readFileSync(path, 'utf8').split('\n')[0]!) as {
    dsseEnvelope: { payload: string };
  };
  first.dsseEnvelope.payload = Buffer.from(
    Buffer.from(first.dsseEnvelope.payload, 'base64').toString().replace('"t"', '"u"'),
  ).toString('base64');
  writeFileSync(
    path,
    `${readFileSync(path, 'utf8')}${replayed}\n${JSON.stringify(first)}\nnot json\n`,
  );

  const list = await runCli([
    'attest',
    'list',
    model,
    '--public-key',
    join(dir, 'key.pub'),
    '--json',
  ]);
  assert.equal(list.code, 1);
  const l = list.json<Listed>();
  assert.equal(l.ok, false);
  assert.deepEqual(
    l.results.map((r) => [r.line, r.verified, r.error?.code]),
    [
      [1, true, undefined],
      [2, false, 'KEY_MISMATCH'],
      [3, false, 'ATTESTATION_SUBJECT_MISMATCH'],
      [4, false, 'SIGNATURE_INVALID'],
      [5, false, 'BUNDLE_MALFORMED'],
    ],
  );
});

test('bad inputs are usage or validation errors', async (t) => {
  const { dir, model } = setup(t);
  const key = ['--private-key', join(dir, 'key.pem'), '--allow-unencrypted-key', '--json'];
  const badFrom = await runCli([
    'attest',
    'transform',
    model,
    '--from',
    'sha256:zz',
    '--tool',
    't',
    ...key,
  ]);
  assert.equal(badFrom.code, 2);
  assert.equal(badFrom.json<{ error: { code: string } }>().error.code, 'USAGE');
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ builder: { nope: 1 } }));
  const badJson = await runCli([
    'attest',
    'provenance',
    model,
    '--from-json',
    join(dir, 'bad.json'),
    ...key,
  ]);
  assert.equal(badJson.code, 2);
  assert.equal(
    badJson.json<{ error: { code: string } }>().error.code,
    'ATTESTATION_PREDICATE_INVALID',
  );
  const noTrust = await runCli(['attest', 'list', model, '--json']);
  assert.equal(noTrust.code, 2);
});

test('verify --require passes only with verified attestations about the signed digest', async (t) => {
  const { dir, model } = setup(t);
  const key = ['--private-key', join(dir, 'key.pem'), '--allow-unencrypted-key'];
  assert.equal((await runCli(['sign', model, ...key])).code, 0);
  const verify = (req: string) =>
    runCli(['verify', model, '--public-key', join(dir, 'key.pub'), '--require', req, '--json']);
  const none = await verify('provenance');
  assert.equal(none.code, 1);
  assert.equal(none.json<{ error: { code: string } }>().error.code, 'ATTESTATION_REQUIRED');

  // Signed by another key: present but not trusted.
  const foreign = ['--private-key', join(dir, 'other.pem'), '--allow-unencrypted-key'];
  assert.equal((await runCli(['attest', 'provenance', model, ...foreign], { env })).code, 0);
  const untrusted = await verify('provenance');
  assert.equal(untrusted.code, 1);
  const details = untrusted.json<{
    error: { code: string; details: { missing: { refused: { code: string }[] }[] } };
  }>().error;
  assert.equal(details.code, 'ATTESTATION_REQUIRED');
  assert.deepEqual(details.details.missing[0]!.refused, [{ line: 1, code: 'KEY_MISMATCH' }]);

  assert.equal((await runCli(['attest', 'provenance', model, ...key], { env })).code, 0);
  const ok = await verify('provenance');
  assert.equal(ok.code, 0, ok.stdout);
  assert.equal(ok.json<{ attestations: unknown[] }>().attestations.length, 2);
  assert.equal((await verify('provenance,scan')).code, 1);
  assert.equal((await verify('provenance,nonsense')).code, 2);
  const withRoot = await runCli([
    'verify',
    model,
    '--trust-root',
    join(dir, 'x'),
    '--require',
    'scan',
  ]);
  assert.equal(withRoot.code, 2);
});

test('scan --attest writes a signed scan attestation that verify --require scan accepts', async (t) => {
  const { dir, model } = setup(t);
  const key = ['--private-key', join(dir, 'key.pem'), '--allow-unencrypted-key'];
  assert.equal((await runCli(['sign', model, ...key])).code, 0);
  const scan = await runCli(['scan', model, '--attest', ...key, '--json']);
  assert.equal(scan.code, 0, scan.stdout);
  assert.equal(scan.json<{ attestation: { line: number } }>().attestation.line, 1);
  const ok = await runCli([
    'verify',
    model,
    '--public-key',
    join(dir, 'key.pub'),
    '--require',
    'scan',
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((await runCli(['scan', model, ...key, '--json'])).code, 2);
  assert.equal((await runCli(['scan', model, '--attest', '--json'])).code, 2);
});

/** Signs MODEL's parent relationship and returns the parent's digest. */
async function digestOf(model: string): Promise<string> {
  const r = await runCli(['digest', model, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return r.json<{ digest: string }>().digest;
}

test('verify --chain: a quantised model with only its parent signature fails; a transformation hop passes', async (t) => {
  const { dir, model: parent } = setup(t);
  const key = ['--private-key', join(dir, 'key.pem'), '--allow-unencrypted-key'];
  const trust = ['--public-key', join(dir, 'key.pub')];
  writeFileSync(join(parent, 'README.md'), '# card\n');
  assert.equal((await runCli(['sign', parent, ...key])).code, 0);
  const signedParent = await digestOf(parent);
  const training = await runCli(
    [
      'attest',
      'training',
      parent,
      '--dataset',
      `s3://data/train@sha256:${'a'.repeat(64)}`,
      '--hyperparameter',
      'lr=0.001',
      '--hyperparameter',
      'optimizer=adamw',
      '--preprocessing',
      'dedupe',
      '--metric',
      'metric=accuracy,value=0.91,dataset=s3://data/eval,min=0.9',
      '--experiment-run',
      'https://mlflow.example/runs/7',
      ...key,
      '--json',
    ],
    { env },
  );
  assert.equal(training.code, 0, training.stderr);
  const tp = training.json<{
    predicate: {
      hyperparameters: Record<string, unknown>;
      evaluations: { passed: boolean; threshold: { comparison: string } }[];
    };
  }>().predicate;
  assert.deepEqual(tp.hyperparameters, { lr: 0.001, optimizer: 'adamw' });
  assert.equal(tp.evaluations[0]!.passed, true);
  assert.equal(tp.evaluations[0]!.threshold.comparison, '>=');
  const license = await runCli(
    [
      'attest',
      'license',
      parent,
      '--license',
      'Apache-2.0',
      '--model-card',
      join(parent, 'README.md'),
      ...key,
      '--json',
    ],
    { env },
  );
  assert.equal(license.code, 0, license.stderr);
  assert.equal(
    license.json<{ predicate: { modelCard: { name: string } } }>().predicate.modelCard.name,
    'README.md',
  );
  const required = await runCli(['verify', parent, ...trust, '--require', 'training,license']);
  assert.equal(required.code, 0, required.stderr);

  // The store holds a copy of the parent's signature and attestations.
  const store = join(dir, 'store');
  mkdirSync(join(store, 'parent'), { recursive: true });
  writeFileSync(join(store, 'parent', 'model.sig'), readFileSync(join(parent, 'model.sig')));

  // "Signed once, trusted forever": quantised bytes, the parent's signature copied beside them.
  const quantised = join(dir, 'quantised');
  mkdirSync(quantised);
  writeFileSync(join(quantised, 'weights.bin'), 'q4');
  writeFileSync(join(quantised, 'model.sig'), readFileSync(join(parent, 'model.sig')));
  const chain = (m: string, ...more: string[]) =>
    runCli(['verify', m, '--chain', '--chain-store', store, ...trust, '--json', ...more]);
  const once = await chain(quantised);
  assert.equal(once.code, 1);
  assert.equal(once.json<{ error: { code: string } }>().error.code, 'CHAIN_HOP_UNSIGNED');
  // Without --chain the copied signature fails too, as a model mismatch.
  assert.equal((await runCli(['verify', quantised, ...trust])).code, 1);

  // A transformation attestation from the parent's digest makes the hop.
  const tr = await runCli(
    [
      'attest',
      'transform',
      quantised,
      '--from',
      signedParent,
      '--tool',
      'quantize',
      '--params',
      '{"bits":4}',
      ...key,
    ],
    { env },
  );
  assert.equal(tr.code, 0, tr.stderr);
  const ok = await chain(quantised);
  assert.equal(ok.code, 0, ok.stdout);
  const nodes = ok.json<{ chain: { nodes: { digest: string; role: string }[] } }>().chain.nodes;
  assert.deepEqual(
    nodes.map((n) => [n.digest, n.role]),
    [
      [await digestOf(quantised), 'derived'],
      [signedParent, 'root'],
    ],
  );
  assert.equal((await chain(quantised, '--require', 'transform')).code, 0);

  // cairn lineage: data → training → transforms → this digest, as text and JSON.
  writeFileSync(
    join(store, 'parent', 'model.att.jsonl'),
    readFileSync(join(parent, 'model.att.jsonl')),
  );
  const text = await runCli(['lineage', quantised, '--chain-store', store, ...trust]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /signed root/);
  assert.match(text.stdout, /made by quantize \{"bits":4\}/);
  const lineage = await runCli([
    'lineage',
    signedParent,
    '--chain-store',
    store,
    ...trust,
    '--json',
  ]);
  assert.equal(lineage.code, 0, lineage.stdout);
  const l = lineage.json<{
    complete: boolean;
    nodes: { role: string; attestations: { predicateType: string }[]; refused: unknown[] }[];
  }>();
  assert.equal(l.complete, true);
  assert.equal(l.nodes[0]!.role, 'root');
  assert.deepEqual(
    l.nodes[0]!.attestations.map((a) => a.predicateType),
    ['https://cairn.dev/attestation/training/v1', 'https://cairn.dev/attestation/license/v1'],
  );
  assert.deepEqual(l.nodes[0]!.refused, []);
  assert.match(text.stdout, /data +s3:\/\/data\/train/);
  assert.match(text.stdout, /evaluation accuracy = 0.91 on s3:\/\/data\/eval \(>= 0.9: passed\)/);
  assert.match(text.stdout, /license +Apache-2.0; model card README.md/);

  // The parent gone from the store: the hop is missing.
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const missing = await runCli([
    'verify',
    quantised,
    '--chain',
    '--chain-store',
    empty,
    ...trust,
    '--json',
  ]);
  assert.equal(missing.json<{ error: { code: string } }>().error.code, 'CHAIN_PARENT_MISSING');
  const broken = await runCli(['lineage', quantised, '--chain-store', empty, ...trust]);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /CHAIN_PARENT_MISSING/);

  // Usage: --chain-store alone, and options --chain cannot honour.
  assert.equal((await runCli(['verify', quantised, '--chain-store', store, ...trust])).code, 2);
  assert.equal((await chain(quantised, '--policy', dir)).code, 2);
  assert.equal((await chain(quantised, '--ignore-paths', 'x')).code, 2);
  assert.equal(
    (await runCli(['lineage', `sha256:${'0'.repeat(64)}`, '--chain-store', store, ...trust])).code,
    2,
  );
});

test('attest training and license refuse bad flags with a code', async (t) => {
  const { dir, model } = setup(t);
  const key = ['--private-key', join(dir, 'key.pem'), '--allow-unencrypted-key', '--json'];
  const code = async (args: string[]) => {
    const r = await runCli(['attest', ...args, model, ...key]);
    return [r.code, r.json<{ error: { code: string } }>().error.code];
  };
  assert.deepEqual(await code(['license', '--license', 'Apache 2']), [2, 'USAGE']);
  assert.deepEqual(await code(['training', '--dataset', 's3://no-digest']), [2, 'USAGE']);
  assert.deepEqual(await code(['training', '--dataset', 's3://x@sha256:XYZ']), [
    2,
    'ATTESTATION_PREDICATE_INVALID',
  ]);
  assert.deepEqual(await code(['training', '--metric', 'metric=a,value=x,dataset=d']), [
    2,
    'USAGE',
  ]);
  assert.deepEqual(await code(['training', '--metric', 'metric=a,value=1,dataset=d,min=1,max=2']), [
    2,
    'USAGE',
  ]);
  assert.deepEqual(await code(['training', '--base-model', 'sha256:1']), [2, 'USAGE']);
  writeFileSync(
    join(dir, 't.json'),
    JSON.stringify({
      evaluations: [{ metric: 'a', value: 1, dataset: { uri: 'd' }, passed: true }],
    }),
  );
  assert.deepEqual(await code(['training', '--from-json', join(dir, 't.json')]), [
    2,
    'ATTESTATION_PREDICATE_INVALID',
  ]);
});

test('verify --trust-root --require: an attestation signer must be scoped to its predicate type', async (t) => {
  const { dir, model } = setup(t);
  const rootKey = generateKeyPair('ecdsa-p256');
  writeFileSync(join(dir, 'root.pem'), rootKey.privateKeyPem);
  const builderKey = generateKeyPair('ecdsa-p256');
  writeFileSync(join(dir, 'builder.pem'), builderKey.privateKeyPem);
  writeFileSync(join(dir, 'builder.pub'), builderKey.publicKeyPem);
  const root = join(dir, 'trust.json');
  const rk = ['--root-key', join(dir, 'root.pem'), '--allow-unencrypted-key'];
  assert.equal((await runCli(['trust', 'init', root, '--threshold', '1', ...rk])).code, 0);
  const grant = (id: string, pub: string, ...types: string[]) =>
    runCli([
      'trust',
      'add-signer',
      root,
      '--id',
      id,
      '--public-key',
      join(dir, pub),
      '--repository',
      '**',
      '--environment',
      '**',
      ...types.flatMap((p) => ['--predicate-type', p]),
      ...rk,
    ]);
  // The release key signs models only (the default scope); the builder signs provenance only.
  assert.equal((await grant('release', 'key.pub')).code, 0);
  assert.equal((await grant('builder', 'builder.pub', 'https://slsa.dev/provenance/v1')).code, 0);

  const sign = (key: string, ...args: string[]) => [
    ...args,
    model,
    '--private-key',
    join(dir, key),
    '--allow-unencrypted-key',
  ];
  assert.equal((await runCli(sign('key.pem', 'sign'))).code, 0);
  assert.equal((await runCli(sign('key.pem', 'attest', 'provenance'), { env })).code, 0);
  const state = join(dir, 'state');
  const verify = (req: string) =>
    runCli([
      'verify',
      model,
      '--trust-root',
      root,
      '--trust-root-state',
      state,
      '--require',
      req,
      '--json',
    ]);
  const refused = await verify('provenance');
  assert.equal(refused.code, 1, refused.stdout);
  const err = refused.json<{
    error: { code: string; details: { missing: { refused: { code: string }[] }[] } };
  }>().error;
  assert.equal(err.code, 'ATTESTATION_REQUIRED');
  assert.deepEqual(err.details.missing[0]!.refused, [{ line: 1, code: 'SIGNER_OUT_OF_SCOPE' }]);

  // attest list shows the same refusal, with a hint naming the predicate type.
  const list = await runCli([
    'attest',
    'list',
    model,
    '--trust-root',
    root,
    '--trust-root-state',
    state,
    '--json',
  ]);
  assert.equal(list.code, 1);
  const first = list.json<{ results: { error?: { code: string; hint: string } }[] }>().results[0]!;
  assert.equal(first.error?.code, 'SIGNER_OUT_OF_SCOPE');
  assert.match(first.error?.hint ?? '', /--predicate-type https:\/\/slsa\.dev\/provenance\/v1/);

  assert.equal((await runCli(sign('builder.pem', 'attest', 'provenance'), { env })).code, 0);
  const ok = await verify('provenance');
  assert.equal(ok.code, 0, ok.stdout);
  const attested = ok.json<{
    attestations: { verified: boolean; trustedSigner?: { signerId: string } }[];
  }>().attestations;
  assert.deepEqual(
    attested.map((a) => [a.verified, a.trustedSigner?.signerId]),
    [
      [false, undefined],
      [true, 'builder'],
    ],
  );
  // With no transformation, the model is its own root: signed by "release", scoped to models.
  const store = join(dir, 'store');
  mkdirSync(store);
  const chain = await runCli([
    'verify',
    model,
    '--chain',
    '--chain-store',
    store,
    '--trust-root',
    root,
    '--trust-root-state',
    state,
    '--json',
  ]);
  assert.equal(chain.code, 0, chain.stdout);
});

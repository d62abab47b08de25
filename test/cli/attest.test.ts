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
      buildDefinition: { externalParameters: { epochs: number } };
      runDetails: { builder: { id: string } };
    };
  }>();
  assert.equal(p.line, 1);
  assert.equal(p.predicate.buildDefinition.externalParameters.epochs, 3);
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

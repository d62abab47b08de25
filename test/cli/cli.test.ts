import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  closeSync,
  readSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { copyKeyedModel, keyed, requireShared, runCli, tempDir } from '../helpers.js';

interface ErrorJson {
  ok: false;
  error: { code: string; message: string; hint: string; details?: Record<string, unknown> };
}

const p256 = join(keyed, 'p256.pub.pem');

function flipByte(path: string, offset: number): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, offset);
  b[0] = b[0]! ^ 1;
  writeSync(fd, b, 0, 1, offset);
  closeSync(fd);
}

describe('cairn digest', () => {
  test('equals the reference root digest of the interop model', async () => {
    const want = readFileSync(join(keyed, 'digest.txt'), 'utf8').trim();
    const run = await runCli(['digest', join(keyed, 'model')]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), want);
  });

  test('--manifest --json lists every resource with its role, in reference order', async () => {
    const run = await runCli(['digest', join(keyed, 'model'), '--manifest', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const out = run.json<{
      digest: string;
      resources: { name: string; role: string; size: number }[];
    }>();
    const names = out.resources.map((r) => r.name);
    assert.deepEqual(names, [
      '.hidden',
      'README.md',
      'a/b.txt',
      'a-b.txt',
      'config.json',
      'empty.txt',
      'naïve.txt',
      'tokenizer/special-tokens.json',
      'tokenizer/vocab.txt',
      'tokenizer.json',
      'weights.bin',
    ]);
    const role = Object.fromEntries(out.resources.map((r) => [r.name, r.role]));
    assert.equal(role['weights.bin'], 'weights');
    assert.equal(role['config.json'], 'config');
    assert.equal(role['tokenizer.json'], 'tokenizer');
    assert.equal(role['tokenizer/vocab.txt'], 'tokenizer');
    assert.equal(role['README.md'], 'documentation');
  });

  test('a missing model is exit 2 with INPUT_NOT_FOUND', async (t) => {
    const run = await runCli(['digest', join(tempDir(t), 'nope'), '--json']);
    assert.equal(run.code, 2);
    assert.equal(run.json<ErrorJson>().error.code, 'INPUT_NOT_FOUND');
  });

  test('an empty model is refused (OMS §6.1)', async (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'm', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'm', '.gitignore'), 'x');
    const run = await runCli(['digest', join(dir, 'm'), '--json']);
    assert.equal(run.code, 2);
    assert.equal(run.json<ErrorJson>().error.code, 'MODEL_EMPTY');
  });
});

describe('cairn keygen / sign / verify round trips', () => {
  for (const type of ['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'ed25519'] as const) {
    test(`${type}: sign, verify, and deterministic bytes`, async (t) => {
      const dir = tempDir(t);
      const model = copyKeyedModel(t);
      const key = join(dir, 'key.pem');
      const gen = await runCli(['keygen', '--type', type, '--out', key, '--json']);
      assert.equal(gen.code, 0, gen.stderr);
      assert.match(readFileSync(key, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
      assert.match(readFileSync(`${key}.pub`, 'utf8'), /^-----BEGIN PUBLIC KEY-----/);

      const sign = await runCli(['sign', model, '--private-key', key, '--json']);
      assert.equal(sign.code, 0, sign.stderr);
      const sigPath = join(model, 'model.sig');
      const first = readFileSync(sigPath);
      assert.equal(
        sign.json<{ digest: string }>().digest,
        readFileSync(join(keyed, 'digest.txt'), 'utf8').trim(),
      );

      const again = await runCli(['sign', model, '--private-key', key, '--force']);
      assert.equal(again.code, 0, again.stderr);
      assert.ok(first.equals(readFileSync(sigPath)), 'signing twice must give identical bytes');

      const verify = await runCli(['verify', model, '--public-key', `${key}.pub`, '--json']);
      assert.equal(verify.code, 0, verify.stderr + verify.stdout);
      const v = verify.json<{
        verified: boolean;
        resourcesChecked: number;
        signer: { kind: string; keyType: string };
      }>();
      assert.equal(v.verified, true);
      assert.equal(v.resourcesChecked, 11);
      assert.equal(v.signer.keyType, type);
    });
  }

  test('an existing signature is not overwritten without --force', async (t) => {
    const dir = tempDir(t);
    const model = copyKeyedModel(t);
    await runCli(['keygen', '--out', join(dir, 'k.pem')]);
    assert.equal((await runCli(['sign', model, '--private-key', join(dir, 'k.pem')])).code, 0);
    const run = await runCli(['sign', model, '--private-key', join(dir, 'k.pem'), '--json']);
    assert.equal(run.code, 2);
    assert.equal(run.json<ErrorJson>().error.code, 'OUTPUT_EXISTS');
  });

  test('encrypted keys: passphrase from env or file, never argv', async (t) => {
    const dir = tempDir(t);
    const model = copyKeyedModel(t);
    const key = join(dir, 'enc.pem');
    const env = { CAIRN_KEY_PASSPHRASE: 'correct horse battery staple' };
    assert.equal((await runCli(['keygen', '--out', key, '--encrypt'], { env })).code, 0);
    assert.match(readFileSync(key, 'utf8'), /ENCRYPTED PRIVATE KEY/);

    const noPass = await runCli(['sign', model, '--private-key', key, '--json']);
    assert.equal(noPass.code, 2);
    assert.equal(noPass.json<ErrorJson>().error.code, 'KEY_PASSPHRASE_REQUIRED');

    const wrong = await runCli(['sign', model, '--private-key', key, '--json'], {
      env: { CAIRN_KEY_PASSPHRASE: 'nope' },
    });
    assert.equal(wrong.code, 2);
    assert.equal(wrong.json<ErrorJson>().error.code, 'KEY_PASSPHRASE_WRONG');

    const passFile = join(dir, 'pass.txt');
    writeFileSync(passFile, `${env.CAIRN_KEY_PASSPHRASE}\n`);
    const ok = await runCli(['sign', model, '--private-key', key, '--passphrase-file', passFile]);
    assert.equal(ok.code, 0, ok.stderr);

    const argv = await runCli([
      'sign',
      model,
      '--private-key',
      key,
      '--passphrase',
      'x',
      '--force',
    ]);
    assert.equal(argv.code, 2, 'there is no flag that takes a passphrase on the command line');
  });

  test('a single-file model signs beside the file and verifies', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'weights.safetensors');
    writeFileSync(file, Buffer.alloc(4096, 7));
    await runCli(['keygen', '--out', join(dir, 'k.pem')]);
    const sign = await runCli(['sign', file, '--private-key', join(dir, 'k.pem'), '--json']);
    assert.equal(sign.code, 0, sign.stderr);
    assert.equal(sign.json<{ signature: string }>().signature, `${file}.sig`);
    const human = await runCli(['sign', file, '--private-key', join(dir, 'k.pem'), '--force']);
    assert.match(human.stdout, /^Signed 1 resource: sha256:[0-9a-f]{64}$/m);
    const verify = await runCli(['verify', file, '--public-key', join(dir, 'k.pem.pub')]);
    assert.equal(verify.code, 0, verify.stderr);
    flipByte(file, 100);
    const bad = await runCli(['verify', file, '--public-key', join(dir, 'k.pem.pub'), '--json']);
    assert.equal(bad.code, 1);
    assert.equal(bad.json<ErrorJson>().error.code, 'MODEL_MISMATCH');
  });

  test('shard mode and blake3 are recorded in the bundle and verify needs no repeated flags', async (t) => {
    const dir = tempDir(t);
    const model = copyKeyedModel(t);
    await runCli(['keygen', '--out', join(dir, 'k.pem')]);
    for (const extra of [
      ['--shard-size', '262144'],
      ['--hash', 'blake3'],
      ['--hash', 'blake2b', '--shard-size', '1000000'],
    ]) {
      const sig = join(dir, `${extra.join('')}.sig`);
      const sign = await runCli([
        'sign',
        model,
        '--private-key',
        join(dir, 'k.pem'),
        '--signature',
        sig,
        ...extra,
      ]);
      assert.equal(sign.code, 0, sign.stderr);
      const verify = await runCli([
        'verify',
        model,
        '--signature',
        sig,
        '--public-key',
        join(dir, 'k.pem.pub'),
        '--json',
      ]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    }
  });
});

describe('cairn verify against the reference vectors', () => {
  const positives: [string, string][] = [
    ['model.sig', 'p256.pub.pem'],
    ['model.p384.sig', 'p384.pub.pem'],
    ['model.shards-256KiB.sig', 'p256.pub.pem'],
    ['model.blake2.sig', 'p256.pub.pem'],
    ['model.blake3.sig', 'p256.pub.pem'],
    ['pos-legacy-rawbytes.sig', 'p256.pub.pem'],
    ['pos-resigned-independent.sig', 'p256.pub.pem'],
  ];
  const expected = JSON.parse(readFileSync(join(keyed, 'expected.json'), 'utf8')) as {
    signatures: Record<string, { subject_digest: string }>;
  };
  for (const [sig, pub] of positives) {
    test(`${sig} verifies`, async () => {
      const run = await runCli([
        'verify',
        join(keyed, 'model'),
        '--signature',
        join(keyed, sig),
        '--public-key',
        join(keyed, pub),
        '--json',
      ]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const want = expected.signatures[sig]?.subject_digest;
      if (want !== undefined) assert.equal(run.json<{ digest: string }>().digest, `sha256:${want}`);
    });
  }

  const negatives: [string, string, string][] = [
    ['neg-payload-modified.sig', 'p256.pub.pem', 'SIGNATURE_INVALID'],
    ['neg-subject-inconsistent.sig', 'p256.pub.pem', 'SUBJECT_DIGEST_MISMATCH'],
    ['neg-predicate-type.sig', 'p256.pub.pem', 'PREDICATE_TYPE_MISMATCH'],
    ['neg-payload-type.sig', 'p256.pub.pem', 'SIGNATURE_INVALID'],
    ['neg-payload-type-pae-intoto.sig', 'p256.pub.pem', 'PAYLOAD_TYPE_MISMATCH'],
    ['neg-media-type.sig', 'p256.pub.pem', 'MEDIA_TYPE_UNSUPPORTED'],
    ['model.sig', 'other-p256.pub.pem', 'KEY_MISMATCH'],
    ['model.p384.sig', 'p256.pub.pem', 'KEY_MISMATCH'],
  ];
  for (const [sig, pub, code] of negatives) {
    test(`${sig} with ${pub} fails with ${code}`, async () => {
      const run = await runCli([
        'verify',
        join(keyed, 'model'),
        '--signature',
        join(keyed, sig),
        '--public-key',
        join(keyed, pub),
        '--json',
      ]);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.equal(run.json<ErrorJson>().error.code, code);
    });
  }

  test('certificate mode: model.cert.sig chains to the upstream test root', async (t) => {
    const shared = requireShared(t);
    if (shared === undefined) return;
    const certs = join(shared, 'oms-keyed', 'upstream-certs');
    const ok = await runCli([
      'verify',
      join(keyed, 'model'),
      '--signature',
      join(keyed, 'model.cert.sig'),
      '--certificate-chain',
      join(certs, 'ca-cert.pem'),
      '--json',
    ]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(ok.json<{ signer: { kind: string } }>().signer.kind, 'certificate');
    const asKey = await runCli([
      'verify',
      join(keyed, 'model'),
      '--signature',
      join(keyed, 'model.cert.sig'),
      '--public-key',
      join(certs, 'signing-key-pub.pem'),
      '--json',
    ]);
    assert.equal(asKey.code, 1);
    assert.equal(asKey.json<ErrorJson>().error.code, 'VERIFICATION_MATERIAL_MISMATCH');
    const wrongRoot = await runCli([
      'verify',
      join(keyed, 'model'),
      '--signature',
      join(keyed, 'model.cert.sig'),
      '--certificate-chain',
      join(certs, 'int-ca-cert.pem'),
      '--json',
    ]);
    assert.equal(
      wrongRoot.code,
      1,
      'an intermediate given as root must not anchor a chain it does not end',
    );
  });

  test('certificate mode signing round trip with the upstream test PKI', async (t) => {
    const shared = requireShared(t);
    if (shared === undefined) return;
    const certs = join(shared, 'oms-keyed', 'upstream-certs');
    const model = copyKeyedModel(t);
    const sign = await runCli([
      'sign',
      model,
      '--private-key',
      join(certs, 'signing-key.pem'),
      '--certificate',
      join(certs, 'signing-key-cert.pem'),
      '--certificate-chain',
      join(certs, 'int-ca-cert.pem'),
    ]);
    assert.equal(sign.code, 0, sign.stderr);
    const verify = await runCli([
      'verify',
      model,
      '--certificate-chain',
      join(certs, 'ca-cert.pem'),
      '--json',
    ]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  test('upstream historical key and certificate vectors verify with the model files', async (t) => {
    const shared = requireShared(t);
    if (shared === undefined) return;
    const up = join(shared, 'oms-upstream');
    const pub = join(up, 'keys', 'signing-key-pub.pem');
    const ca = join(up, 'keys', 'ca-cert.pem');
    const cases: [string, string[]][] = [
      ['v0.3.1-elliptic-key', [join(up, 'v0.3.1-elliptic-key', 'signme-1'), '--public-key', pub]],
      ['v1.0.0-elliptic-key', [join(up, 'v1.0.0-elliptic-key', 'signme-1'), '--public-key', pub]],
      [
        'v1.0.1-elliptic-key',
        [
          join(up, 'v1.0.1-elliptic-key'),
          '--public-key',
          pub,
          '--ignore-paths',
          join(up, 'v1.0.1-elliptic-key', 'ignore-me'),
        ],
      ],
      [
        'v1.1.0-elliptic-key',
        [
          join(up, 'v1.1.0-elliptic-key'),
          '--public-key',
          pub,
          '--ignore-paths',
          join(up, 'v1.1.0-elliptic-key', 'ignore-me'),
        ],
      ],
      ['v0.2.0-certificate', [join(up, 'v0.2.0-certificate'), '--certificate-chain', ca]],
      ['v0.3.1-certificate', [join(up, 'v0.3.1-certificate'), '--certificate-chain', ca]],
      ['v1.0.0-certificate', [join(up, 'v1.0.0-certificate'), '--certificate-chain', ca]],
      [
        'v1.0.1-certificate',
        [
          join(up, 'v1.0.1-certificate'),
          '--certificate-chain',
          ca,
          '--ignore-paths',
          join(up, 'v1.0.1-certificate', 'ignore-me'),
        ],
      ],
      [
        'v1.1.0-certificate',
        [
          join(up, 'v1.1.0-certificate'),
          '--certificate-chain',
          ca,
          '--ignore-paths',
          join(up, 'v1.1.0-certificate', 'ignore-me'),
        ],
      ],
    ];
    const failures: string[] = [];
    for (const [name, args] of cases) {
      const run = await runCli([
        'verify',
        ...args,
        '--signature',
        join(up, name, 'model.sig'),
        '--json',
      ]);
      if (run.code !== 0) failures.push(`${name}: exit ${run.code} ${run.stdout}`);
    }
    assert.deepEqual(failures, []);
  });
});

describe('interoperability with the reference', () => {
  test('signing the interop model with the reference key reproduces its payload bytes', async (t) => {
    const dir = tempDir(t);
    const model = copyKeyedModel(t);
    const sig = join(dir, 'model.sig');
    const run = await runCli([
      'sign',
      model,
      '--private-key',
      join(keyed, 'p256.key.pem'),
      '--signature',
      sig,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const ours = JSON.parse(readFileSync(sig, 'utf8')) as {
      verificationMaterial: { publicKey: { hint: string } };
      dsseEnvelope: { payload: string };
    };
    const theirs = JSON.parse(readFileSync(join(keyed, 'model.sig'), 'utf8')) as typeof ours;
    const payload = Buffer.from(ours.dsseEnvelope.payload, 'base64');
    assert.ok(
      payload.equals(readFileSync(join(keyed, 'payloads', 'model.payload.json'))),
      'payload bytes differ',
    );
    assert.equal(
      ours.verificationMaterial.publicKey.hint,
      theirs.verificationMaterial.publicKey.hint,
    );
    // Same layout as the reference's file: only the (deterministic) signature differs.
    const strip = (b: string): string => b.replace(/"sig":"[^"]*"/, '"sig":""');
    assert.equal(
      strip(readFileSync(sig, 'utf8')),
      strip(readFileSync(join(keyed, 'model.sig'), 'utf8')),
    );
  });

  test('keyless upstream bundles verify offline with exact identity', async (t) => {
    const shared = requireShared(t);
    if (shared === undefined) return;
    const up = join(shared, 'oms-upstream');
    const identity = [
      '--identity',
      'stefanb@us.ibm.com',
      '--identity-provider',
      'https://sigstore.verify.ibm.com/oauth2',
    ];
    for (const v of ['v0.3.1-sigstore', 'v1.0.0-sigstore', 'v1.0.1-sigstore', 'v1.1.0-sigstore']) {
      const ignore =
        v.startsWith('v1.0.1') || v.startsWith('v1.1.0')
          ? ['--ignore-paths', join(up, v, 'ignore-me')]
          : [];
      const run = await runCli([
        'verify',
        join(up, v),
        '--signature',
        join(up, v, 'model.sig'),
        ...identity,
        ...ignore,
        '--json',
      ]);
      assert.equal(run.code, 0, `${v}: ${run.stdout}${run.stderr}`);
      const out = run.json<{ signer: { kind: string; identity: string } }>();
      assert.equal(out.signer.kind, 'keyless');
      assert.equal(out.signer.identity, 'stefanb@us.ibm.com');
    }
    const wrong = await runCli([
      'verify',
      join(up, 'v1.1.0-sigstore'),
      '--signature',
      join(up, 'v1.1.0-sigstore', 'model.sig'),
      '--identity',
      'stefanb@us.ibm.co',
      '--identity-provider',
      'https://sigstore.verify.ibm.com/oauth2',
      '--json',
    ]);
    assert.equal(wrong.code, 1);
    assert.equal(wrong.json<ErrorJson>().error.code, 'IDENTITY_MISMATCH');
  });
});

describe('failed commands change nothing', () => {
  test('a sign that fails leaves no signature file behind', async (t) => {
    const dir = tempDir(t);
    const model = copyKeyedModel(t);
    symlinkSync('weights.bin', join(model, 'link.bin'));
    await runCli(['keygen', '--out', join(dir, 'k.pem')]);
    const run = await runCli(['sign', model, '--private-key', join(dir, 'k.pem'), '--json']);
    assert.equal(run.code, 2);
    assert.equal(run.json<ErrorJson>().error.code, 'MODEL_SYMLINK');
    assert.deepEqual(
      readdirSync(model).filter((n) => n.includes('sig') || n.endsWith('.tmp')),
      [],
    );
  });

  test('keygen refuses to overwrite and leaves the old key intact', async (t) => {
    const dir = tempDir(t);
    const key = join(dir, 'k.pem');
    assert.equal((await runCli(['keygen', '--out', key])).code, 0);
    const before = readFileSync(key);
    const again = await runCli(['keygen', '--out', key, '--json']);
    assert.equal(again.code, 2);
    assert.equal(again.json<ErrorJson>().error.code, 'OUTPUT_EXISTS');
    assert.ok(before.equals(readFileSync(key)));
    assert.deepEqual(readdirSync(dir).sort(), ['k.pem', 'k.pem.pub']);
  });
});

describe('cairn verify names every tampering', () => {
  async function signedCopy(t: TestContext): Promise<{ model: string; pub: string }> {
    const dir = tempDir(t);
    const model = copyKeyedModel(t);
    await runCli(['keygen', '--out', join(dir, 'k.pem')]);
    const s = await runCli(['sign', model, '--private-key', join(dir, 'k.pem')]);
    assert.equal(s.code, 0, s.stderr);
    return { model, pub: join(dir, 'k.pem.pub') };
  }

  test('changed, extra, missing and renamed files are each listed', async (t) => {
    const { model, pub } = await signedCopy(t);
    flipByte(join(model, 'weights.bin'), 1048576);
    writeFileSync(join(model, 'extra.txt'), 'x');
    rmSync(join(model, 'empty.txt'));
    mkdirSync(join(model, 'sub'));
    renameSync(join(model, 'config.json'), join(model, 'sub', 'config.json'));
    const run = await runCli(['verify', model, '--public-key', pub, '--json']);
    assert.equal(run.code, 1);
    const e = run.json<ErrorJson>().error;
    assert.equal(e.code, 'MODEL_MISMATCH');
    assert.deepEqual(e.details?.['extra'], ['extra.txt', 'sub/config.json']);
    assert.deepEqual(e.details?.['missing'], ['config.json', 'empty.txt']);
    assert.deepEqual(
      (e.details?.['changed'] as { name: string }[]).map((c) => c.name),
      ['weights.bin'],
    );

    const human = await runCli(['verify', model, '--public-key', pub]);
    assert.equal(human.code, 1);
    assert.match(human.stderr, /extra: +extra\.txt/);
    assert.match(human.stderr, /missing: +empty\.txt/);
    assert.match(human.stderr, /changed: +weights\.bin/);
  });

  test('--ignore-unsigned-files tolerates extra files but not changed ones', async (t) => {
    const { model, pub } = await signedCopy(t);
    writeFileSync(join(model, 'extra.txt'), 'x');
    assert.equal(
      (await runCli(['verify', model, '--public-key', pub, '--ignore-unsigned-files'])).code,
      0,
    );
    appendFileSync(join(model, 'README.md'), '!');
    assert.equal(
      (await runCli(['verify', model, '--public-key', pub, '--ignore-unsigned-files'])).code,
      1,
    );
  });

  test('--ignore-paths at verify time excludes a file', async (t) => {
    const { model, pub } = await signedCopy(t);
    writeFileSync(join(model, 'extra.txt'), 'x');
    assert.equal(
      (await runCli(['verify', model, '--public-key', pub, '--ignore-paths', 'extra.txt'])).code,
      0,
    );
    assert.equal(
      (
        await runCli([
          'verify',
          model,
          '--public-key',
          pub,
          '--ignore-paths',
          join(model, 'extra.txt'),
        ])
      ).code,
      0,
    );
  });

  test('git files at the root are ignored; a symlink is refused unless allowed', async (t) => {
    const { model, pub } = await signedCopy(t);
    mkdirSync(join(model, '.git'));
    writeFileSync(join(model, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    appendFileSync(join(model, '.gitattributes'), '*.bin filter=lfs\n');
    assert.equal((await runCli(['verify', model, '--public-key', pub])).code, 0);
    symlinkSync('weights.bin', join(model, 'link.bin'));
    const refused = await runCli(['verify', model, '--public-key', pub, '--json']);
    assert.equal(refused.code, 2);
    assert.equal(refused.json<ErrorJson>().error.code, 'MODEL_SYMLINK');
    const allowed = await runCli([
      'verify',
      model,
      '--public-key',
      pub,
      '--allow-symlinks',
      '--json',
    ]);
    assert.equal(allowed.code, 1);
    assert.deepEqual(allowed.json<ErrorJson>().error.details?.['extra'], ['link.bin']);
  });

  test('renaming the model directory does not matter (subject name is informational)', async (t) => {
    const { model, pub } = await signedCopy(t);
    const moved = `${model}-renamed`;
    renameSync(model, moved);
    t.after(() => rmSync(moved, { recursive: true, force: true }));
    assert.equal((await runCli(['verify', moved, '--public-key', pub])).code, 0);
  });

  test('the signature file inside the model is never hashed', async (t) => {
    const { model } = await signedCopy(t);
    assert.ok(readdirSync(model).includes('model.sig'));
    const digest = await runCli(['digest', model]);
    assert.equal(digest.stdout.trim(), readFileSync(join(keyed, 'digest.txt'), 'utf8').trim());
  });
});

describe('cairn inspect and usage errors', () => {
  test('inspect says clearly that nothing is verified', async () => {
    const run = await runCli(['inspect', join(keyed, 'model.sig')]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^UNVERIFIED/);
    assert.match(run.stdout, /https:\/\/model_signing\/signature\/v1\.0/);
    const json = await runCli(['inspect', join(keyed, 'model.sig'), '--json']);
    const claims = json.json<{ verified: boolean; resourceCount: number }>();
    assert.equal(claims.verified, false);
    assert.equal(claims.resourceCount, 11);
  });

  test('verify needs exactly one trust mode', async () => {
    const none = await runCli([
      'verify',
      join(keyed, 'model'),
      '--signature',
      join(keyed, 'model.sig'),
      '--json',
    ]);
    assert.equal(none.code, 2);
    assert.equal(none.json<ErrorJson>().error.code, 'USAGE');
    const two = await runCli([
      'verify',
      join(keyed, 'model'),
      '--signature',
      join(keyed, 'model.sig'),
      '--public-key',
      p256,
      '--identity',
      'a@b.c',
      '--identity-provider',
      'https://x',
    ]);
    assert.equal(two.code, 2);
  });

  test('unknown flags are usage errors with exit 2', async () => {
    const run = await runCli(['digest', join(keyed, 'model'), '--frobnicate']);
    assert.equal(run.code, 2);
    const json = await runCli(['digest', join(keyed, 'model'), '--frobnicate', '--json']);
    assert.equal(json.json<ErrorJson>().error.code, 'USAGE');
  });

  test('reference-style underscore flags are accepted', async () => {
    const run = await runCli([
      'verify',
      join(keyed, 'model'),
      '--signature',
      join(keyed, 'model.sig'),
      '--public_key',
      p256,
    ]);
    assert.equal(run.code, 0, run.stderr);
  });

  test('a truncated bundle is a clear exit-2 error, not a stack trace', async (t) => {
    const dir = tempDir(t);
    const bad = join(dir, 'bad.sig');
    writeFileSync(bad, readFileSync(join(keyed, 'model.sig')).subarray(0, 500));
    const run = await runCli([
      'verify',
      join(keyed, 'model'),
      '--signature',
      bad,
      '--public-key',
      p256,
    ]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^error\[BUNDLE_MALFORMED\]/);
    assert.match(run.stderr, /hint: /);
    assert.doesNotMatch(run.stderr, /at .*\.js:\d+/);
  });
});

describe('cairn verify --policy', () => {
  function policyDir(t: TestContext, key: string): string {
    const dir = tempDir(t);
    writeFileSync(
      join(dir, 'policy.yaml'),
      [
        'apiVersion: cairn.dev/v1alpha1',
        'kind: ModelPolicy',
        'metadata:',
        '  name: staging',
        'spec:',
        '  match:',
        '    repositories: ["team/*"]',
        '    environments: [staging]',
        '  mode: enforce',
        '  signatures:',
        '    - name: release',
        '      anyOf:',
        `        - key: ${key}`,
        '',
      ].join('\n'),
    );
    return dir;
  }
  const hint = 'e0cf4cda27940b22ecd03881987156ca9be52f38afcbfecdf5efc51818117f7e';
  const args = (dir: string): string[] => [
    'verify',
    join(keyed, 'model'),
    '--signature',
    join(keyed, 'model.sig'),
    '--public-key',
    p256,
    '--policy',
    dir,
    '--repository',
    'team/model',
    '--environment',
    'staging',
    '--json',
  ];

  test('a signature by the required key is allowed by the policy', async (t) => {
    const run = await runCli(args(policyDir(t, hint)));
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const out = run.json<{ ok: boolean; verified: boolean; policy: { allowed: boolean } }>();
    assert.equal(out.verified, true);
    assert.equal(out.policy.allowed, true);
  });

  test('a valid signature by a key the policy does not name is denied with exit 1', async (t) => {
    const run = await runCli(args(policyDir(t, 'ab'.repeat(32))));
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const out = run.json<{ ok: boolean; verified: boolean; policy: { allowed: boolean } }>();
    assert.equal(out.verified, true);
    assert.equal(out.ok, false);
    assert.equal(out.policy.allowed, false);
  });
});

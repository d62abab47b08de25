import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { Command, CommanderError } from 'commander';
import {
  registerTrustCommands,
  trustRootVerifyCommand,
  verifyModelWithTrustRoot,
} from '../../src/cli/trust.js';
import type { Io } from '../../src/cli/output.js';
import { toCairnError, type CairnError } from '../../src/errors/index.js';
import {
  fileSigner,
  generateKeyPair,
  keyEntry,
  loadPrivateKey,
  loadPublicKey,
} from '../../src/keys/index.js';
import { signModel } from '../../src/model/index.js';
import { rejectsCode } from '../envelope/fixtures.js';
import { runCli } from '../helpers.js';
import { codeSigningPki } from './x509-builder.js';

const PASSPHRASE = 'correct horse battery staple';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  error?: CairnError;
}

function io(cwd: string, env: NodeJS.ProcessEnv = {}) {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  const value: Io = { stdout: out, stderr: err, env, cwd };
  return {
    io: value,
    text: () => ({
      stdout: Buffer.concat(chunks.out).toString('utf8'),
      stderr: Buffer.concat(chunks.err).toString('utf8'),
    }),
  };
}

/** Runs `cairn trust …` through commander as the CLI's main does (exit code per error kind). */
async function trust(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const { io: value, text } = io(cwd, { CAIRN_KEY_PASSPHRASE: PASSPHRASE, ...env });
  let code = 0;
  const program = new Command('cairn').exitOverride().configureOutput({
    writeOut: (s) => value.stdout.write(s),
    writeErr: (s) => value.stderr.write(s),
  });
  registerTrustCommands(program, value, (c) => {
    code = c;
  });
  let error: CairnError | undefined;
  try {
    await program.parseAsync(['trust', ...args], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) code = 2;
    else {
      error = toCairnError(err);
      code = error.exitCode;
    }
  }
  return { code, ...text(), ...(error === undefined ? {} : { error }) };
}

function workspace(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-trust-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of ['root1', 'root2', 'root3', 'release', 'release2']) {
    const pair = generateKeyPair('ecdsa-p256', PASSPHRASE);
    writeFileSync(join(dir, `${name}.pem`), pair.privateKeyPem, { mode: 0o600 });
    writeFileSync(join(dir, `${name}.pub`), pair.publicKeyPem);
  }
  const model = join(dir, 'model');
  mkdirSync(model);
  writeFileSync(join(model, 'weights.bin'), Buffer.alloc(2048, 5));
  return { dir, model };
}

const ROOT_KEYS = ['--root-key', 'root1.pem', '--root-key', 'root2.pem'];

test('cairn trust: init, add-signer, verify a model, revoke, and the next verification refuses', async (t) => {
  const { dir, model } = workspace(t);
  const init = await trust(dir, [
    'init',
    'root.json',
    '--threshold',
    '2',
    ...ROOT_KEYS,
    '--root-public-key',
    'root3.pub',
  ]);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /\+ root threshold 2 of 3/);

  // One root key is not a threshold: refused, and the file is untouched.
  const before = readFileSync(join(dir, 'root.json'));
  const scope = ['--repository', 'team/*', '--environment', 'staging', '--environment', 'prod-*'];
  const weak = await trust(dir, [
    'add-signer',
    'root.json',
    '--id',
    'release',
    '--public-key',
    'release.pub',
    ...scope,
    '--root-key',
    'root1.pem',
  ]);
  assert.equal(weak.code, 1);
  assert.equal(weak.error?.code, 'TRUST_ROOT_SIGNATURE_INVALID');
  assert.deepEqual(readFileSync(join(dir, 'root.json')), before);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
  );

  const added = await trust(dir, [
    'add-signer',
    'root.json',
    '--id',
    'release',
    '--public-key',
    'release.pub',
    ...scope,
    ...ROOT_KEYS,
    '--json',
  ]);
  assert.equal(added.code, 0, added.stderr);
  const addedJson = JSON.parse(added.stdout) as {
    version: number;
    changes: { sign: string; subject: string }[];
  };
  assert.equal(addedJson.version, 2);
  assert.deepEqual(
    addedJson.changes.map((c) => `${c.sign}${c.subject}`),
    ['+release'],
  );
  copyFileSync(join(dir, 'root.json'), join(dir, 'root.v2.json'));

  // A model signed by the release key verifies against the trust root, in scope.
  const key = loadPrivateKey(readFileSync(join(dir, 'release.pem'), 'utf8'), PASSPHRASE);
  await signModel(model, { signer: fileSigner(key) });
  const flags = {
    trustRoot: 'root.json',
    repository: 'team/llm',
    environment: 'prod-eu',
    ignoreGitPaths: true,
    trustRootState: 'state',
  };
  const ok = await verifyModelWithTrustRoot(io(dir).io, model, flags);
  assert.equal(ok.trustRoot.signer.signerId, 'release');
  assert.equal(ok.trustRoot.version, 2);
  const printed = io(dir);
  assert.equal(await trustRootVerifyCommand(printed.io, model, flags), 0);
  assert.match(printed.text().stdout, /signer: +release \(trust root v2\)/);
  await rejectsCode(
    verifyModelWithTrustRoot(io(dir).io, model, { ...flags, environment: 'production' }),
    'SIGNER_OUT_OF_SCOPE',
  );

  // Revoke, then the very next verification refuses. Timed for docs/trust.md.
  const started = process.hrtime.bigint();
  const revoked = await trust(dir, [
    'revoke',
    'root.json',
    'release',
    '--reason',
    'key leaked',
    '--compromised-since',
    '2026-01-01T00:00:00Z',
    ...ROOT_KEYS,
  ]);
  assert.equal(revoked.code, 0, revoked.stderr);
  const refused = await rejectsCode(
    verifyModelWithTrustRoot(io(dir).io, model, flags),
    'SIGNER_REVOKED',
  );
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.diagnostic(`revoke + refused verification: ${ms.toFixed(1)} ms`);
  assert.equal(refused.exitCode, 1);
  assert.match(revoked.stdout, /- revoke release/);

  // The update chain: v3 is a valid successor of v2; v2 is a rollback from v3.
  const chain = await trust(dir, ['verify', 'root.json', '--previous', 'root.v2.json']);
  assert.equal(chain.code, 0, chain.stderr);
  const back = await trust(dir, ['verify', 'root.v2.json', '--previous', 'root.json']);
  assert.equal(back.error?.code, 'TRUST_ROOT_ROLLBACK');
  assert.equal(back.code, 1);

  const shown = await trust(dir, ['show', 'root.json', '--json']);
  const doc = JSON.parse(shown.stdout) as {
    version: number;
    signers: { id: string; status: string }[];
  };
  assert.equal(doc.version, 3);
  assert.deepEqual(
    doc.signers.map((s) => [s.id, s.status]),
    [['release', 'revoked']],
  );
  const human = await trust(dir, ['show', 'root.json']);
  assert.match(human.stdout, /release {2}\[REVOKED\]/);
});

test('cairn trust rotate: the new key takes over the scopes, the old one ends', async (t) => {
  const { dir, model } = workspace(t);
  assert.equal(
    (await trust(dir, ['init', 'root.json', '--threshold', '1', '--root-key', 'root1.pem'])).code,
    0,
  );
  const add = await trust(dir, [
    'add-signer',
    'root.json',
    '--id',
    'release',
    '--public-key',
    'release.pub',
    '--repository',
    '**',
    '--environment',
    '**',
    '--not-before',
    '2025-01-01T00:00:00Z',
    '--root-key',
    'root1.pem',
  ]);
  assert.equal(add.code, 0, add.stderr);
  const rotated = await trust(dir, [
    'rotate',
    'root.json',
    '--signer',
    'release',
    '--new-id',
    'release-2',
    '--public-key',
    'release2.pub',
    '--old-not-after',
    '2026-06-01T00:00:00Z',
    '--root-key',
    'root1.pem',
  ]);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.match(rotated.stdout, /\+ grant release-2/);
  assert.match(
    rotated.stdout,
    /~ release valid 2025-01-01T00:00:00Z → no end ⇒ 2025-01-01T00:00:00Z → 2026-06-01T00:00:00Z/,
  );
  await signModel(model, {
    signer: fileSigner(loadPrivateKey(readFileSync(join(dir, 'release.pem'), 'utf8'), PASSPHRASE)),
  });
  const flags = { trustRoot: 'root.json', ignoreGitPaths: true, trustRootState: 'state' };
  const before = await verifyModelWithTrustRoot(
    io(dir).io,
    model,
    flags,
    new Date('2026-05-01T00:00:00Z'),
  );
  assert.equal(before.trustRoot.signer.signerId, 'release');
  await rejectsCode(
    verifyModelWithTrustRoot(io(dir).io, model, flags, new Date('2026-07-01T00:00:00Z')),
    'SIGNER_EXPIRED',
  );
});

test('cairn trust rotate --add-root-key/--remove-root-key: needs the old and the new threshold', async (t) => {
  const { dir } = workspace(t);
  const init = await trust(dir, [
    'init',
    'root.json',
    '--threshold',
    '2',
    ...ROOT_KEYS,
    '--root-public-key',
    'root3.pub',
  ]);
  assert.equal(init.code, 0, init.stderr);
  copyFileSync(join(dir, 'root.json'), join(dir, 'root.v1.json'));
  const root1 = keyEntry(loadPublicKey(readFileSync(join(dir, 'root1.pub'), 'utf8'))).keyid;
  const change = [
    'rotate',
    'root.json',
    '--remove-root-key',
    root1,
    '--add-root-key',
    'release2.pub',
  ];
  // The new keys alone (root2 + the added key) are not a threshold of the old root keys.
  const weak = await trust(dir, [
    ...change,
    '--root-key',
    'root2.pem',
    '--root-key',
    'release2.pem',
  ]);
  assert.equal(weak.error?.code, 'TRUST_ROOT_SIGNATURE_INVALID');
  const ok = await trust(dir, [...change, ...ROOT_KEYS, '--root-key', 'release2.pem']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /\+ root key .* may sign the trust root/);
  assert.match(ok.stdout, new RegExp(`- root key ${root1.slice(0, 16)}… removed`));
  assert.equal((await trust(dir, ['verify', 'root.json', '--previous', 'root.v1.json'])).code, 0);
  const both = await trust(dir, [
    'rotate',
    'root.json',
    '--signer',
    'x',
    '--root-threshold',
    '1',
    ...ROOT_KEYS,
  ]);
  assert.equal(both.code, 2);
  const tooHigh = await trust(dir, ['rotate', 'root.json', '--root-threshold', '9', ...ROOT_KEYS]);
  assert.equal(tooHigh.error?.code, 'TRUST_ROOT_CHANGE_INVALID');
});

test('cairn trust: usage errors and unencrypted root keys', async (t) => {
  const { dir } = workspace(t);
  const plain = generateKeyPair('ecdsa-p256');
  writeFileSync(join(dir, 'plain.pem'), plain.privateKeyPem);
  const warned = await trust(dir, [
    'init',
    'root.json',
    '--threshold',
    '1',
    '--root-key',
    'plain.pem',
  ]);
  assert.equal(warned.code, 0);
  assert.match(warned.stderr, /not encrypted/);
  const quiet = await trust(dir, [
    'init',
    'root2.json',
    '--threshold',
    '1',
    '--root-key',
    'plain.pem',
    '--allow-unencrypted-key',
  ]);
  assert.equal(quiet.stderr, '');
  assert.equal(
    (await trust(dir, ['init', 'root.json', '--threshold', '1', '--root-key', 'plain.pem'])).error
      ?.code,
    'OUTPUT_EXISTS',
  );
  assert.equal(
    (await trust(dir, ['init', 'x.json', '--threshold', '2', '--root-key', 'plain.pem'])).error
      ?.code,
    'TRUST_ROOT_INVALID',
  );
  const noScope = await trust(dir, [
    'add-signer',
    'root.json',
    '--id',
    'a',
    '--public-key',
    'release.pub',
    '--root-key',
    'plain.pem',
  ]);
  assert.equal(noScope.code, 2);
  const twoModes = await trust(dir, [
    'add-signer',
    'root.json',
    '--id',
    'a',
    '--public-key',
    'release.pub',
    '--identity',
    'x',
    '--identity-provider',
    'y',
    '--repository',
    '**',
    '--environment',
    '**',
    '--root-key',
    'plain.pem',
  ]);
  assert.equal(twoModes.code, 2);
  const badTime = await trust(dir, [
    'revoke',
    'root.json',
    'a',
    '--reason',
    'r',
    '--compromised-since',
    'yesterday',
    '--root-key',
    'plain.pem',
  ]);
  assert.equal(badTime.code, 2);
  const unknown = await trust(dir, [
    'revoke',
    'root.json',
    'nobody',
    '--reason',
    'r',
    '--compromised-since',
    '2026-01-01T00:00:00Z',
    '--root-key',
    'plain.pem',
  ]);
  assert.equal(unknown.error?.code, 'TRUST_ROOT_CHANGE_INVALID');
  writeFileSync(join(dir, 'garbage.json'), '{"payloadType": 1');
  assert.equal((await trust(dir, ['show', 'garbage.json'])).error?.code, 'TRUST_ROOT_MALFORMED');
});

/** `cairn …` through the real main (commander wiring, exit codes), state kept in the workspace. */
async function cairn(dir: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(args, {
    cwd: dir,
    env: { CAIRN_KEY_PASSPHRASE: PASSPHRASE, CAIRN_STATE_DIR: join(dir, 'state'), ...env },
  });
}

async function rootWithSigners(dir: string, ids: readonly [string, string][]): Promise<void> {
  const init = ['trust', 'init', 'root.json', '--threshold', '1', '--root-key', 'root1.pem'];
  assert.equal((await cairn(dir, init)).code, 0);
  for (const [id, pub] of ids) {
    const added = await cairn(dir, [
      'trust',
      'add-signer',
      'root.json',
      '--id',
      id,
      '--public-key',
      pub,
      '--repository',
      '**',
      '--environment',
      '**',
      '--not-before',
      '2025-01-01T00:00:00Z',
      '--root-key',
      'root1.pem',
    ]);
    assert.equal(added.code, 0, added.stderr);
  }
}

interface ThresholdJson {
  trustRoot: {
    signers: { signerId: string; principal: string }[];
    counted: string[];
    signatures: { ok: boolean; code?: string }[];
  };
}

test('cairn verify --threshold: distinct trust root signers among several bundles', async (t) => {
  const { dir, model } = workspace(t);
  const extra = generateKeyPair('ecdsa-p256', PASSPHRASE);
  writeFileSync(join(dir, 'alice2.pem'), extra.privateKeyPem);
  writeFileSync(join(dir, 'alice2.pub'), extra.publicKeyPem);
  await rootWithSigners(dir, [
    ['alice', 'release.pub'],
    ['bob', 'release2.pub'],
  ]);
  const sign = async (key: string, out: string) => {
    const r = await cairn(dir, ['sign', model, '--private-key', key, '--signature', out]);
    assert.equal(r.code, 0, r.stderr);
  };
  await sign('release.pem', 'a.sig');
  await sign('release.pem', 'a-again.sig');
  await sign('release2.pem', 'b.sig');
  await sign('root2.pem', 'stranger.sig');
  const verify = (sigs: string[], threshold = '2') =>
    cairn(dir, [
      'verify',
      model,
      '--trust-root',
      'root.json',
      ...sigs.flatMap((s) => ['--signature', s]),
      '--threshold',
      threshold,
      '--json',
    ]);
  const code = (r: Awaited<ReturnType<typeof verify>>) =>
    r.json<{ error: { code: string } }>().error.code;

  const ok = await verify(['a.sig', 'b.sig', 'stranger.sig']);
  assert.equal(ok.code, 0, ok.stdout);
  const facts = ok.json<ThresholdJson>().trustRoot;
  assert.deepEqual(
    facts.signers.map((s) => s.signerId),
    ['alice', 'bob'],
  );
  assert.deepEqual(facts.counted, ['alice', 'bob']);
  assert.deepEqual(
    facts.signatures.map((s) => s.code ?? 'ok'),
    ['ok', 'ok', 'SIGNER_UNTRUSTED'],
  );
  const human = await cairn(dir, [
    'verify',
    model,
    '--trust-root',
    'root.json',
    '--signature',
    'a.sig',
    '--signature',
    'b.sig',
    '--threshold',
    '2',
  ]);
  assert.match(human.stdout, /signer: +alice/);
  assert.match(human.stdout, /signer: +bob/);
  assert.match(human.stdout, /threshold: 2 distinct signer\(s\) of 2 required: alice, bob/);

  // The same key twice, or an untrusted key beside it: one signer.
  const twice = await verify(['a.sig', 'a-again.sig', 'a.sig']);
  assert.equal(twice.code, 1);
  assert.equal(code(twice), 'THRESHOLD_NOT_MET');
  assert.equal(code(await verify(['a.sig', 'stranger.sig'])), 'THRESHOLD_NOT_MET');
  assert.equal(code(await verify(['b.sig'], '3')), 'THRESHOLD_NOT_MET');

  // A rotated key and its successor are one signer for thresholds.
  const rotated = await cairn(dir, [
    'trust',
    'rotate',
    'root.json',
    '--signer',
    'alice',
    '--new-id',
    'alice-2',
    '--public-key',
    'alice2.pub',
    '--old-not-after',
    '2099-01-01T00:00:00Z',
    '--root-key',
    'root1.pem',
  ]);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.match(rotated.stdout, /takes over from alice/);
  await sign('alice2.pem', 'a2.sig');
  const sameSigner = await verify(['a.sig', 'a2.sig']);
  assert.equal(code(sameSigner), 'THRESHOLD_NOT_MET');
  const ok2 = await verify(['a2.sig', 'b.sig']);
  assert.deepEqual(ok2.json<ThresholdJson>().trustRoot.counted, ['alice', 'bob']);

  // A changed model fails every bundle alike: that is the error, not the threshold.
  writeFileSync(join(model, 'weights.bin'), 'changed');
  assert.equal(code(await verify(['a.sig', 'b.sig'])), 'MODEL_MISMATCH');

  // Several bundles or --threshold without --trust-root: usage.
  const usage = await cairn(dir, [
    'verify',
    model,
    '--public-key',
    'release.pub',
    '--threshold',
    '2',
  ]);
  assert.equal(usage.code, 2);
});

test('cairn verify --trust-root remembers the highest version and refuses a rollback', async (t) => {
  const { dir, model } = workspace(t);
  await rootWithSigners(dir, [['release', 'release.pub']]);
  assert.equal((await cairn(dir, ['sign', model, '--private-key', 'release.pem'])).code, 0);
  const verify = (env: NodeJS.ProcessEnv = {}, extra: string[] = []) =>
    cairn(dir, ['verify', model, '--trust-root', 'root.json', '--json', ...extra], env);
  const errorOf = (r: Awaited<ReturnType<typeof verify>>) =>
    r.json<{ error: { code: string; details: Record<string, unknown> } }>().error;

  assert.equal((await verify()).code, 0);
  const v2 = readFileSync(join(dir, 'root.json'));
  const [file] = readdirSync(join(dir, 'state', 'trust-roots'));
  const checkpointFile = join(dir, 'state', 'trust-roots', file!);
  assert.equal(statSync(checkpointFile).mode & 0o777, 0o600);
  assert.equal(
    (JSON.parse(readFileSync(checkpointFile, 'utf8')) as { version: number }).version,
    2,
  );

  const revoked = await cairn(dir, [
    'trust',
    'revoke',
    'root.json',
    'release',
    '--reason',
    'leaked',
    '--compromised-since',
    '2026-01-01T00:00:00Z',
    '--root-key',
    'root1.pem',
  ]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(errorOf(await verify()).code, 'SIGNER_REVOKED');
  assert.equal(
    (JSON.parse(readFileSync(checkpointFile, 'utf8')) as { version: number }).version,
    3,
  );

  // The attacker puts the pre-revocation version back: refused, not "release is trusted again".
  writeFileSync(join(dir, 'root.json'), v2);
  const back = await verify();
  assert.equal(back.code, 1);
  assert.equal(errorOf(back).code, 'TRUST_ROOT_ROLLBACK');
  assert.equal(errorOf(back).details['checkpoint'], checkpointFile);
  // Another state directory has not seen v3 (state is per verifier, by design).
  assert.equal((await verify({}, ['--trust-root-state', 'other-state'])).code, 0);

  // Nowhere to remember versions: stop rather than lose the protection.
  const nowhere = await runCli(['verify', model, '--trust-root', 'root.json', '--json'], {
    cwd: dir,
    env: {},
  });
  assert.equal(nowhere.code, 3);
  assert.equal(errorOf(nowhere).code, 'TRUST_ROOT_STATE_UNAVAILABLE');

  // A tampered checkpoint fails closed.
  writeFileSync(checkpointFile, '{"mediaType":"x","version":1}');
  const tampered = await verify();
  assert.equal(tampered.code, 2);
  assert.equal(errorOf(tampered).code, 'TRUST_ROOT_STATE_INVALID');
  assert.deepEqual(
    readdirSync(join(dir, 'state', 'trust-roots')).filter((f) => f.endsWith('.tmp')),
    [],
  );
});

test('certificate identities: the trust root carries the CA roots, subject and issuer match exactly', async (t) => {
  const { dir, model } = workspace(t);
  const { caCert, leaf, leafCert } = codeSigningPki();
  writeFileSync(join(dir, 'ca.pem'), caCert.toString());
  await signModel(model, {
    signer: fileSigner(leaf.privateKey, { certificateChain: [leafCert, caCert] }),
  });
  await rootWithSigners(dir, []);
  const add = (id: string, subject: string, roots: string[]) =>
    cairn(dir, [
      'trust',
      'add-signer',
      'root.json',
      '--id',
      id,
      '--certificate-subject',
      subject,
      '--certificate-issuer',
      leafCert.issuer,
      ...roots.flatMap((r) => ['--certificate-root', r]),
      '--repository',
      '**',
      '--environment',
      '**',
      '--not-before',
      '2025-01-01T00:00:00Z',
      '--root-key',
      'root1.pem',
    ]);
  // A near-miss subject (a prefix of the real one) grants nothing: matching is exact.
  assert.equal((await add('prefix', leafCert.subject.slice(0, -1), ['ca.pem'])).code, 0);
  const verify = () => cairn(dir, ['verify', model, '--trust-root', 'root.json', '--json']);
  const untrusted = await verify();
  assert.equal(untrusted.json<{ error: { code: string } }>().error.code, 'SIGNER_UNTRUSTED');
  const added = await add('release', leafCert.subject, ['ca.pem']);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /under 1 CA root/);
  const ok = await verify();
  assert.equal(ok.code, 0, ok.stdout);
  assert.equal(
    ok.json<{ trustRoot: { signer: { signerId: string } } }>().trustRoot.signer.signerId,
    'release',
  );
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { generateKeyPair } from '../../src/keys/index.js';
import { signModel } from '../../src/model/index.js';
import { runCli, tempDir, type CliRun } from '../helpers.js';
import { testServer } from '../server/harness.js';

/**
 * `cairn pull --trust-root` checks the signed manifest against the SHA-256 each file was verified
 * against while it streamed (no second read of the model), and still refuses a signer the trust
 * root does not list or does not scope to the repository — against a real server.
 */

async function setup(t: TestContext) {
  const s = await testServer(t);
  await s.grant('ci', 'pusher', 'acme/*', 'staging');
  await s.app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(s.app.server.address() as AddressInfo).port}`;
  const dir = tempDir(t);
  const env: NodeJS.ProcessEnv = {
    XDG_CONFIG_HOME: join(dir, 'config'),
    HOME: dir,
    CAIRN_STATE_DIR: join(dir, 'state'),
    CAIRN_TOKEN: 't-ci',
  };
  const cli = (args: string[]): Promise<CliRun> => runCli(args, { env, cwd: dir });
  const repo = await fetch(`${url}/v1/repos`, {
    method: 'POST',
    headers: { authorization: 'Bearer t-admin', 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'acme/llm' }),
  });
  assert.equal(repo.status, 201);
  writeFileSync(join(dir, 'ci.pub'), s.trust.ci.publicKey.export({ type: 'spki', format: 'pem' }));
  const rootKey = generateKeyPair('ecdsa-p256');
  writeFileSync(join(dir, 'root.pem'), rootKey.privateKeyPem);
  /** A trust root listing the CI key as `ci` for `repository`. */
  const trustRoot = async (name: string, repository: string) => {
    const path = join(dir, name);
    const rk = ['--root-key', join(dir, 'root.pem'), '--allow-unencrypted-key'];
    assert.equal((await cli(['trust', 'init', path, '--threshold', '1', ...rk])).code, 0);
    const added = await cli([
      ...['trust', 'add-signer', path, '--id', 'ci', '--public-key', join(dir, 'ci.pub')],
      ...['--repository', repository, '--environment', '**', ...rk],
    ]);
    assert.equal(added.code, 0, added.stderr);
    return path;
  };
  const model = join(dir, 'llm');
  mkdirSync(join(model, 'tokenizer'), { recursive: true });
  writeFileSync(join(model, 'config.json'), '{"name":"llm"}');
  writeFileSync(join(model, 'weights.bin'), randomBytes(300_000));
  writeFileSync(join(model, 'tokenizer', 'vocab.txt'), 'a\nb\n');
  await signModel(model, { signer: s.trust.ci });
  const pushed = await cli(['push', model, 'acme/llm', '--server', url, '--json']);
  assert.equal(pushed.code, 0, pushed.stdout + pushed.stderr);
  const ref = `acme/llm@${pushed.json<{ digest: string }>().digest}`;
  const pull = (out: string, root: string) =>
    cli(['pull', ref, '--out', out, '--trust-root', root, '--server', url, '--json']);
  return { dir, model, trustRoot, pull };
}

function errorCode(run: CliRun): string {
  return run.json<{ error: { code: string } }>().error.code;
}

test('pull --trust-root verifies the streamed digests against a trusted, in-scope signature', async (t) => {
  const { dir, model, trustRoot, pull } = await setup(t);
  const root = await trustRoot('trust.json', 'acme/*');
  const ok = await pull('pulled', root);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  const summary = ok.json<{ verification: string; files: number }>();
  assert.equal(summary.verification, 'streamed');
  assert.equal(summary.files, 3);
  for (const name of ['config.json', 'weights.bin', 'tokenizer/vocab.txt']) {
    assert.deepEqual(readFileSync(join(dir, 'pulled', name)), readFileSync(join(model, name)));
  }
});

test('pull --trust-root refuses a signer out of scope or not listed, and leaves nothing', async (t) => {
  const { dir, trustRoot, pull } = await setup(t);
  const elsewhere = await pull('scoped', await trustRoot('other.json', 'other/*'));
  assert.equal(elsewhere.code, 1, elsewhere.stdout);
  assert.equal(errorCode(elsewhere), 'SIGNER_OUT_OF_SCOPE');
  assert.equal(existsSync(join(dir, 'scoped')), false);

  const empty = join(dir, 'empty.json');
  const rk = ['--root-key', join(dir, 'root.pem'), '--allow-unencrypted-key'];
  assert.equal((await runCli(['trust', 'init', empty, '--threshold', '1', ...rk])).code, 0);
  const unlisted = await pull('unlisted', empty);
  assert.equal(unlisted.code, 1, unlisted.stdout);
  assert.equal(errorCode(unlisted), 'SIGNER_UNTRUSTED');
  assert.equal(existsSync(join(dir, 'unlisted')), false);
});

import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { keyed, runCli, tempDir } from '../helpers.js';
import {
  startServe as serve,
  stopServe as stop,
  type ServeProcess as Served,
} from '../server/serve-process.js';
import { startRegistry } from '../store/registry-server.js';

/**
 * `cairn serve` as users run it: the real binary on its embedded default (SQLite + filesystem
 * blobs under --data-dir) and with `--blobs oci://…` against a real docker-registry, driven by
 * the real client commands (token in CAIRN_TOKEN, never argv).
 */

/** A model signed with the committed test key, in a fresh directory. */
function signedModel(t: TestContext): { model: string; pub: string } {
  const dir = tempDir(t);
  const model = join(dir, 'model');
  cpSync(join(keyed, 'model'), model, { recursive: true });
  return { model, pub: join(keyed, 'p256.pub.pem') };
}

async function pushAndPull(t: TestContext, s: Served, token: string): Promise<void> {
  const env = { CAIRN_TOKEN: token, CAIRN_SERVER: s.url, HOME: tempDir(t) };
  const created = await fetch(`${s.url}/v1/repos`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'acme/llm' }),
  });
  assert.equal(created.status, 201);
  const { model, pub } = signedModel(t);
  const signed = await runCli(
    ['sign', model, '--private-key', join(keyed, 'p256.key.pem'), '--allow-unencrypted-key'],
    { env },
  );
  assert.equal(signed.code, 0, signed.stderr);
  const pushed = await runCli(['push', model, 'acme/llm:rc1', '--json'], { env });
  assert.equal(pushed.code, 0, pushed.stderr);
  const digest = pushed.json<{ digest: string }>().digest;
  assert.match(digest, /^sha256:[0-9a-f]{64}$/);
  const out = join(tempDir(t), 'pulled');
  const pulled = await runCli(['pull', `acme/llm@${digest}`, '--out', out, '--public-key', pub], {
    env,
  });
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.deepEqual(
    readFileSync(join(out, 'config.json')),
    readFileSync(join(model, 'config.json')),
  );
  for (const run of [signed, pushed, pulled]) {
    assert.ok(!run.stdout.includes(token) && !run.stderr.includes(token), 'token printed');
  }
}

test('cairn serve on its embedded default: token once, push, pull, clean stop, restart keeps data', async (t) => {
  const data = join(tempDir(t), 'data');
  const first = await serve(t, ['--data-dir', data]);
  assert.ok(first.token !== undefined, 'the first start prints a bootstrap admin token');
  assert.equal((await fetch(`${first.url}/readyz`)).status, 200);
  await pushAndPull(t, first, first.token);
  assert.ok(!first.stderr().includes(first.token), 'the token is never logged');
  assert.equal(await stop(first), 0);
  assert.ok(existsSync(join(data, 'cairn.sqlite')));

  const second = await serve(t, ['--data-dir', data]);
  assert.equal(second.token, undefined, 'no second bootstrap token once an admin exists');
  const who = await fetch(`${second.url}/v1/whoami`, {
    headers: { authorization: `Bearer ${first.token}` },
  });
  assert.equal(who.status, 200, 'the first token still works after a restart');
  const list = await runCli(['tags', 'acme/llm', '--json'], {
    env: { CAIRN_TOKEN: first.token, CAIRN_SERVER: second.url, HOME: tempDir(t) },
  });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /rc1/);
  assert.equal(await stop(second), 0);
});

test('cairn serve --blobs oci://… stores blobs in a real OCI registry', async (t) => {
  const registry = await startRegistry(t);
  if (registry === undefined) return;
  const s = await serve(t, ['--data-dir', join(tempDir(t), 'data'), '--blobs', registry.url]);
  assert.ok(s.token !== undefined);
  const ready = (await (await fetch(`${s.url}/readyz`)).json()) as Record<string, unknown>;
  assert.equal(ready['blobs'], 'oci');
  await pushAndPull(t, s, s.token);
  // With the registry down, reads fail closed rather than serving anything.
  await registry.stop();
  assert.equal((await fetch(`${s.url}/readyz`)).status, 503);
  assert.equal(await stop(s), 0);
});

test('cairn serve refuses a blob URL that is not oci://', async () => {
  const run = await runCli(['serve', '--blobs', 'http://example.test/x', '--json']);
  assert.equal(run.code, 2);
  assert.equal(run.json<{ error: { code: string } }>().error.code, 'USAGE');
});

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  credentialsPath,
  normaliseServerUrl,
  resolveServer,
  saveCredential,
} from '../../src/cli/credentials.js';
import { parseReference } from '../../src/cli/reference.js';
import { serverError } from '../../src/cli/registry-client.js';
import { runCli, tempDir } from '../helpers.js';

const TOKEN = 'cairn_abc123_supersecretvalue';
const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** A port on which nothing listens (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}

function io(env: NodeJS.ProcessEnv) {
  return { stdout: process.stdout, stderr: process.stderr, env, cwd: '/' };
}

test('references: digest and tag forms, checked with the registry name rules', () => {
  assert.deepEqual(parseReference(`team/model@${DIGEST}`), {
    kind: 'digest',
    repository: 'team/model',
    digest: DIGEST,
  });
  assert.deepEqual(parseReference('team/model:rc-1'), {
    kind: 'tag',
    repository: 'team/model',
    tag: 'rc-1',
  });
  assert.deepEqual(parseReference('team/model', true), { kind: 'bare', repository: 'team/model' });
  for (const bad of [
    'team/model',
    'team/model@sha256:abc',
    `../etc@${DIGEST}`,
    `Team/Model@${DIGEST}`,
    'team/model:-x',
    `@${DIGEST}`,
  ]) {
    assert.throws(() => parseReference(bad), { code: 'USAGE' }, bad);
  }
});

test('server URLs: one canonical spelling; credentials, queries and other schemes refused', () => {
  assert.equal(normaliseServerUrl('http://127.0.0.1:8470/'), 'http://127.0.0.1:8470');
  assert.equal(normaliseServerUrl('127.0.0.1:8470'), 'http://127.0.0.1:8470');
  assert.equal(normaliseServerUrl('https://cairn.example/base/'), 'https://cairn.example/base');
  for (const bad of ['ftp://x', 'http://u:p@x', 'http://x/?a=1', 'http://x/#f']) {
    assert.throws(() => normaliseServerUrl(bad), { code: 'USAGE' }, bad);
  }
});

test('credentials: 0600 file in a 0700 directory, one entry per server, env token wins', (t) => {
  const home = tempDir(t);
  const env = { XDG_CONFIG_HOME: join(home, 'config') };
  const entry = { kind: 'api-token' as const, issuer: 'cairn:api-token', subject: 'ci' };
  const path = saveCredential(io(env), 'http://a:1', {
    ...entry,
    token: 'cairn_one',
    savedAt: new Date().toISOString(),
  });
  saveCredential(io(env), 'http://b:2', { ...entry, token: 'cairn_two', savedAt: 'now' });
  assert.equal(path, credentialsPath(io(env)));
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(join(home, 'config', 'cairn')).mode & 0o777, 0o700);
  assert.equal(resolveServer(io(env), 'http://a:1').token, 'cairn_one');
  // The last login is the default server.
  assert.deepEqual(resolveServer(io(env), undefined), {
    server: 'http://b:2',
    token: 'cairn_two',
    source: 'credentials',
  });
  assert.equal(
    resolveServer(io({ ...env, CAIRN_TOKEN: 'cairn_env' }), 'http://a:1').token,
    'cairn_env',
  );
  assert.throws(() => resolveServer(io(env), 'http://c:3'), { code: 'CREDENTIALS_MISSING' });
  assert.throws(() => resolveServer(io({}), undefined), { code: 'CREDENTIALS_MISSING' });
});

test('credentials: a tampered file is CREDENTIALS_INVALID, never used', (t) => {
  const home = tempDir(t);
  const env = { XDG_CONFIG_HOME: home };
  mkdirSync(join(home, 'cairn'));
  writeFileSync(
    join(home, 'cairn', 'credentials.json'),
    JSON.stringify({ version: 1, servers: { 'http://a:1': { token: 'has space' } } }),
  );
  assert.throws(() => resolveServer(io(env), 'http://a:1'), { code: 'CREDENTIALS_INVALID' });
});

test('server errors come back as the CairnError the server raised, unknown codes as REGISTRY_REQUEST_FAILED', () => {
  const known = serverError(404, {
    ok: false,
    error: {
      code: 'REPOSITORY_NOT_FOUND',
      message: 'no',
      hint: 'server hint',
      details: { tag: 'x' },
    },
  });
  assert.equal(known.code, 'REPOSITORY_NOT_FOUND');
  assert.equal(known.exitCode, 2);
  assert.equal(known.hint, 'server hint');
  assert.equal(known.details?.['tag'], 'x');
  const unknown = serverError(418, { ok: false, error: { code: 'TEAPOT', message: 'short' } });
  assert.equal(unknown.code, 'REGISTRY_REQUEST_FAILED');
  assert.equal(unknown.exitCode, 3);
  assert.equal(unknown.details?.['serverCode'], 'TEAPOT');
  assert.equal(serverError(502, 'not json').code, 'REGISTRY_REQUEST_FAILED');
  // Refusals without a body (a HEAD answer) are still named for what they are.
  const denied = serverError(403, undefined);
  assert.equal(denied.code, 'ACCESS_DENIED');
  assert.equal(denied.details?.['httpStatus'], 403);
  assert.equal(serverError(401, undefined).code, 'AUTH_REQUIRED');
  // An unknown code in a body is kept as the server's, whatever the status.
  assert.equal(serverError(403, { error: { code: 'TEAPOT' } }).code, 'REGISTRY_REQUEST_FAILED');
});

test('a server that is down is REGISTRY_UNREACHABLE, exit 3, and the token is never printed', async (t) => {
  const port = await closedPort();
  const home = tempDir(t);
  const env = { XDG_CONFIG_HOME: home, CAIRN_TOKEN: TOKEN };
  for (const args of [
    ['login', `http://127.0.0.1:${port}`],
    ['whoami', '--server', `http://127.0.0.1:${port}`],
    ['tags', 'team/model', '--server', `http://127.0.0.1:${port}`],
    [
      'promote',
      `team/model@${DIGEST}`,
      '--from',
      'staging',
      '--to',
      'production',
      '--server',
      `http://127.0.0.1:${port}`,
    ],
  ]) {
    const run = await runCli([...args, '--json'], { env });
    assert.equal(run.code, 3, run.stdout + run.stderr);
    assert.equal(run.json<{ error: { code: string } }>().error.code, 'REGISTRY_UNREACHABLE');
    assert.ok(!run.stdout.includes(TOKEN) && !run.stderr.includes(TOKEN));
    const human = await runCli(args, { env });
    assert.match(human.stderr, /error\[REGISTRY_UNREACHABLE\]/);
    assert.ok(!human.stdout.includes(TOKEN) && !human.stderr.includes(TOKEN));
  }
  assert.throws(() => readFileSync(join(home, 'cairn', 'credentials.json')), { code: 'ENOENT' });
});

test('pull refuses before any request: an existing --out, or no trust to verify with', async (t) => {
  const dir = tempDir(t);
  const env = { XDG_CONFIG_HOME: dir, CAIRN_TOKEN: TOKEN };
  const noTrust = await runCli(
    [
      'pull',
      `team/model@${DIGEST}`,
      '--out',
      join(dir, 'm'),
      '--server',
      'http://127.0.0.1:1',
      '--json',
    ],
    { env },
  );
  assert.equal(noTrust.code, 2);
  assert.equal(noTrust.json<{ error: { code: string } }>().error.code, 'USAGE');
  const exists = await runCli(
    [
      'pull',
      `team/model@${DIGEST}`,
      '--out',
      dir,
      '--public-key',
      'x.pem',
      '--server',
      'http://127.0.0.1:1',
      '--json',
    ],
    { env },
  );
  assert.equal(exists.code, 2);
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { signModel } from '../../src/model/index.js';
import { repoRoot, runCli, tempDir, type CliRun } from '../helpers.js';
import { testServer, type TestServer } from '../server/harness.js';

/**
 * The registry client commands against a real server: `buildServer` on 127.0.0.1:0 over real
 * SQLite and filesystem stores (the server's test harness), driven through the CLI — in-process
 * with `runCli`, and as the real binary where stdin matters (login).
 */

const CLI = join(repoRoot, 'bin', 'cairn.js');

interface Env {
  readonly s: TestServer;
  readonly url: string;
  readonly dir: string;
  readonly config: string;
  readonly publicKey: string;
  /** Every CLI run, so the test can check no token was ever printed. */
  readonly runs: CliRun[];
}

async function listen(s: TestServer): Promise<string> {
  await s.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = s.app.server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

async function setup(t: TestContext): Promise<Env> {
  const s = await testServer(t);
  await s.grant('ci', 'pusher', 'acme/*', 'staging');
  await s.grant('promoter', 'promoter', 'acme/*', 'production');
  await s.grant('deployer', 'deployer', 'acme/*', 'production');
  const url = await listen(s);
  const dir = tempDir(t);
  const config = join(dir, 'config');
  const publicKey = join(dir, 'ci.pub');
  writeFileSync(publicKey, s.trust.ci.publicKey.export({ type: 'spki', format: 'pem' }));
  const e: Env = { s, url, dir, config, publicKey, runs: [] };
  const created = await cli(e, 'admin', ['whoami', '--server', url, '--json']);
  assert.equal(created.code, 0, created.stderr);
  const repo = await fetch(`${url}/v1/repos`, {
    method: 'POST',
    headers: { authorization: 'Bearer t-admin', 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'acme/llm' }),
  });
  assert.equal(repo.status, 201);
  return e;
}

/** Runs the CLI as `who` (token in CAIRN_TOKEN, never argv). */
async function cli(e: Env, who: string | undefined, args: string[]): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = {
    XDG_CONFIG_HOME: e.config,
    HOME: e.dir,
    CAIRN_STATE_DIR: join(e.dir, 'state'),
    ...(who === undefined ? {} : { CAIRN_TOKEN: `t-${who}` }),
  };
  const run = await runCli(args, { env, cwd: e.dir });
  e.runs.push(run);
  return run;
}

/** `cairn pull REF --out OUT --json` as `who` with the CI key; `extra` flags override. */
function pull(e: Env, who: string, ref: string, out: string, extra: string[] = []) {
  return cli(e, who, [
    ...['pull', ref, '--out', out, '--public-key', e.publicKey, '--server', e.url],
    ...extra,
    '--json',
  ]);
}

/** `cairn promote REF --from staging --to production` as the promoter. */
function promote(e: Env, ref: string, extra: string[] = []) {
  return cli(e, 'promoter', [
    ...['promote', ref, '--from', 'staging', '--to', 'production', '--server', e.url],
    ...extra,
  ]);
}

function errorCode(run: CliRun): string {
  return run.json<{ error: { code: string } }>().error.code;
}

/** A signed model directory: config, weights of `weightBytes`, a nested file. */
async function signedModel(
  e: Env,
  name: string,
  weightBytes = 300_000,
  sign = true,
): Promise<string> {
  const model = join(e.dir, name);
  mkdirSync(join(model, 'tokenizer'), { recursive: true });
  writeFileSync(join(model, 'config.json'), JSON.stringify({ name }));
  writeFileSync(join(model, 'weights.bin'), randomBytes(weightBytes));
  writeFileSync(join(model, 'tokenizer', 'vocab.txt'), `a\nb\n${name}\n`);
  if (sign) await signModel(model, { signer: e.s.trust.ci });
  return model;
}

function assertSameFiles(a: string, b: string): void {
  for (const name of ['config.json', 'weights.bin', 'tokenizer/vocab.txt']) {
    assert.deepEqual(readFileSync(join(a, name)), readFileSync(join(b, name)), name);
  }
}

/** Nothing beside `out`: neither the directory nor a leftover temporary one. */
function assertNothingAt(parent: string, out: string): void {
  assert.equal(existsSync(join(parent, out)), false, `${out} exists`);
  assert.deepEqual(
    readdirSync(parent).filter((n) => n.includes(`${out}.pull-`)),
    [],
    'temporary pull directories left behind',
  );
}

function spawnCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  stdin: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/**
 * A TCP proxy in front of the server that misbehaves once: `cut` drops the connection part-way
 * through the first PATCH body; `corrupt` flips the first body byte of every blob download.
 */
const CUT_AFTER = 300 * 1024;

async function proxy(
  t: TestContext,
  target: string,
  mode: 'cut' | 'corrupt',
): Promise<{ url: string; fired: () => boolean }> {
  const { port } = new URL(target);
  let cutDone = false;
  let corrupted = false;
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    const upstream = connect(Number(port), '127.0.0.1');
    sockets.push(client, upstream);
    let patchBytes = -1;
    let corruptNext = false;
    client.on('data', (chunk: Buffer) => {
      const head = chunk.toString('latin1', 0, 200);
      if (mode === 'cut' && !cutDone && head.startsWith('PATCH ')) patchBytes = 0;
      if (mode === 'corrupt' && head.startsWith('GET ') && head.includes('/blobs/sha256')) {
        corruptNext = true;
      }
      if (patchBytes >= 0) {
        const before = patchBytes;
        patchBytes += chunk.length;
        if (patchBytes > CUT_AFTER) {
          cutDone = true;
          patchBytes = -1;
          upstream.write(chunk.subarray(0, CUT_AFTER - before), () => {
            client.destroy();
            upstream.destroy();
          });
          return;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (corruptNext) {
        const end = chunk.indexOf('\r\n\r\n');
        if (end !== -1 && end + 4 < chunk.length) {
          chunk[end + 4] = chunk[end + 4]! ^ 0xff;
          corruptNext = false;
          corrupted = true;
        }
      }
      client.write(chunk);
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    fired: () => cutDone || corrupted,
  };
}

interface Stored {
  default?: string;
  servers: Record<string, { token: string; subject: string }>;
}

test('login reads the token from stdin (real binary), verifies it, stores it 0600; logout forgets it', async (t) => {
  const e = await setup(t);
  const env = { XDG_CONFIG_HOME: e.config, HOME: e.dir, PATH: process.env['PATH'] ?? '' };
  const bad = await spawnCli(['login', e.url, '--json'], env, 'not-a-valid-token\n');
  assert.equal(bad.code, 2, bad.stderr);
  assert.equal((JSON.parse(bad.stdout) as { error: { code: string } }).error.code, 'AUTH_REQUIRED');
  assert.equal(existsSync(join(e.config, 'cairn', 'credentials.json')), false);

  const ok = await spawnCli(['login', `${e.url}/`, '--json'], env, 't-ci\n');
  assert.equal(ok.code, 0, ok.stderr);
  const out = JSON.parse(ok.stdout) as { identity: unknown };
  assert.deepEqual(out.identity, { issuer: 'test', subject: 'ci' });
  assert.ok(!ok.stdout.includes('t-ci') && !ok.stderr.includes('t-ci'));
  const path = join(e.config, 'cairn', 'credentials.json');
  const read = () => JSON.parse(readFileSync(path, 'utf8')) as Stored;
  const stored = read();
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(stored.default, e.url);
  assert.equal(stored.servers[e.url]?.token, 't-ci');

  // The stored login is the default server and token.
  const who = await cli(e, undefined, ['whoami', '--json']);
  assert.equal(who.code, 0, who.stderr);
  assert.equal(who.json<{ identity: { subject: string } }>().identity.subject, 'ci');

  const fromFile = join(e.dir, 'token');
  writeFileSync(fromFile, 't-promoter\n');
  assert.equal((await cli(e, undefined, ['login', e.url, '--token-file', fromFile])).code, 0);
  assert.equal(read().servers[e.url]?.subject, 'promoter');

  assert.equal((await cli(e, undefined, ['logout', '--json'])).code, 0);
  const after = await cli(e, undefined, ['whoami', '--json']);
  assert.equal(after.code, 2);
  assert.equal(errorCode(after), 'CREDENTIALS_MISSING');
});

test('push dedups blobs, pull verifies and writes atomically, promote prints the decision, tags keep history', async (t) => {
  const e = await setup(t);
  const model = await signedModel(e, 'llm');

  const pushed = await cli(e, 'ci', ['push', model, 'acme/llm:rc1', '--server', e.url, '--json']);
  assert.equal(pushed.code, 0, pushed.stdout + pushed.stderr);
  const p = pushed.json<{
    digest: string;
    created: boolean;
    blobs: { uploaded: number; total: number };
  }>();
  assert.equal(p.created, true);
  assert.deepEqual([p.blobs.uploaded, p.blobs.total], [3, 3]);
  const again = await cli(e, 'ci', ['push', model, 'acme/llm', '--server', e.url, '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.json<{ created: boolean }>().created, false);
  assert.equal(
    again.json<{ blobs: { uploaded: number } }>().blobs.uploaded,
    0,
    'every blob deduplicated',
  );

  // Direct pushes to production are refused for everyone.
  const prod = await cli(e, 'ci', [
    'push',
    model,
    'acme/llm',
    '--environment',
    'production',
    '--server',
    e.url,
    '--json',
  ]);
  assert.equal(prod.code, 1);
  assert.ok(['PUSH_TO_PROTECTED_ENVIRONMENT', 'ACCESS_DENIED'].includes(errorCode(prod)));

  // Pull by digest and by tag (staging is not protected); the result verifies on its own.
  const ref = `acme/llm@${p.digest}`;
  const byDigest = await pull(e, 'ci', ref, 'pulled');
  assert.equal(byDigest.code, 0, byDigest.stdout + byDigest.stderr);
  assertSameFiles(model, join(e.dir, 'pulled'));
  const verify = await cli(e, undefined, [
    'verify',
    join(e.dir, 'pulled'),
    '--public-key',
    e.publicKey,
  ]);
  assert.equal(verify.code, 0, verify.stderr);
  const byTag = await pull(e, 'ci', 'acme/llm:rc1', 'tagged');
  assert.equal(byTag.code, 0, byTag.stdout + byTag.stderr);
  assert.equal(byTag.json<{ digest: string }>().digest, p.digest);

  // The wrong key: nothing appears at --out.
  const stranger = join(e.dir, 'stranger.pub');
  writeFileSync(stranger, e.s.trust.stranger.publicKey.export({ type: 'spki', format: 'pem' }));
  const wrong = await pull(e, 'ci', ref, 'wrong', ['--public-key', stranger]);
  assert.equal(wrong.code, 1);
  assert.equal(errorCode(wrong), 'KEY_MISMATCH');
  assertNothingAt(e.dir, 'wrong');

  // Promotion: allowed (CI-signed, by digest), copied by digest, tagged; the decision printed.
  const promoted = await promote(e, ref, ['--tag', 'prod-current']);
  assert.equal(promoted.code, 0, promoted.stdout + promoted.stderr);
  assert.match(promoted.stdout, /^ALLOW /m);
  assert.match(promoted.stdout, /✓ {2}signatures:ci/);
  const byTagProd = await pull(e, 'deployer', 'acme/llm:prod-current', 'prod-tag', [
    '--environment',
    'production',
  ]);
  assert.equal(byTagProd.code, 1);
  assert.equal(errorCode(byTagProd), 'REFERENCE_NOT_PINNED');
  assertNothingAt(e.dir, 'prod-tag');
  const prodPull = await pull(e, 'deployer', ref, 'prod', ['--environment', 'production']);
  assert.equal(prodPull.code, 0, prodPull.stdout + prodPull.stderr);
  assertSameFiles(model, join(e.dir, 'prod'));

  // An unsigned artifact is denied with every failed requirement and its fix.
  const unsigned = await signedModel(e, 'unsigned', 1000, false);
  const unsignedPush = await cli(e, 'ci', [
    'push',
    unsigned,
    'acme/llm',
    '--server',
    e.url,
    '--json',
  ]);
  assert.equal(unsignedPush.code, 0, unsignedPush.stderr);
  const uref = `acme/llm@${unsignedPush.json<{ digest: string }>().digest}`;
  const denied = await promote(e, uref);
  assert.equal(denied.code, 1, denied.stdout + denied.stderr);
  assert.match(denied.stdout, /^DENY /m);
  assert.match(denied.stdout, /✗ {2}signatures:ci/);
  assert.match(denied.stdout, /fix: /);
  assert.match(denied.stderr, /error\[POLICY_DENIED\]/);
  const deniedJson = await promote(e, uref, ['--json']);
  assert.equal(deniedJson.code, 1);
  const dj = deniedJson.json<{
    ok: boolean;
    decision: { violations: unknown[] };
    error: { code: string };
  }>();
  assert.equal(dj.ok, false);
  assert.equal(dj.error.code, 'POLICY_DENIED');
  assert.ok(dj.decision.violations.length >= 1);
  const unsignedPull = await pull(e, 'ci', uref, 'unsigned-out');
  assert.equal(errorCode(unsignedPull), 'ARTIFACT_UNSIGNED');
  assertNothingAt(e.dir, 'unsigned-out');

  // Tags and their history.
  const tags = await cli(e, 'promoter', [
    'tags',
    'acme/llm',
    '--environment',
    'production',
    '--server',
    e.url,
    '--json',
  ]);
  assert.equal(tags.code, 0, tags.stderr);
  assert.deepEqual(
    tags.json<{ tags: { tag: string; digest: string }[] }>().tags.map((x) => [x.tag, x.digest]),
    [['prod-current', p.digest]],
  );
  const history = await cli(e, 'ci', ['tags', 'acme/llm', '--history', 'rc1', '--server', e.url]);
  assert.equal(history.code, 0, history.stderr);
  assert.match(history.stdout, new RegExp(`rc1: \\(new\\) → ${p.digest}`));

  for (const run of e.runs) {
    for (const token of ['t-promoter', 't-deployer', 't-admin']) {
      assert.ok(!run.stdout.includes(token) && !run.stderr.includes(token), `${token} printed`);
    }
  }
});

test('push resumes from the server-reported offset after a dropped connection', async (t) => {
  const e = await setup(t);
  const model = await signedModel(e, 'big', 2 * 1024 * 1024);
  const flaky = await proxy(t, e.url, 'cut');
  const pushed = await cli(e, 'ci', [
    'push',
    model,
    'acme/llm',
    '--chunk-size',
    '1048576',
    '--server',
    flaky.url,
    '--json',
  ]);
  assert.equal(pushed.code, 0, pushed.stdout + pushed.stderr);
  assert.ok(flaky.fired(), 'the proxy dropped a PATCH part-way');
  const digest = pushed.json<{ digest: string }>().digest;
  const pulled = await pull(e, 'ci', `acme/llm@${digest}`, 'big-out');
  assert.equal(pulled.code, 0, pulled.stdout + pulled.stderr);
  assertSameFiles(model, join(e.dir, 'big-out'));
});

test('pull through a path that alters bytes fails with PULL_DIGEST_MISMATCH and leaves nothing', async (t) => {
  const e = await setup(t);
  const model = await signedModel(e, 'llm');
  const pushed = await cli(e, 'ci', ['push', model, 'acme/llm', '--server', e.url, '--json']);
  assert.equal(pushed.code, 0, pushed.stderr);
  const evil = await proxy(t, e.url, 'corrupt');
  const ref = `acme/llm@${pushed.json<{ digest: string }>().digest}`;
  const pulled = await pull(e, 'ci', ref, 'evil', ['--server', evil.url]);
  assert.ok(evil.fired(), 'the proxy altered a blob');
  assert.equal(pulled.code, 1, pulled.stdout);
  assert.equal(errorCode(pulled), 'PULL_DIGEST_MISMATCH');
  assertNothingAt(e.dir, 'evil');
});

test('audit list, export and verify; an edited, deleted or reordered record is named, exit 1', async (t) => {
  const e = await setup(t);
  const model = await signedModel(e, 'llm');
  assert.equal((await cli(e, 'ci', ['push', model, 'acme/llm:v1', '--server', e.url])).code, 0);

  const list = await cli(e, 'admin', ['audit', 'list', '--server', e.url, '--json']);
  assert.equal(list.code, 0, list.stderr);
  const records = list.json<{ records: { seq: number; action: string }[] }>().records;
  assert.ok(records.some((r) => r.action === 'push'));
  const denied = await cli(e, 'ci', ['audit', 'list', '--server', e.url, '--json']);
  assert.equal(errorCode(denied), 'ACCESS_DENIED');

  const verified = await cli(e, 'admin', ['audit', 'verify', '--server', e.url, '--json']);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  const head = verified.json<{ records: number; head: { seq: number; hash: string } }>();
  assert.equal(head.records, records.length);

  const file = join(e.dir, 'trail.jsonl');
  const exported = await cli(e, 'admin', ['audit', 'export', '--out', file, '--server', e.url]);
  assert.equal(exported.code, 0, exported.stderr);
  const fromFile = await cli(e, undefined, [
    'audit',
    'verify',
    '--file',
    file,
    '--head',
    `${head.head.seq}:${head.head.hash}`,
    '--json',
  ]);
  assert.equal(fromFile.code, 0, fromFile.stdout);

  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.ok(lines.length >= 3);
  const broken = async (name: string, edited: string[], extra: string[] = []) => {
    const path = join(e.dir, name);
    writeFileSync(path, `${edited.join('\n')}\n`);
    const run = await cli(e, undefined, ['audit', 'verify', '--file', path, ...extra, '--json']);
    assert.equal(run.code, 1, run.stdout);
    return run.json<{
      error: { code: string; details: { problem: string; seq: number; line: number } };
    }>().error;
  };
  const edit = JSON.parse(lines[1]!) as Record<string, unknown>;
  edit['decision'] = 'deny';
  const edited = await broken('edited.jsonl', [lines[0]!, JSON.stringify(edit), ...lines.slice(2)]);
  assert.equal(edited.code, 'AUDIT_CHAIN_BROKEN');
  assert.deepEqual(
    [edited.details.problem, edited.details.seq, edited.details.line],
    ['edited', 2, 2],
  );
  const deleted = await broken('deleted.jsonl', [lines[0]!, ...lines.slice(2)]);
  assert.equal(deleted.details.problem, 'missing');
  assert.equal(deleted.details.seq, 3);
  const reordered = await broken('reordered.jsonl', [lines[1]!, lines[0]!, ...lines.slice(2)]);
  assert.ok(['missing', 'reordered', 'unlinked'].includes(reordered.details.problem));
  assert.equal(reordered.details.line, 1);
  const cut = await broken('cut.jsonl', lines.slice(0, -1), [
    '--head',
    `${head.head.seq}:${head.head.hash}`,
  ]);
  assert.equal(cut.details.problem, 'truncated');

  writeFileSync(join(e.dir, 'junk.jsonl'), 'not json\n');
  const junk = await cli(e, undefined, [
    'audit',
    'verify',
    '--file',
    join(e.dir, 'junk.jsonl'),
    '--json',
  ]);
  assert.equal(junk.code, 2);
  assert.equal(errorCode(junk), 'AUDIT_TRAIL_INVALID');
});

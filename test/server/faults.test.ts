import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Registry } from '../../src/registry/index.js';
import { buildServer } from '../../src/server/index.js';
import { openFilesystemBlobStore, openPostgresStore } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';
import { ownPostgres } from '../store/postgres-server.js';
import { actor, bearer, bindingAuth } from './harness.js';
import { startServe, type ServeProcess as Served } from './serve-process.js';

/**
 * Faults the issue names, against real processes: `cairn serve` killed (SIGKILL) in the middle
 * of an upload and started again on the same data directory, and a PostgreSQL restart under a
 * running server.
 */

const REPO = encodeURIComponent('acme/llm');

/** Starts the real binary on `dataDir` (port 0) and reads its JSON startup information. */
function serve(t: TestContext, dataDir: string): Promise<Served> {
  return startServe(t, ['--data-dir', dataDir]);
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function api(
  s: Served,
  token: string,
  method: string,
  path: string,
  body?: Buffer | object,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown>; raw: Buffer }> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined || Buffer.isBuffer(body)
        ? {}
        : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined
      ? {}
      : { body: Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body) }),
  });
  const raw = Buffer.from(await res.arrayBuffer());
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    // HEAD or binary
  }
  return { status: res.status, json, raw };
}

test('cairn serve killed mid-upload: after a restart nothing is half-visible and the upload resumes', async (t) => {
  const dir = tempDir(t);
  const first = await serve(t, dir);
  const token = first.token;
  assert.ok(token !== undefined, 'bootstrap admin token on first start');
  assert.equal((await api(first, token, 'POST', '/v1/repos', { name: 'acme/llm' })).status, 201);

  const bytes = randomBytes(3 * 1024 * 1024);
  const digest = sha256(bytes);
  const half = 1024 * 1024;
  const begin = await api(first, token, 'POST', `/v1/repos/${REPO}/blobs/uploads`);
  assert.equal(begin.status, 201);
  const id = (begin.json['upload'] as { id: string }).id;
  const uploadPath = `/v1/repos/${REPO}/blobs/uploads/${id}`;
  const octet = { 'content-type': 'application/octet-stream' };
  const patched = await api(first, token, 'PATCH', uploadPath, bytes.subarray(0, half), {
    ...octet,
    'upload-offset': '0',
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.json));

  // A second chunk is streaming when the server dies (SIGKILL: no shutdown handler runs).
  const url = new URL(`${first.url}${uploadPath}`);
  const inFlight = httpRequest({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${token}`,
      ...octet,
      'upload-offset': String(half),
      'content-length': String(bytes.length - half),
    },
  });
  const outcome = new Promise<string>((resolve) => {
    inFlight.on('error', (e) => resolve(e.message));
    inFlight.on('response', (r) => resolve(`status ${String(r.statusCode)}`));
  });
  inFlight.write(bytes.subarray(half, half + 512 * 1024));
  await new Promise((r) => setTimeout(r, 300));
  const died = new Promise((resolve) => first.child.on('exit', resolve));
  first.child.kill('SIGKILL');
  await died;
  assert.doesNotMatch(await outcome, /^status 2/, 'the cut chunk was never acknowledged');

  const second = await serve(t, dir);
  assert.equal(second.token, undefined, 'no second bootstrap token');
  const head = await api(second, token, 'HEAD', `/v1/repos/${REPO}/blobs/${digest}`);
  assert.equal(head.status, 404, 'nothing visible under the digest');

  const state = await api(second, token, 'GET', uploadPath);
  let committed: { status: number; json: Record<string, unknown> };
  if (state.status === 200) {
    // Resumable: the server says how many bytes it kept; send the rest and commit.
    const offset = (state.json['upload'] as { offset: number }).offset;
    t.diagnostic(`resumed at offset ${offset} of ${bytes.length}`);
    assert.ok(offset >= half && offset <= half + 512 * 1024, `offset ${offset}`);
    const rest = await api(second, token, 'PATCH', uploadPath, bytes.subarray(offset), {
      ...octet,
      'upload-offset': String(offset),
    });
    assert.equal(rest.status, 200, JSON.stringify(rest.json));
    committed = await api(second, token, 'PUT', `${uploadPath}?digest=${digest}`);
  } else {
    // Or gone cleanly: unknown, and a fresh upload of the whole blob works.
    t.diagnostic('the upload was gone after the restart');
    assert.equal(
      state.json['error'] && (state.json['error'] as { code: string }).code,
      'BLOB_UPLOAD_UNKNOWN',
    );
    const again = await api(second, token, 'POST', `/v1/repos/${REPO}/blobs/uploads`);
    const fresh = `/v1/repos/${REPO}/blobs/uploads/${(again.json['upload'] as { id: string }).id}`;
    await api(second, token, 'PATCH', fresh, bytes, { ...octet, 'upload-offset': '0' });
    committed = await api(second, token, 'PUT', `${fresh}?digest=${digest}`);
  }
  assert.equal(committed.status, 201, JSON.stringify(committed.json));

  // The committed bytes are exactly the blob: push a one-file artifact and read it back.
  const root = `sha256:${createHash('sha256')
    .update(Buffer.from(digest.slice(7), 'hex'))
    .digest('hex')}`;
  const pushed = await api(
    second,
    token,
    'PUT',
    `/v1/repos/${REPO}/envs/staging/artifacts/${root}`,
    {
      resources: [{ name: 'weights.bin', blob: digest, size: bytes.length }],
      serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false },
    },
  );
  assert.equal(pushed.status, 201, JSON.stringify(pushed.json));
  const read = await api(
    second,
    token,
    'GET',
    `/v1/repos/${REPO}/envs/staging/artifacts/${root}/blobs/${digest}`,
  );
  assert.equal(read.status, 200);
  assert.ok(read.raw.equals(bytes), 'the blob is the uploaded bytes');
  const stopped = new Promise((resolve) => second.child.on('exit', resolve));
  second.child.kill('SIGTERM');
  assert.equal(await stopped, 0);
});

test('a PostgreSQL restart: requests fail closed with 503 STORE_UNAVAILABLE, then work again without restarting Cairn', async (t) => {
  const pg = await ownPostgres(t);
  if (pg === undefined) return;
  const metadata = openPostgresStore({ url: pg.url, connectTimeoutMs: 2000 });
  await metadata.migrate();
  const blobs = openFilesystemBlobStore({ root: join(tempDir(t), 'blobs') });
  const registry = new Registry({ metadata, blobs });
  const app = await buildServer({ registry, auth: bindingAuth(metadata) });
  t.after(async () => {
    await app.close();
    await blobs.close();
    await metadata.close();
  });
  await metadata.grantRole({
    subject: actor('admin'),
    role: 'admin',
    repository: '**',
    environment: '*',
    grantedBy: actor('admin'),
    at: new Date(),
  });
  const call = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const res = await app.inject({
      method,
      url,
      headers: bearer('admin'),
      ...(payload === undefined ? {} : { payload }),
    });
    return {
      status: res.statusCode,
      code: res.json<{ error?: { code: string } }>().error?.code,
    };
  };
  assert.equal((await call('POST', '/v1/repos', { name: 'acme/llm' })).status, 201);
  assert.equal((await call('GET', '/readyz')).status, 200);

  pg.stop();
  for (const [method, url, payload] of [
    ['GET', '/readyz', undefined],
    ['GET', `/v1/repos/${REPO}`, undefined],
    ['POST', '/v1/repos', { name: 'acme/other' }],
  ] as const) {
    assert.deepEqual(
      await call(method, url, payload),
      { status: 503, code: 'STORE_UNAVAILABLE' },
      `${method} ${url}`,
    );
  }

  pg.start();
  assert.equal((await call('GET', '/readyz')).status, 200);
  assert.equal((await call('GET', `/v1/repos/${REPO}`)).status, 200);
  assert.equal((await call('POST', '/v1/repos', { name: 'acme/other' })).status, 201);
  // The refused create left nothing behind: it succeeded once, now, and is audited once.
  const creates = (await registry.listAudit()).filter(
    (r) => r.action === 'repository.create' && r.repository === 'acme/other',
  );
  assert.deepEqual(
    creates.map((r) => r.decision),
    ['allow'],
  );
});

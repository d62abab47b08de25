import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { POLICY_API_VERSION } from '../../src/policy/index.js';
import { DEFAULT_ENVIRONMENTS, Registry } from '../../src/registry/index.js';
import { buildServer, createServerAuth, ensureBootstrapAdmin } from '../../src/server/index.js';
import { tempDir } from '../helpers.js';
import { sha256, signatureFor, testModel, type TestModel } from '../registry/fixtures.js';
import { openTestStores } from '../registry/stores.js';
import { bearer, testServer, type TestServer } from './harness.js';

const REPO = encodeURIComponent('acme/llm');

interface Json {
  ok: boolean;
  error?: { code: string; details?: Record<string, unknown> };
  [key: string]: unknown;
}

async function call(
  s: TestServer,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD',
  url: string,
  who: string | undefined,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Json; raw: Buffer }> {
  const res = await s.app.inject({
    method,
    url,
    headers: { ...(who === undefined ? {} : bearer(who)), ...headers },
    ...(body === undefined
      ? {}
      : Buffer.isBuffer(body)
        ? { payload: body }
        : { payload: body as object }),
  });
  const raw = res.rawPayload;
  let json: Json = { ok: false };
  try {
    json = JSON.parse(raw.toString('utf8')) as Json;
  } catch {
    // binary body
  }
  return { status: res.statusCode, json, raw };
}

const OCTET = { 'content-type': 'application/octet-stream' };

async function uploadBlob(s: TestServer, bytes: Buffer, who = 'ci'): Promise<void> {
  const begin = await call(s, 'POST', `/v1/repos/${REPO}/blobs/uploads`, who);
  assert.equal(begin.status, 201, JSON.stringify(begin.json));
  const id = (begin.json['upload'] as { id: string }).id;
  const patch = await call(s, 'PATCH', `/v1/repos/${REPO}/blobs/uploads/${id}`, who, bytes, {
    ...OCTET,
    'upload-offset': '0',
  });
  assert.equal(patch.status, 200, JSON.stringify(patch.json));
  const commit = await call(
    s,
    'PUT',
    `/v1/repos/${REPO}/blobs/uploads/${id}?digest=${sha256(bytes)}`,
    who,
  );
  assert.equal(commit.status, 201, JSON.stringify(commit.json));
}

async function pushModel(s: TestServer, model: TestModel, signatures: string[] = []) {
  for (const bytes of model.files.values()) await uploadBlob(s, bytes);
  return call(s, 'PUT', `/v1/repos/${REPO}/envs/staging/artifacts/${model.digest}`, 'ci', {
    resources: model.resources,
    serialization: model.serialization,
    signatures,
  });
}

async function ready(t: Parameters<typeof testServer>[0]) {
  const s = await testServer(t);
  await s.grant('ci', 'pusher', 'acme/*', 'staging');
  await s.grant('ci', 'signer', 'acme/*');
  await s.grant('promoter', 'promoter', 'acme/*', 'production');
  await s.grant('deployer', 'deployer', 'acme/*', 'production');
  await s.grant('intruder', 'deployer', 'acme/*', 'production');
  await s.grant('reader', 'reader', 'acme/*');
  const created = await call(s, 'POST', '/v1/repos', 'admin', { name: 'acme/llm' });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  return s;
}

test('HTTP vertical slice: upload, push, tag, promote through the policy, protected pull', async (t) => {
  const s = await ready(t);
  const model = testModel();
  const pushed = await pushModel(s, model, [await signatureFor(model, s.trust.ci)]);
  assert.equal(pushed.status, 201, JSON.stringify(pushed.json));

  const tag = await call(s, 'PUT', `/v1/repos/${REPO}/envs/staging/tags/latest`, 'ci', {
    digest: model.digest,
    expected: null,
  });
  assert.equal(tag.status, 200, JSON.stringify(tag.json));
  const byTag = await call(s, 'GET', `/v1/repos/${REPO}/envs/staging/artifacts/latest`, 'reader');
  assert.equal(byTag.status, 200);

  const forbidden = await call(s, 'POST', `/v1/repos/${REPO}/promotions`, 'ci', {
    digest: model.digest,
    from: 'staging',
    to: 'production',
  });
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.json.error?.code, 'ACCESS_DENIED');

  const promoted = await call(s, 'POST', `/v1/repos/${REPO}/promotions`, 'promoter', {
    digest: model.digest,
    from: 'staging',
    to: 'production',
    tag: 'prod-current',
  });
  assert.equal(promoted.status, 200, JSON.stringify(promoted.json));
  assert.equal((promoted.json['decision'] as { outcome: string }).outcome, 'allow');

  const pinned = await call(
    s,
    'GET',
    `/v1/repos/${REPO}/envs/production/artifacts/prod-current`,
    'deployer',
  );
  assert.equal(pinned.status, 403);
  assert.equal(pinned.json.error?.code, 'REFERENCE_NOT_PINNED');
  const reader = await call(
    s,
    'GET',
    `/v1/repos/${REPO}/envs/production/artifacts/${model.digest}`,
    'reader',
  );
  assert.equal(reader.json.error?.code, 'ACCESS_DENIED');
  const intruder = await call(
    s,
    'GET',
    `/v1/repos/${REPO}/envs/production/artifacts/${model.digest}`,
    'intruder',
  );
  assert.equal(intruder.status, 403);
  assert.equal(intruder.json.error?.code, 'POLICY_DENIED');
  const ok = await call(
    s,
    'GET',
    `/v1/repos/${REPO}/envs/production/artifacts/${model.digest}`,
    'deployer',
  );
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  for (const r of model.resources) {
    const blob = await call(
      s,
      'GET',
      `/v1/repos/${REPO}/envs/production/artifacts/${model.digest}/blobs/${r.blob}`,
      'deployer',
    );
    assert.equal(blob.status, 200);
    assert.deepEqual(blob.raw, model.files.get(r.name));
  }
  const direct = await call(
    s,
    'PUT',
    `/v1/repos/${REPO}/envs/production/artifacts/${model.digest}`,
    'admin',
    {
      resources: model.resources,
      serialization: model.serialization,
    },
  );
  assert.equal(direct.status, 403);
  assert.equal(direct.json.error?.code, 'PUSH_TO_PROTECTED_ENVIRONMENT');

  const audit = await call(s, 'GET', '/v1/audit', 'admin');
  const records = audit.json['records'] as { action: string; decision: string }[];
  assert.ok(records.some((r) => r.action === 'promote' && r.decision === 'allow'));
  assert.ok(records.some((r) => r.action === 'retrieve' && r.decision === 'deny'));
  assert.ok(records.some((r) => r.action === 'push' && r.decision === 'deny'));
  assert.equal((await call(s, 'GET', '/v1/audit', 'reader')).status, 403);
});

test('uploads: wrong digest and truncated bytes are refused and leave nothing visible; resume works', async (t) => {
  const s = await ready(t);
  const bytes = Buffer.alloc(100_000, 7);
  const digest = sha256(bytes);
  const begin = async () => {
    const r = await call(s, 'POST', `/v1/repos/${REPO}/blobs/uploads`, 'ci');
    return (r.json['upload'] as { id: string }).id;
  };
  // Truncated: half the bytes, committed under the whole digest.
  const id = await begin();
  await call(s, 'PATCH', `/v1/repos/${REPO}/blobs/uploads/${id}`, 'ci', bytes.subarray(0, 50_000), {
    ...OCTET,
    'upload-offset': '0',
  });
  const truncated = await call(
    s,
    'PUT',
    `/v1/repos/${REPO}/blobs/uploads/${id}?digest=${digest}`,
    'ci',
  );
  assert.equal(truncated.status, 422);
  assert.equal(truncated.json.error?.code, 'BLOB_DIGEST_MISMATCH');
  assert.equal((await call(s, 'HEAD', `/v1/repos/${REPO}/blobs/${digest}`, 'ci')).status, 404);

  // Resumed: first half, ask where it stands, a wrong offset refused, then the rest.
  const id2 = await begin();
  await call(
    s,
    'PATCH',
    `/v1/repos/${REPO}/blobs/uploads/${id2}`,
    'ci',
    bytes.subarray(0, 30_000),
    {
      ...OCTET,
      'upload-offset': '0',
    },
  );
  const state = await call(s, 'GET', `/v1/repos/${REPO}/blobs/uploads/${id2}`, 'ci');
  assert.equal((state.json['upload'] as { offset: number }).offset, 30_000);
  const wrong = await call(
    s,
    'PATCH',
    `/v1/repos/${REPO}/blobs/uploads/${id2}`,
    'ci',
    bytes.subarray(10),
    {
      ...OCTET,
      'upload-offset': '10',
    },
  );
  assert.equal(wrong.status, 409);
  assert.equal(wrong.json.error?.code, 'BLOB_UPLOAD_OFFSET');
  await call(s, 'PATCH', `/v1/repos/${REPO}/blobs/uploads/${id2}`, 'ci', bytes.subarray(30_000), {
    ...OCTET,
    'upload-offset': '30000',
  });
  const committed = await call(
    s,
    'PUT',
    `/v1/repos/${REPO}/blobs/uploads/${id2}?digest=${digest}`,
    'ci',
  );
  assert.equal(committed.status, 201, JSON.stringify(committed.json));
  assert.equal((await call(s, 'HEAD', `/v1/repos/${REPO}/blobs/${digest}`, 'ci')).status, 200);

  // Wrong digest outright.
  const id3 = await begin();
  await call(s, 'PATCH', `/v1/repos/${REPO}/blobs/uploads/${id3}`, 'ci', Buffer.from('other'), {
    ...OCTET,
    'upload-offset': '0',
  });
  const mismatch = await call(
    s,
    'PUT',
    `/v1/repos/${REPO}/blobs/uploads/${id3}?digest=${digest}`,
    'ci',
  );
  assert.equal(mismatch.json.error?.code, 'BLOB_DIGEST_MISMATCH');
});

test('path tricks in repository names are refused before any store is touched', async (t) => {
  const s = await ready(t);
  for (const name of [
    '..',
    '%2e%2e',
    '%2E%2E%2Fetc',
    '%2Fabs',
    'acme%5Cllm',
    'acme%00',
    'Acme%2FLLM',
    'a%2Fb%2Fc%2Fd%2Fe',
    'x'.repeat(300),
  ]) {
    const r = await call(s, 'GET', `/v1/repos/${name}`, 'admin');
    assert.ok([400, 404].includes(r.status), `${name}: ${r.status}`);
    assert.ok(
      ['REPOSITORY_NAME_INVALID', 'ROUTE_NOT_FOUND'].includes(r.json.error?.code ?? ''),
      `${name}: ${JSON.stringify(r.json)}`,
    );
  }
  const bad = await call(s, 'POST', '/v1/repos', 'admin', { name: '../etc' });
  assert.equal(bad.json.error?.code, 'REPOSITORY_NAME_INVALID');
  const listed = await call(s, 'GET', '/v1/repos', 'admin');
  assert.deepEqual(
    (listed.json['repositories'] as { name: string }[]).map((r) => r.name),
    ['acme/llm'],
  );
});

test('errors: no token 401, oversized body 413, malformed JSON 400, unknown route 404', async (t) => {
  const s = await testServer(t, { bodyLimit: 1024 });
  assert.equal((await call(s, 'GET', '/v1/repos', undefined)).json.error?.code, 'AUTH_REQUIRED');
  const big = await call(s, 'POST', '/v1/repos', 'admin', { name: 'a'.repeat(5000) });
  assert.equal(big.status, 413);
  assert.equal(big.json.error?.code, 'REQUEST_TOO_LARGE');
  const malformed = await call(s, 'POST', '/v1/repos', 'admin', Buffer.from('{"name":'), {
    'content-type': 'application/json',
  });
  assert.equal(malformed.status, 400);
  assert.equal(malformed.json.error?.code, 'REQUEST_INVALID');
  const unknown = await call(s, 'GET', '/v1/nothing', 'admin');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error?.code, 'ROUTE_NOT_FOUND');
  const health = await call(s, 'GET', '/healthz', undefined);
  assert.equal(health.status, 200);
  const readyz = await call(s, 'GET', '/readyz', undefined);
  assert.equal(readyz.status, 200);
  const openapi = await call(s, 'GET', '/openapi.json', undefined);
  assert.equal(openapi.json['openapi'], '3.1.0');
  assert.ok('/v1/repos/{repo}/promotions' in (openapi.json['paths'] as object));
});

test('graceful shutdown finishes an upload in flight; the blob appears only on commit', async (t) => {
  const s = await ready(t);
  await s.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (s.app.server.address() as AddressInfo).port;
  const begin = await call(s, 'POST', `/v1/repos/${REPO}/blobs/uploads`, 'ci');
  const id = (begin.json['upload'] as { id: string }).id;
  const bytes = Buffer.alloc(64 * 1024, 3);
  const response = new Promise<number>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'PATCH',
        path: `/v1/repos/${REPO}/blobs/uploads/${id}`,
        headers: {
          ...bearer('ci'),
          ...OCTET,
          'upload-offset': '0',
          'content-length': bytes.length,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.write(bytes.subarray(0, 1000));
    // Close while the body is still coming, then send the rest.
    setTimeout(() => {
      closing = s.app.close();
      setTimeout(() => req.end(bytes.subarray(1000)), 100);
    }, 100);
  });
  let closing: Promise<undefined> | undefined;
  assert.equal(await response, 200);
  await closing;
  const upload = await s.stores.blobs.getUpload(id);
  assert.equal(upload.offset, bytes.length);
  assert.equal(await s.stores.blobs.stat(sha256(bytes)), undefined, 'not visible before commit');
});

test('a blob backend that is down fails closed with 503 STORE_UNAVAILABLE', async (t) => {
  const s = await ready(t);
  const model = testModel();
  assert.equal((await pushModel(s, model)).status, 201);
  // The blob directory becomes a file: every filesystem call under it fails.
  renameSync(join(s.dir, 'blobs'), join(s.dir, 'blobs.gone'));
  writeFileSync(join(s.dir, 'blobs'), 'not a directory');
  const readyz = await call(s, 'GET', '/readyz', undefined);
  assert.equal(readyz.status, 503);
  assert.equal(readyz.json.error?.code, 'STORE_UNAVAILABLE');
  const blob = await call(
    s,
    'GET',
    `/v1/repos/${REPO}/envs/staging/artifacts/${model.digest}/blobs/${model.resources[0]!.blob}`,
    'reader',
  );
  assert.equal(blob.status, 503);
  assert.equal(blob.json.error?.code, 'STORE_UNAVAILABLE');
  const again = await call(
    s,
    'PUT',
    `/v1/repos/${REPO}/envs/staging/artifacts/${testModel('b').digest}`,
    'ci',
    {
      resources: testModel('b').resources,
      serialization: model.serialization,
    },
  );
  assert.equal(again.status, 503);
  assert.equal(again.json.error?.code, 'STORE_UNAVAILABLE');
});

test('with the real auth: bootstrap admin issues a token, grants a role, revokes it', async (t) => {
  const stores = await openTestStores(t, tempDir(t));
  const registry = new Registry({ metadata: stores.metadata, blobs: stores.blobs });
  const app = await buildServer({
    registry,
    auth: createServerAuth({ store: stores.metadata, environments: DEFAULT_ENVIRONMENTS }),
  });
  t.after(() => app.close());
  const boot = await ensureBootstrapAdmin(stores.metadata, { at: new Date() });
  assert.ok(boot !== undefined);
  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  const issued = await app.inject({
    method: 'POST',
    url: '/v1/tokens',
    headers: as(boot.token),
    payload: { subject: 'ci-bot', description: 'CI' },
  });
  assert.equal(issued.statusCode, 201, issued.body);
  const { token, record } = issued.json<{ token: string; record: Record<string, unknown> }>();
  assert.equal('secretHash' in record, false, 'the secret hash is never shown');
  const denied = await app.inject({ method: 'GET', url: '/v1/repos', headers: as(token) });
  assert.equal(denied.statusCode, 200);
  assert.deepEqual(denied.json<{ repositories: unknown[] }>().repositories, []);
  const grant = await app.inject({
    method: 'POST',
    url: '/v1/roles',
    headers: as(boot.token),
    payload: {
      subject: { issuer: 'cairn:api-token', subject: 'ci-bot' },
      role: 'admin',
      repository: '**',
      environment: '*',
    },
  });
  assert.equal(grant.statusCode, 201, grant.body);
  const create = await app.inject({
    method: 'POST',
    url: '/v1/repos',
    headers: as(token),
    payload: { name: 'acme/llm' },
  });
  assert.equal(create.statusCode, 201, create.body);
  const revoke = await app.inject({
    method: 'DELETE',
    url: `/v1/tokens/${String(record['id'])}`,
    headers: as(boot.token),
  });
  assert.equal(revoke.statusCode, 204);
  const after = await app.inject({ method: 'GET', url: '/v1/whoami', headers: as(token) });
  assert.equal(after.statusCode, 401);
  const audit = (await registry.listAudit()).map((r) => r.action);
  assert.ok(
    audit.includes('token.create') &&
      audit.includes('role.grant') &&
      audit.includes('token.revoke'),
  );
});

test('stored exceptions and break-glass grants: admin routes, role checks, TTL cap, applied and audited', async (t) => {
  const s = await ready(t);
  await s.grant('oncall', 'break-glass', 'acme/*', 'production');
  const waived = testModel('waived');
  const glass = testModel('glass');
  for (const m of [waived, glass]) {
    const pushed = await pushModel(s, m, [await signatureFor(m, s.trust.stranger)]);
    assert.equal(pushed.status, 201, JSON.stringify(pushed.json));
  }
  const promote = (m: TestModel, who: string) =>
    call(s, 'POST', `/v1/repos/${REPO}/promotions`, who, {
      digest: m.digest,
      from: 'staging',
      to: 'production',
    });
  assert.equal((await promote(waived, 'promoter')).json.error?.code, 'POLICY_DENIED');

  const now = Date.now();
  const exception = (requirement: string) => ({
    document: {
      apiVersion: POLICY_API_VERSION,
      kind: 'PolicyException',
      metadata: { name: 'vendor-model' },
      spec: {
        policy: 'production',
        requirements: [requirement],
        scope: {
          repositories: ['acme/llm'],
          environments: ['production'],
          digests: [waived.digest],
        },
        owner: 'security',
        justification: 'vendor model signed out of band',
        ticket: 'SEC-42',
        createdAt: new Date(now - 60_000).toISOString(),
        expiresAt: new Date(now + 86_400_000).toISOString(),
      },
    },
  });
  const notAdmin = await call(s, 'POST', '/v1/exceptions', 'promoter', exception('signatures:ci'));
  assert.equal(notAdmin.json.error?.code, 'ACCESS_DENIED');
  const misspelt = await call(s, 'POST', '/v1/exceptions', 'admin', exception('signatures:cj'));
  assert.equal(misspelt.status, 422);
  assert.equal(misspelt.json.error?.code, 'POLICY_INVALID');
  const created = await call(s, 'POST', '/v1/exceptions', 'admin', exception('signatures:ci'));
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const listed = await call(s, 'GET', '/v1/exceptions', 'admin');
  assert.equal((listed.json['exceptions'] as unknown[]).length, 1);

  const allowed = await promote(waived, 'promoter');
  assert.equal(allowed.status, 200, JSON.stringify(allowed.json));
  const decision = allowed.json['decision'] as { exceptions: { name: string; state: string }[] };
  assert.deepEqual(
    decision.exceptions.map((e) => [e.name, e.state]),
    [['vendor-model', 'applied']],
  );
  // The exception names one digest: the other model is still denied.
  assert.equal((await promote(glass, 'promoter')).json.error?.code, 'POLICY_DENIED');

  const request = {
    name: 'inc-7-glass',
    repository: 'acme/llm',
    environment: 'production',
    incident: 'INC-7',
    reason: 'rollback during outage',
    ttlSeconds: 7 * 86400,
  };
  // admin does not imply break-glass; the role is per repository and environment.
  assert.equal(
    (await call(s, 'POST', '/v1/break-glass', 'admin', request)).json.error?.code,
    'ACCESS_DENIED',
  );
  assert.equal(
    (await call(s, 'POST', '/v1/break-glass', 'oncall', { ...request, environment: 'staging' }))
      .json.error?.code,
    'ACCESS_DENIED',
  );
  const granted = await call(s, 'POST', '/v1/break-glass', 'oncall', request);
  assert.equal(granted.status, 201, JSON.stringify(granted.json));
  const grant = granted.json['grant'] as { expiresAt: string; at: string };
  // Asked for a week, capped at the policy's break-glass TTL (default 4 h).
  assert.equal(Date.parse(grant.expiresAt) - Date.parse(grant.at), 4 * 3600 * 1000);

  const byGlass = await promote(glass, 'oncall');
  assert.equal(byGlass.status, 200, JSON.stringify(byGlass.json));
  assert.equal((byGlass.json['decision'] as { outcome: string }).outcome, 'allow-by-break-glass');

  const records = (await s.registry.listAudit()).map((r) => [
    r.action,
    r.decision,
    r.actor.subject,
  ]);
  for (const expected of [
    ['exception.use', 'deny', 'admin'],
    ['exception.use', 'allow', 'admin'],
    ['exception.use', 'allow-with-violations', 'promoter'],
    ['break-glass.grant', 'deny', 'oncall'],
    ['break-glass.grant', 'allow', 'oncall'],
    ['break-glass.use', 'allow-by-break-glass', 'oncall'],
    ['promote', 'allow-by-break-glass', 'oncall'],
  ]) {
    assert.ok(
      records.some((r) => JSON.stringify(r) === JSON.stringify(expected)),
      `audited: ${JSON.stringify(expected)}`,
    );
  }
});

test('blob HEAD answers only for blobs this repository lists: no probing other repositories', async (t) => {
  const s = await ready(t);
  const other = encodeURIComponent('acme/other');
  assert.equal((await call(s, 'POST', '/v1/repos', 'admin', { name: 'acme/other' })).status, 201);
  const model = testModel();
  assert.equal((await pushModel(s, model)).status, 201);
  const head = async (repo: string, blob: string) =>
    (
      await s.app.inject({
        method: 'HEAD',
        url: `/v1/repos/${repo}/blobs/${blob}`,
        headers: bearer('ci'),
      })
    ).statusCode;
  const blob = model.resources[0]!;
  assert.equal(await head(REPO, blob.blob), 200);
  assert.equal(await head(other, blob.blob), 404, 'stored, but not linked to acme/other');
  assert.equal(await head(REPO, sha256(Buffer.from('never uploaded'))), 404);
  // Nor can acme/other push an artifact naming acme/llm's blobs (and then read them).
  const borrowed = await call(
    s,
    'PUT',
    `/v1/repos/${other}/envs/staging/artifacts/${model.digest}`,
    'ci',
    {
      resources: model.resources,
      serialization: model.serialization,
    },
  );
  assert.equal(borrowed.status, 422, JSON.stringify(borrowed.json));
  assert.equal(borrowed.json.error?.code, 'ARTIFACT_INVALID');

  // Uploading the same bytes again proves possession and keeps one stored copy.
  const bytes = model.files.get(blob.name)!;
  const begin = await call(s, 'POST', `/v1/repos/${other}/blobs/uploads`, 'ci');
  const id = (begin.json['upload'] as { id: string }).id;
  await call(s, 'PATCH', `/v1/repos/${other}/blobs/uploads/${id}`, 'ci', bytes, {
    ...OCTET,
    'upload-offset': '0',
  });
  const commit = await call(
    s,
    'PUT',
    `/v1/repos/${other}/blobs/uploads/${id}?digest=${blob.blob}`,
    'ci',
  );
  assert.equal(commit.status, 201, JSON.stringify(commit.json));
  assert.equal(await head(other, blob.blob), 200, 'committed through acme/other: linked');
  assert.equal(await head(other, model.resources[1]!.blob), 404, 'the others still are not');
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { openOciBlobStore, parseOciUrl } from '../../src/store/index.js';
import { blobContract, chunked, digestOf, readAll, uploadBlob } from './blob-contract.js';
import { rejectsWith } from './metadata-contract.js';
import { freePort } from './postgres-server.js';
import { startRegistry } from './registry-server.js';

// Small PATCHes so that every contract case crosses several Content-Range requests.
blobContract('oci (docker-registry)', async (t) => {
  const registry = await startRegistry(t);
  return registry === undefined
    ? undefined
    : openOciBlobStore({ url: registry.url, chunkBytes: 256 * 1024, timeoutMs: 5000 });
});

test('oci: URLs are oci://host[:port]/repository; plain HTTP only for loopback unless asked', () => {
  assert.deepEqual(parseOciUrl('oci://127.0.0.1:5000/cairn/blobs'), {
    base: new URL('http://127.0.0.1:5000/'),
    repository: 'cairn/blobs',
  });
  assert.equal(parseOciUrl('oci://registry.example/cairn').base.protocol, 'https:');
  assert.equal(parseOciUrl('oci://registry.internal/cairn', true).base.protocol, 'http:');
  for (const bad of [
    'http://127.0.0.1/cairn',
    'oci://127.0.0.1:5000/',
    'oci://127.0.0.1/Cairn',
    'oci://127.0.0.1/a/..%2fx',
    'oci://user:pw@127.0.0.1/cairn',
    'oci://127.0.0.1/cairn?x=1',
    'not a url',
  ]) {
    assert.throws(() => parseOciUrl(bad), { code: 'STORE_INPUT_INVALID' }, bad);
  }
});

test('oci: a blob pushed by Cairn is an ordinary registry blob, deduplicated by digest', async (t) => {
  const registry = await startRegistry(t);
  if (registry === undefined) return;
  const store = openOciBlobStore({ url: registry.url });
  const bytes = randomBytes(100_000);
  const info = await uploadBlob(store, bytes);
  const direct = await fetch(
    `http://127.0.0.1:${registry.port}/v2/cairn/blobs/blobs/${info.digest}`,
  );
  assert.equal(direct.status, 200);
  assert.ok(Buffer.from(await direct.arrayBuffer()).equals(bytes));
  assert.deepEqual(await uploadBlob(store, bytes), info);
});

test('oci: the registry down is STORE_UNAVAILABLE (fail closed), and it works again once back', async (t) => {
  const registry = await startRegistry(t);
  if (registry === undefined) return;
  const store = openOciBlobStore({ url: registry.url, timeoutMs: 2000 });
  const bytes = randomBytes(50_000);
  const { digest } = await uploadBlob(store, bytes);
  const upload = await store.beginUpload();
  await store.appendUpload(upload.id, 0, chunked(bytes.subarray(0, 1000)), 1 << 20);

  await registry.stop();
  await rejectsWith(store.ping(), 'STORE_UNAVAILABLE');
  await rejectsWith(store.stat(digest), 'STORE_UNAVAILABLE');
  await rejectsWith(store.open(digest), 'STORE_UNAVAILABLE');
  await rejectsWith(store.beginUpload(), 'STORE_UNAVAILABLE');
  await rejectsWith(
    store.appendUpload(upload.id, 1000, chunked(bytes.subarray(1000)), 1 << 20),
    'STORE_UNAVAILABLE',
  );
  // An upload that failed against a dead backend is discarded whole, never half-committed.
  await rejectsWith(store.getUpload(upload.id), 'BLOB_UPLOAD_UNKNOWN');

  await registry.start();
  await store.ping();
  assert.ok((await readAll(await store.open(digest))).equals(bytes));
  assert.equal(await store.stat(digestOf(bytes.subarray(0, 1000))), undefined);
});

test('oci: nothing listening is STORE_UNAVAILABLE, not a hang', async () => {
  const port = await freePort();
  const store = openOciBlobStore({ url: `oci://127.0.0.1:${port}/cairn`, timeoutMs: 1000 });
  await rejectsWith(store.ping(), 'STORE_UNAVAILABLE');
  await rejectsWith(store.beginUpload(), 'STORE_UNAVAILABLE');
});

test('oci: bytes the registry changed behind Cairn fail the read (BLOB_DIGEST_MISMATCH)', async (t) => {
  const registry = await startRegistry(t);
  if (registry === undefined) return;
  const store = openOciBlobStore({ url: registry.url });
  const bytes = randomBytes(70_000);
  const { digest } = await uploadBlob(store, bytes);
  const hex = digest.slice(7);
  const file = join(
    registry.dataDir,
    'docker/registry/v2/blobs/sha256',
    hex.slice(0, 2),
    hex,
    'data',
  );
  const tampered = Buffer.from(bytes);
  tampered[123] = (tampered[123] ?? 0) ^ 0xff;
  writeFileSync(file, tampered);
  await rejectsWith(readAll(await store.open(digest)), 'BLOB_DIGEST_MISMATCH');
});

test('oci: a registry that stops answering, or stalls mid-body, is STORE_UNAVAILABLE after the timeout', async (t) => {
  const digest = digestOf(Buffer.from('stalled'));
  // Answers /v2/ never; for a blob GET sends the headers and 10 of 100 bytes, then nothing.
  const server = createServer((request, response) => {
    if (request.url?.includes('/blobs/sha256:') === true && request.method === 'GET') {
      response.writeHead(200, { 'content-length': '100' });
      response.write(Buffer.alloc(10));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const store = openOciBlobStore({ url: `oci://127.0.0.1:${port}/cairn`, timeoutMs: 300 });
  await rejectsWith(store.ping(), 'STORE_UNAVAILABLE');
  await rejectsWith(readAll(await store.open(digest)), 'STORE_UNAVAILABLE');
});

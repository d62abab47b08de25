import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { openFilesystemBlobStore } from '../../src/store/index.js';
import { repoRoot, tempDir } from '../helpers.js';
import { blobContract, chunked, digestOf, readAll, uploadBlob } from './blob-contract.js';
import { rejectsWith } from './metadata-contract.js';

blobContract('filesystem', (t) =>
  Promise.resolve(openFilesystemBlobStore({ root: tempDir(t, 'cairn-blobs-') })),
);

test('filesystem: blobs live at blobs/sha256/ab/<hex>; committed uploads leave nothing behind', async (t) => {
  const root = tempDir(t, 'cairn-blobs-');
  const store = openFilesystemBlobStore({ root });
  const bytes = Buffer.from('layout');
  const { digest } = await uploadBlob(store, bytes);
  const hex = digest.slice(7);
  assert.ok(existsSync(join(root, 'blobs', 'sha256', hex.slice(0, 2), hex)));
  assert.deepEqual(readdirSync(join(root, 'uploads')), []);
});

test('filesystem: the blob size limit is BLOB_TOO_LARGE whatever the chunk limit', async (t) => {
  const store = openFilesystemBlobStore({ root: tempDir(t, 'cairn-blobs-'), maxBlobBytes: 1000 });
  const upload = await store.beginUpload();
  await store.appendUpload(upload.id, 0, chunked(randomBytes(600)), 1 << 20);
  await rejectsWith(
    store.appendUpload(upload.id, 600, chunked(randomBytes(600)), 1 << 20),
    'BLOB_TOO_LARGE',
  );
  assert.equal((await store.getUpload(upload.id)).offset, 600);
});

test('filesystem: a data directory that cannot be used is STORE_UNAVAILABLE', async (t) => {
  const file = join(tempDir(t, 'cairn-blobs-'), 'not-a-directory');
  writeFileSync(file, 'x');
  const store = openFilesystemBlobStore({ root: file });
  await rejectsWith(store.ping(), 'STORE_UNAVAILABLE');
  await rejectsWith(store.beginUpload(), 'STORE_UNAVAILABLE');
});

test('filesystem: a process killed mid-upload leaves nothing visible, and the upload resumes', async (t) => {
  const root = tempDir(t, 'cairn-blobs-');
  const bytes = randomBytes(2 * 1024 * 1024);
  const source = join(tempDir(t), 'model.bin');
  writeFileSync(source, bytes);
  const storeUrl = pathToFileURL(join(repoRoot, 'dist', 'src', 'store', 'index.js')).href;
  // The child uploads the first MiB, then hangs mid-chunk (4 KiB sent) until it is killed.
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `
      import { openFilesystemBlobStore } from ${JSON.stringify(storeUrl)};
      import { readFileSync } from 'node:fs';
      import { PassThrough } from 'node:stream';
      const bytes = readFileSync(${JSON.stringify(source)});
      const store = openFilesystemBlobStore({ root: ${JSON.stringify(root)} });
      const u = await store.beginUpload();
      const first = new PassThrough();
      first.end(bytes.subarray(0, 1024 * 1024));
      await store.appendUpload(u.id, 0, first, 1 << 30);
      const hanging = new PassThrough();
      hanging.write(bytes.subarray(1024 * 1024, 1024 * 1024 + 4096));
      void store.appendUpload(u.id, 1024 * 1024, hanging, 1 << 30);
      setTimeout(() => process.stdout.write(u.id + '\\n'), 200);
      setInterval(() => {}, 1000);
      `,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const id = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => resolve(d.toString().trim()));
    child.on('exit', (code) => reject(new Error(`child exited ${String(code)}`)));
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('exit', resolve));

  assert.deepEqual(readdirSync(join(root, 'blobs', 'sha256')), [], 'no blob is visible');
  const store = openFilesystemBlobStore({ root });
  assert.equal(await store.stat(digestOf(bytes)), undefined);
  const { offset } = await store.getUpload(id);
  assert.ok(offset >= 1024 * 1024 && offset <= 1024 * 1024 + 4096, `offset ${offset}`);
  await store.appendUpload(id, offset, chunked(bytes.subarray(offset)), 1 << 30);
  assert.deepEqual(await store.commitUpload(id, digestOf(bytes)), {
    digest: digestOf(bytes),
    size: bytes.length,
  });
  assert.ok((await readAll(await store.open(digestOf(bytes)))).equals(bytes));
});

test('filesystem: uploads abandoned longer than the TTL are removed when uploads begin', async (t) => {
  const root = tempDir(t, 'cairn-blobs-');
  const store = openFilesystemBlobStore({ root, uploadTtlMs: 60_000 });
  const old = await store.beginUpload();
  await store.appendUpload(old.id, 0, chunked(Buffer.from('abandoned')), 100);
  const fresh = await store.beginUpload();
  const hourAgo = new Date(Date.now() - 3600_000);
  utimesSync(join(root, 'uploads', old.id), hourAgo, hourAgo);
  // A new store (a restarted server) sweeps on its first upload.
  const restarted = openFilesystemBlobStore({ root, uploadTtlMs: 60_000 });
  await restarted.beginUpload();
  await rejectsWith(restarted.getUpload(old.id), 'BLOB_UPLOAD_UNKNOWN');
  assert.equal((await restarted.getUpload(fresh.id)).offset, 0);
});

/**
 * The blob store contract, one suite for every backend: each backend's test file calls
 * `blobContract` with a function that opens a fresh, empty store.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, type TestContext } from 'node:test';
import type { BlobStore, Sha256Digest } from '../../src/store/index.js';
import { rejectsWith, storeTest } from './metadata-contract.js';

export type OpenBlobStore = (t: TestContext) => Promise<BlobStore | undefined>;

export function digestOf(bytes: Uint8Array): Sha256Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** A stream of `bytes` in chunks of `size`, like a request body arriving in pieces. */
export function chunked(bytes: Buffer, size = 64 * 1024): Readable {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
  return Readable.from(pieces);
}

/** A body that delivers `bytes` and then fails, like a dropped connection. */
export function droppedAfter(bytes: Buffer): Readable {
  return Readable.from(
    (async function* () {
      await Promise.resolve();
      yield bytes;
      throw new Error('connection reset');
    })(),
  );
}

/** Uploads `bytes` in `parts` chunks and commits under `digest` (default: the right one). */
export async function uploadBlob(
  store: BlobStore,
  bytes: Buffer,
  digest: Sha256Digest = digestOf(bytes),
  parts = 3,
) {
  const upload = await store.beginUpload();
  let offset = upload.offset;
  const step = Math.max(1, Math.ceil(bytes.length / parts));
  for (let i = 0; i < bytes.length; i += step) {
    offset = (
      await store.appendUpload(upload.id, offset, chunked(bytes.subarray(i, i + step)), 1 << 30)
    ).offset;
  }
  return store.commitUpload(upload.id, digest);
}

const MiB = 1024 * 1024;

export function blobContract(backend: string, open: OpenBlobStore): void {
  describe(`blob store contract: ${backend}`, () => {
    const withStore = storeTest(open);

    withStore('ping answers', async (store) => {
      await store.ping();
    });

    withStore(
      'a chunked upload commits under its digest; stat, open and ranges read it back',
      async (store) => {
        const bytes = randomBytes(3 * MiB + 17);
        const digest = digestOf(bytes);
        assert.equal(await store.stat(digest), undefined);
        const info = await uploadBlob(store, bytes, digest, 4);
        assert.deepEqual(info, { digest, size: bytes.length });
        assert.deepEqual(await store.stat(digest), { digest, size: bytes.length });
        assert.ok((await readAll(await store.open(digest))).equals(bytes));
        const range = await readAll(await store.open(digest, { start: 1000, end: 1000 + MiB }));
        assert.ok(range.equals(bytes.subarray(1000, 1000 + MiB)));
        assert.equal((await readAll(await store.open(digest, { start: 5, end: 5 }))).length, 0);
        const tail = await readAll(
          await store.open(digest, { start: bytes.length - 1, end: bytes.length }),
        );
        assert.ok(tail.equals(bytes.subarray(-1)));
      },
    );

    withStore('an empty blob is a blob', async (store) => {
      const empty = Buffer.alloc(0);
      const upload = await store.beginUpload();
      assert.deepEqual(await store.commitUpload(upload.id, digestOf(empty)), {
        digest: digestOf(empty),
        size: 0,
      });
      assert.equal((await readAll(await store.open(digestOf(empty)))).length, 0);
    });

    withStore('the same bytes uploaded twice (also at once) are stored once', async (store) => {
      const bytes = randomBytes(200_000);
      const digest = digestOf(bytes);
      const [a, b] = await Promise.all([uploadBlob(store, bytes), uploadBlob(store, bytes)]);
      assert.deepEqual(a, { digest, size: bytes.length });
      assert.deepEqual(b, a);
      assert.deepEqual(await uploadBlob(store, bytes), a);
      assert.ok((await readAll(await store.open(digest))).equals(bytes));
    });

    withStore(
      'a wrong digest is BLOB_DIGEST_MISMATCH: nothing visible, the upload discarded',
      async (store) => {
        const bytes = randomBytes(100_000);
        const claimed = digestOf(Buffer.from('something else'));
        const upload = await store.beginUpload();
        await store.appendUpload(upload.id, 0, chunked(bytes), MiB);
        await rejectsWith(store.commitUpload(upload.id, claimed), 'BLOB_DIGEST_MISMATCH');
        assert.equal(await store.stat(claimed), undefined);
        assert.equal(await store.stat(digestOf(bytes)), undefined);
        await rejectsWith(store.getUpload(upload.id), 'BLOB_UPLOAD_UNKNOWN');
        await rejectsWith(store.open(claimed), 'BLOB_NOT_FOUND');
      },
    );

    withStore('a truncated upload does not commit under the full digest', async (store) => {
      const bytes = randomBytes(300_000);
      const upload = await store.beginUpload();
      await store.appendUpload(upload.id, 0, chunked(bytes.subarray(0, 250_000)), MiB);
      await rejectsWith(store.commitUpload(upload.id, digestOf(bytes)), 'BLOB_DIGEST_MISMATCH');
      assert.equal(await store.stat(digestOf(bytes)), undefined);
    });

    withStore(
      'a chunk at the wrong offset is BLOB_UPLOAD_OFFSET and changes nothing',
      async (store) => {
        const bytes = randomBytes(10_000);
        const upload = await store.beginUpload();
        await store.appendUpload(upload.id, 0, chunked(bytes.subarray(0, 4000)), MiB);
        await rejectsWith(
          store.appendUpload(upload.id, 0, chunked(bytes.subarray(0, 4000)), MiB),
          'BLOB_UPLOAD_OFFSET',
        );
        await rejectsWith(
          store.appendUpload(upload.id, 5000, chunked(bytes.subarray(5000)), MiB),
          'BLOB_UPLOAD_OFFSET',
        );
        assert.equal((await store.getUpload(upload.id)).offset, 4000);
        await store.appendUpload(upload.id, 4000, chunked(bytes.subarray(4000)), MiB);
        assert.deepEqual(await store.commitUpload(upload.id, digestOf(bytes)), {
          digest: digestOf(bytes),
          size: 10_000,
        });
      },
    );

    withStore(
      'a chunk over maxBytes is BLOB_TOO_LARGE and the upload stays where it was',
      async (store) => {
        const bytes = randomBytes(50_000);
        const upload = await store.beginUpload();
        await store.appendUpload(upload.id, 0, chunked(bytes.subarray(0, 10_000)), 10_000);
        await rejectsWith(
          store.appendUpload(upload.id, 10_000, chunked(bytes.subarray(10_000), 4096), 20_000),
          'BLOB_TOO_LARGE',
        );
        assert.equal((await store.getUpload(upload.id)).offset, 10_000);
        await store.appendUpload(upload.id, 10_000, chunked(bytes.subarray(10_000)), 40_000);
        assert.equal((await store.commitUpload(upload.id, digestOf(bytes))).size, 50_000);
      },
    );

    withStore(
      'a dropped connection mid-chunk is resumed from the reported offset',
      async (store) => {
        const bytes = randomBytes(400_000);
        const upload = await store.beginUpload();
        await store.appendUpload(upload.id, 0, chunked(bytes.subarray(0, 100_000)), MiB);
        await assert.rejects(
          store.appendUpload(
            upload.id,
            100_000,
            droppedAfter(bytes.subarray(100_000, 150_000)),
            MiB,
          ),
        );
        const { offset } = await store.getUpload(upload.id);
        assert.ok(offset >= 100_000 && offset <= 150_000, `offset ${offset}`);
        await store.appendUpload(upload.id, offset, chunked(bytes.subarray(offset)), MiB);
        assert.deepEqual(await store.commitUpload(upload.id, digestOf(bytes)), {
          digest: digestOf(bytes),
          size: bytes.length,
        });
        assert.ok((await readAll(await store.open(digestOf(bytes)))).equals(bytes));
      },
    );

    withStore('unknown, malformed and aborted uploads are BLOB_UPLOAD_UNKNOWN', async (store) => {
      const bogus = 'f'.repeat(32);
      await rejectsWith(store.getUpload(bogus), 'BLOB_UPLOAD_UNKNOWN');
      await rejectsWith(
        store.appendUpload(bogus, 0, chunked(Buffer.from('x')), 10),
        'BLOB_UPLOAD_UNKNOWN',
      );
      await rejectsWith(
        store.commitUpload(bogus, digestOf(Buffer.from('x'))),
        'BLOB_UPLOAD_UNKNOWN',
      );
      for (const id of ['../../etc/passwd', '', 'a/b', '%2e%2e']) {
        await rejectsWith(store.getUpload(id), 'BLOB_UPLOAD_UNKNOWN');
      }
      const bytes = Buffer.from('aborted bytes');
      const upload = await store.beginUpload();
      await store.appendUpload(upload.id, 0, chunked(bytes), MiB);
      await store.abortUpload(upload.id);
      await rejectsWith(store.getUpload(upload.id), 'BLOB_UPLOAD_UNKNOWN');
      await rejectsWith(store.commitUpload(upload.id, digestOf(bytes)), 'BLOB_UPLOAD_UNKNOWN');
      assert.equal(await store.stat(digestOf(bytes)), undefined);
    });

    withStore(
      'a committed upload is gone; committing it again is BLOB_UPLOAD_UNKNOWN',
      async (store) => {
        const bytes = Buffer.from('once');
        const upload = await store.beginUpload();
        await store.appendUpload(upload.id, 0, chunked(bytes), MiB);
        await store.commitUpload(upload.id, digestOf(bytes));
        await rejectsWith(store.commitUpload(upload.id, digestOf(bytes)), 'BLOB_UPLOAD_UNKNOWN');
      },
    );

    withStore(
      'reads: missing blob BLOB_NOT_FOUND, bad digest or range STORE_INPUT_INVALID',
      async (store) => {
        await rejectsWith(store.open(digestOf(Buffer.from('absent'))), 'BLOB_NOT_FOUND');
        await rejectsWith(store.stat('sha256:../../x'), 'STORE_INPUT_INVALID');
        await rejectsWith(store.open('sha256:ABC'), 'STORE_INPUT_INVALID');
        const info = await uploadBlob(store, Buffer.from('0123456789'));
        await rejectsWith(store.open(info.digest, { start: 5, end: 11 }), 'STORE_INPUT_INVALID');
        await rejectsWith(store.open(info.digest, { start: 6, end: 5 }), 'STORE_INPUT_INVALID');
        await rejectsWith(store.open(info.digest, { start: -1, end: 5 }), 'STORE_INPUT_INVALID');
        const upload = await store.beginUpload();
        await rejectsWith(
          store.commitUpload(upload.id, 'md5:abc' as Sha256Digest),
          'STORE_INPUT_INVALID',
        );
        await rejectsWith(
          store.appendUpload(upload.id, 0, chunked(Buffer.from('x')), -1),
          'STORE_INPUT_INVALID',
        );
      },
    );
  });
}

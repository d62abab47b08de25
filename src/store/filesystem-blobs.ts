import { createHash, randomBytes, type Hash } from 'node:crypto';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, open, readdir, rename, stat, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { InfraError, UsageError, ValidationError, isCairnError } from '../errors/index.js';
import { constantTimeEqual } from '../digest/index.js';
import { ByteLimit, checkUploadId, offsetMismatch, pipeLimited } from './blob-common.js';
import { checkDigest, checkInteger, checkRange } from './checks.js';
import type { BlobInfo, BlobStore, BlobUpload, Sha256Digest } from './types.js';

export interface FilesystemBlobStoreOptions {
  /** Data directory: blobs live in `blobs/sha256/ab/<hex>`, uploads in progress in `uploads/<id>`. */
  readonly root: string;
  /** Largest blob accepted (bytes). Default 256 GiB. */
  readonly maxBlobBytes?: number;
  /** Uploads untouched for this long are removed (checked when uploads begin). Default 24 h. */
  readonly uploadTtlMs?: number;
}

const DEFAULT_MAX_BLOB = 256 * 1024 ** 3;
const DEFAULT_UPLOAD_TTL = 24 * 3600_000;
/**
 * Read size for blobs served and uploads re-hashed: Node's default 64 KiB makes one read, one
 * hash update and one socket write per 64 KiB, which costs more CPU per byte than the hashing.
 */
const READ_CHUNK_BYTES = 1024 * 1024;
/** How often (at most) abandoned uploads are looked for. */
const SWEEP_EVERY = 10 * 60_000;
const UNAVAILABLE_FS = new Set([
  'ENOSPC',
  'EIO',
  'EACCES',
  'EPERM',
  'EROFS',
  'EMFILE',
  'ENFILE',
  'EDQUOT',
  'ENOTDIR',
]);

function fsCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function storeError(error: unknown, id?: string): unknown {
  if (isCairnError(error)) return error;
  const code = fsCode(error);
  if (code === 'ENOENT' && id !== undefined) {
    return new UsageError('BLOB_UPLOAD_UNKNOWN', 'No such blob upload', {
      details: { upload: id },
    });
  }
  if (code !== undefined && UNAVAILABLE_FS.has(code)) {
    return new InfraError('STORE_UNAVAILABLE', `The blob directory cannot serve: ${code}`, {
      cause: error,
      details: { backend: 'filesystem', code },
    });
  }
  return error;
}

interface UploadState {
  hash: Hash;
  offset: number;
}

/**
 * Content-addressed blobs in a directory. An upload is a file under `uploads/` hashed as it is
 * written; `commitUpload` checks the digest, fsyncs and renames it into `blobs/` in one atomic
 * step, so a blob is either whole under its digest or not there at all. A process killed mid-upload
 * leaves only the upload file, which can be resumed from its size (the hash is rebuilt from disk).
 */
export function openFilesystemBlobStore(options: FilesystemBlobStoreOptions): BlobStore {
  const blobsDir = join(options.root, 'blobs', 'sha256');
  const uploadsDir = join(options.root, 'uploads');
  const maxBlob = options.maxBlobBytes ?? DEFAULT_MAX_BLOB;
  const blobPath = (digest: Sha256Digest) => {
    const hex = digest.slice('sha256:'.length);
    return join(blobsDir, hex.slice(0, 2), hex);
  };
  const uploadPath = (id: string) => join(uploadsDir, id);
  /** Hash state of uploads this process has touched; rebuilt from the file after a restart. */
  const states = new Map<string, UploadState>();
  /** Uploads with an append or commit running in this process: a second one is refused. */
  const busy = new Set<string>();
  let ready: Promise<void> | undefined;
  const ensureDirs = () =>
    (ready ??= (async () => {
      await mkdir(blobsDir, { recursive: true });
      await mkdir(uploadsDir, { recursive: true });
    })().catch((error: unknown) => {
      ready = undefined;
      throw storeError(error);
    }));

  const stateOf = async (id: string): Promise<UploadState> => {
    const cached = states.get(id);
    if (cached !== undefined) return cached;
    const hash = createHash('sha256');
    let offset = 0;
    const file = createReadStream(uploadPath(id), { highWaterMark: READ_CHUNK_BYTES });
    for await (const chunk of file as AsyncIterable<Buffer>) {
      hash.update(chunk);
      offset += chunk.length;
    }
    const state = { hash, offset };
    states.set(id, state);
    return state;
  };

  const exclusive = async <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    checkUploadId(id);
    if (busy.has(id)) {
      throw new UsageError('BLOB_UPLOAD_OFFSET', 'Another request is writing this upload', {
        details: { upload: id },
      });
    }
    busy.add(id);
    try {
      return await fn();
    } catch (error) {
      throw storeError(error, id);
    } finally {
      busy.delete(id);
    }
  };

  const uploadTtl = options.uploadTtlMs ?? DEFAULT_UPLOAD_TTL;
  let lastSweep = 0;
  /** Removes uploads abandoned (killed clients, dropped connections) longer than the TTL. */
  const sweep = async (now: number) => {
    if (now - lastSweep < Math.min(SWEEP_EVERY, uploadTtl)) return;
    lastSweep = now;
    for (const id of await readdir(uploadsDir)) {
      if (busy.has(id)) continue;
      const info = await stat(uploadPath(id)).catch(() => undefined);
      if (info !== undefined && now - info.mtimeMs > uploadTtl) {
        states.delete(id);
        await unlink(uploadPath(id)).catch(() => undefined);
      }
    }
  };

  const fsyncPath = async (path: string) => {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  };

  return {
    backend: 'filesystem',
    ping: async () => {
      await ensureDirs();
      try {
        await access(blobsDir, constants.W_OK);
        await access(uploadsDir, constants.W_OK);
      } catch (error) {
        throw storeError(error);
      }
    },
    close: () => {
      states.clear();
      return Promise.resolve();
    },

    stat: async (digest): Promise<BlobInfo | undefined> => {
      checkDigest('digest', digest);
      try {
        return { digest, size: (await stat(blobPath(digest))).size };
      } catch (error) {
        if (fsCode(error) === 'ENOENT') return undefined;
        throw storeError(error);
      }
    },

    open: async (digest, range) => {
      checkDigest('digest', digest);
      let handle;
      try {
        handle = await open(blobPath(digest), 'r');
      } catch (error) {
        if (fsCode(error) === 'ENOENT') {
          throw new UsageError('BLOB_NOT_FOUND', `Blob ${digest} is not in the store`, {
            details: { digest },
          });
        }
        throw storeError(error);
      }
      try {
        const { size } = await handle.stat();
        checkRange(range, size);
        if (range !== undefined && range.start === range.end) {
          await handle.close();
          return Readable.from([]);
        }
        return handle.createReadStream(
          range === undefined
            ? { highWaterMark: READ_CHUNK_BYTES }
            : { highWaterMark: READ_CHUNK_BYTES, start: range.start, end: range.end - 1 },
        );
      } catch (error) {
        await handle.close();
        throw storeError(error);
      }
    },

    beginUpload: async (): Promise<BlobUpload> => {
      await ensureDirs();
      await sweep(Date.now()).catch(() => undefined);
      const id = randomBytes(16).toString('hex');
      try {
        await (await open(uploadPath(id), 'wx')).close();
      } catch (error) {
        throw storeError(error);
      }
      states.set(id, { hash: createHash('sha256'), offset: 0 });
      return { id, offset: 0 };
    },

    getUpload: (id) => exclusive(id, async () => ({ id, offset: (await stateOf(id)).offset })),

    appendUpload: async (id, offset, chunk, maxBytes) => {
      checkInteger('maxBytes', maxBytes, 0, Number.MAX_SAFE_INTEGER);
      return await exclusive(id, async () => {
        const state = await stateOf(id);
        if (offset !== state.offset) throw offsetMismatch(id, state.offset, offset);
        const hash = state.hash.copy();
        const room = maxBlob - state.offset;
        const limiter =
          room < maxBytes
            ? new ByteLimit(room, 'blob size limit', (b) => hash.update(b))
            : new ByteLimit(maxBytes, 'chunk size limit', (b) => hash.update(b));
        try {
          await pipeLimited(
            chunk,
            limiter,
            createWriteStream(uploadPath(id), { flags: 'r+', start: state.offset }),
          );
        } catch (error) {
          // The chunk is taken whole or not at all: cut the file back to where it was.
          await truncate(uploadPath(id), state.offset).catch(() => undefined);
          throw error;
        }
        const next = { hash, offset: state.offset + limiter.bytes };
        states.set(id, next);
        return { id, offset: next.offset };
      });
    },

    commitUpload: async (id, digest) => {
      checkDigest('digest', digest);
      return await exclusive(id, async (): Promise<BlobInfo> => {
        const state = await stateOf(id);
        const actual = state.hash.copy().digest();
        const path = uploadPath(id);
        if (!constantTimeEqual(actual, Buffer.from(digest.slice(7), 'hex'))) {
          states.delete(id);
          await unlink(path).catch(() => undefined);
          throw new ValidationError(
            'BLOB_DIGEST_MISMATCH',
            `The uploaded bytes hash to sha256:${actual.toString('hex')}, not ${digest}`,
            {
              details: {
                expected: digest,
                actual: `sha256:${actual.toString('hex')}`,
                size: state.offset,
              },
            },
          );
        }
        await fsyncPath(path);
        const target = blobPath(digest);
        const existing = await stat(target).catch(() => undefined);
        if (existing === undefined) {
          const dir = join(target, '..');
          // A new shard directory is itself an entry of blobs/sha256 that must reach the disk.
          if ((await mkdir(dir, { recursive: true })) !== undefined) await fsyncPath(blobsDir);
          await rename(path, target);
          await fsyncPath(dir);
        } else {
          await unlink(path); // the same bytes are already stored (dedup)
        }
        states.delete(id);
        return { digest, size: state.offset };
      });
    },

    abortUpload: (id) =>
      exclusive(id, async () => {
        states.delete(id);
        await unlink(uploadPath(id)).catch((error: unknown) => {
          if (fsCode(error) !== 'ENOENT') throw error;
        });
      }),
  };
}

import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../errors/index.js';

/** Upload ids are 32 lowercase hex characters: never a path, never guessable. */
const UPLOAD_ID = /^[0-9a-f]{32}$/;

export function checkUploadId(id: string): void {
  if (!UPLOAD_ID.test(id)) {
    throw new UsageError('BLOB_UPLOAD_UNKNOWN', 'No such blob upload', {
      details: { upload: id.slice(0, 80) },
    });
  }
}

export function offsetMismatch(id: string, expected: number, given: number): UsageError {
  return new UsageError('BLOB_UPLOAD_OFFSET', `The upload is at byte ${expected}, not ${given}`, {
    details: { upload: id, offset: expected, given },
  });
}

export function tooLarge(limit: number, what: string): UsageError {
  return new UsageError('BLOB_TOO_LARGE', `The ${what} exceeds ${limit} bytes`, {
    details: { limit },
  });
}

/**
 * Counts bytes as they stream and fails with BLOB_TOO_LARGE the moment they pass `limit`, so an
 * oversized body is never read (or written) whole. `onChunk` sees every accepted chunk (hashing).
 */
export class ByteLimit extends Transform {
  bytes = 0;
  constructor(
    private readonly limit: number,
    private readonly what: string,
    private readonly onChunk: (chunk: Buffer) => void = () => undefined,
  ) {
    super();
  }

  override _transform(
    chunk: unknown,
    _encoding: BufferEncoding,
    callback: TransformCallback,
  ): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    this.bytes += buf.length;
    if (this.bytes > this.limit) {
      callback(tooLarge(this.limit, this.what));
      return;
    }
    this.onChunk(buf);
    callback(null, buf);
  }
}

/**
 * Streams `source` through `limiter` into `destination`. Unlike `pipeline`, a failure does not
 * destroy `source` (an HTTP request): the caller still owns it and can answer 413 on its socket.
 */
export async function pipeLimited(
  source: NodeJS.ReadableStream,
  limiter: ByteLimit,
  destination: NodeJS.WritableStream,
): Promise<void> {
  const onSourceError = (error: unknown) => limiter.destroy(error as Error);
  source.on('error', onSourceError);
  source.pipe(limiter);
  try {
    await pipeline(limiter, destination);
  } finally {
    source.unpipe(limiter);
    source.removeListener('error', onSourceError);
  }
}

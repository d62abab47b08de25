import { createHash, randomBytes, type Hash } from 'node:crypto';
import { Readable, Transform, Writable, pipeline, type TransformCallback } from 'node:stream';
import { InfraError, UsageError, ValidationError, isCairnError } from '../errors/index.js';
import { constantTimeEqual } from '../digest/index.js';
import { ByteLimit, checkUploadId, offsetMismatch, pipeLimited } from './blob-common.js';
import { checkDigest, checkInteger, checkRange, invalidInput } from './checks.js';
import type { BlobInfo, BlobStore, BlobUpload, Sha256Digest } from './types.js';

export interface OciBlobStoreOptions {
  /**
   * `oci://host[:port]/repository/prefix`: every blob goes to that one repository of the
   * registry, so blobs are deduplicated across Cairn repositories.
   */
  readonly url: string;
  /** Speak plain HTTP. Default: only for loopback hosts (127.0.0.0/8, ::1, localhost). */
  readonly plainHttp?: boolean;
  /** Bytes per PATCH request (each sent with Content-Range). Default 8 MiB. */
  readonly chunkBytes?: number;
  /** Waiting for a response, or for the next bytes of a body (ms). Default 30000. */
  readonly timeoutMs?: number;
  /** Largest blob accepted (bytes). Default 256 GiB. */
  readonly maxBlobBytes?: number;
}

const DEFAULT_CHUNK = 8 * 1024 * 1024;
const DEFAULT_MAX_BLOB = 256 * 1024 ** 3;
/** Error and status bodies from the registry are read up to this many bytes. */
const MAX_SMALL_BODY = 64 * 1024;
const REPOSITORY_NAME =
  /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

interface UploadState {
  /** The registry's upload URL from its last answer (carries the registry's `_state`). */
  location: URL;
  offset: number;
  hash: Hash;
}

function unavailable(message: string, cause?: unknown, status?: number): InfraError {
  return new InfraError('STORE_UNAVAILABLE', `The OCI blob registry cannot serve: ${message}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { backend: 'oci', ...(status === undefined ? {} : { status }) },
  });
}

/** Parses `oci://host:port/prefix` into the registry's base URL and repository name. */
export function parseOciUrl(url: string, plainHttp?: boolean): { base: URL; repository: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidInput('url', 'not a URL of the form oci://host:port/repository');
  }
  const repository = decodeURIComponent(parsed.pathname.replace(/^\/+|\/+$/g, ''));
  if (parsed.protocol !== 'oci:' || parsed.host === '' || !REPOSITORY_NAME.test(repository)) {
    throw invalidInput('url', 'must be oci://host[:port]/repository (lowercase a-z 0-9 . _ - /)');
  }
  if (parsed.username !== '' || parsed.password !== '' || parsed.search !== '') {
    throw invalidInput('url', 'credentials and query parameters are not accepted in the URL');
  }
  const loopback = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/.test(parsed.hostname);
  const scheme = (plainHttp ?? loopback) ? 'http' : 'https';
  return { base: new URL(`${scheme}://${parsed.host}/`), repository };
}

/**
 * Blobs in any OCI distribution registry (HEAD/GET blobs, POST + PATCH (Content-Range) + PUT
 * uploads, DELETE to abort). Bytes are hashed here as they pass, and the registry checks the
 * digest again on PUT; the blob is visible only once the PUT succeeds. Any failure to reach the
 * registry, or an answer it should not give, is STORE_UNAVAILABLE: the store fails closed.
 *
 * An upload's registry URL lives in this process: a resumed upload must come back to the server
 * that began it (after a restart the client starts the upload again).
 */
export function openOciBlobStore(options: OciBlobStoreOptions): BlobStore {
  const { base, repository } = parseOciUrl(options.url, options.plainHttp);
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxBlob = options.maxBlobBytes ?? DEFAULT_MAX_BLOB;
  checkInteger('chunkBytes', chunkBytes, 1, 1024 ** 3);
  const blobUrl = (digest: Sha256Digest) => new URL(`v2/${repository}/blobs/${digest}`, base);
  const uploads = new Map<string, UploadState>();
  const busy = new Set<string>();
  let closed = false;

  /** One request with a response timeout; network failures are STORE_UNAVAILABLE. */
  const request = async (
    method: string,
    url: URL,
    init: { headers?: Record<string, string>; body?: Buffer } = {},
  ): Promise<Response> => {
    if (closed) throw unavailable('the store is closed');
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`no answer in ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      return await fetch(url, {
        method,
        headers: init.headers ?? {},
        ...(init.body === undefined ? {} : { body: init.body }),
        redirect: method === 'GET' || method === 'HEAD' ? 'follow' : 'manual',
        signal: controller.signal,
      });
    } catch (error) {
      throw unavailable(
        `${method} ${url.pathname}: ${error instanceof Error ? error.message : String(error)}`,
        error,
      );
    } finally {
      clearTimeout(timer);
    }
  };

  /** Reads (at most MAX_SMALL_BODY of) a body we do not need, so the connection can be reused. */
  const drain = async (response: Response): Promise<string> => {
    if (response.body === null) return '';
    let text = '';
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        if (text.length < MAX_SMALL_BODY) text += Buffer.from(chunk).toString('utf8');
        else break;
      }
    } catch {
      // the body is only for the error message
    }
    return text.slice(0, MAX_SMALL_BODY);
  };

  const unexpected = async (what: string, response: Response): Promise<InfraError> => {
    const body = await drain(response);
    return unavailable(
      `${what} answered ${response.status}${body === '' ? '' : `: ${body.slice(0, 300)}`}`,
      undefined,
      response.status,
    );
  };

  const nextLocation = (response: Response, fallback?: URL): URL => {
    const location = response.headers.get('location');
    if (location === null) {
      if (fallback !== undefined) return fallback;
      throw unavailable('an upload answer has no Location header');
    }
    return new URL(location, base);
  };

  const exclusive = async <T>(id: string, fn: (state: UploadState) => Promise<T>): Promise<T> => {
    checkUploadId(id);
    const state = uploads.get(id);
    if (state === undefined) {
      throw new UsageError('BLOB_UPLOAD_UNKNOWN', 'No such blob upload', {
        details: { upload: id },
      });
    }
    if (busy.has(id)) {
      throw new UsageError('BLOB_UPLOAD_OFFSET', 'Another request is writing this upload', {
        details: { upload: id },
      });
    }
    busy.add(id);
    try {
      return await fn(state);
    } finally {
      busy.delete(id);
    }
  };

  const patch = async (state: UploadState, bytes: Buffer): Promise<void> => {
    const response = await request('PATCH', state.location, {
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': `${state.offset}-${state.offset + bytes.length - 1}`,
        'content-length': String(bytes.length),
      },
      body: bytes,
    });
    if (response.status !== 202) throw await unexpected('PATCH upload', response);
    await drain(response);
    state.location = nextLocation(response, state.location);
    state.hash.update(bytes);
    state.offset += bytes.length;
  };

  const discard = async (state: UploadState, id: string): Promise<void> => {
    uploads.delete(id);
    const response = await request('DELETE', state.location).catch(() => undefined);
    if (response !== undefined) await drain(response);
  };

  const stat = async (digest: Sha256Digest): Promise<BlobInfo | undefined> => {
    checkDigest('digest', digest);
    const response = await request('HEAD', blobUrl(digest));
    if (response.status === 404) return undefined;
    const length = Number(response.headers.get('content-length'));
    if (response.status !== 200 || !Number.isSafeInteger(length) || length < 0) {
      throw await unexpected('HEAD blob', response);
    }
    return { digest, size: length };
  };

  return {
    backend: 'oci',
    ping: async () => {
      const response = await request('GET', new URL('v2/', base));
      if (response.status !== 200) throw await unexpected('GET /v2/', response);
      await drain(response);
    },
    close: () => {
      closed = true;
      uploads.clear();
      return Promise.resolve();
    },

    stat,

    // One GET (no HEAD first): the size comes from Content-Length or Content-Range.
    open: async (digest, range) => {
      checkDigest('digest', digest);
      const notFound = () =>
        new UsageError('BLOB_NOT_FOUND', `Blob ${digest} is not in the store`, {
          details: { digest },
        });
      if (range !== undefined && range.start === range.end) {
        const info = await stat(digest);
        if (info === undefined) throw notFound();
        checkRange(range, info.size);
        return Readable.from([]);
      }
      if (range !== undefined) checkRange(range, Number.MAX_SAFE_INTEGER);
      const response = await request('GET', blobUrl(digest), {
        headers: range === undefined ? {} : { range: `bytes=${range.start}-${range.end - 1}` },
      });
      if (response.status === 404) {
        await drain(response);
        throw notFound();
      }
      if (response.status === 416 && range !== undefined) {
        await drain(response);
        checkRange(range, -1);
      }
      const partial = range !== undefined && response.status === 206;
      if (!(response.status === 200 || partial) || response.body === null) {
        throw await unexpected('GET blob', response);
      }
      // The whole blob's size: `Content-Range: bytes s-e/size` on 206, Content-Length on 200.
      const total = partial
        ? Number(/\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1])
        : Number(response.headers.get('content-length') ?? Number.NaN);
      if (!Number.isSafeInteger(total) || total < 0) {
        await response.body.cancel().catch(() => undefined);
        throw unavailable('the registry did not say how large the blob is');
      }
      if (range !== undefined && range.end > total) {
        await response.body.cancel().catch(() => undefined);
        checkRange(range, total);
      }
      const want = range === undefined ? total : range.end - range.start;
      const skip = range !== undefined && !partial ? range.start : 0;
      const check = new BodyCheck(
        digest,
        range === undefined ? total : undefined,
        skip,
        want,
        timeoutMs,
      );
      return pipeline(Readable.fromWeb(response.body), check, () => undefined);
    },

    beginUpload: async (): Promise<BlobUpload> => {
      const response = await request('POST', new URL(`v2/${repository}/blobs/uploads/`, base));
      if (response.status !== 202) throw await unexpected('POST upload', response);
      await drain(response);
      const id = randomBytes(16).toString('hex');
      uploads.set(id, { location: nextLocation(response), offset: 0, hash: createHash('sha256') });
      return { id, offset: 0 };
    },

    getUpload: (id) => exclusive(id, (state) => Promise.resolve({ id, offset: state.offset })),

    appendUpload: async (id, offset, chunk, maxBytes) => {
      checkInteger('maxBytes', maxBytes, 0, Number.MAX_SAFE_INTEGER);
      return await exclusive(id, async (state) => {
        if (offset !== state.offset) throw offsetMismatch(id, state.offset, offset);
        const room = maxBlob - state.offset;
        const limiter =
          room < maxBytes
            ? new ByteLimit(room, 'blob size limit')
            : new ByteLimit(maxBytes, 'chunk size limit');
        // Bytes go to the registry in whole PATCHes of chunkBytes; a body that breaks off leaves
        // the upload at the end of the last whole PATCH, from where the client resumes.
        let pending: Buffer[] = [];
        let pendingBytes = 0;
        let inflight: Promise<void> = Promise.resolve();
        const flush = () => {
          if (pendingBytes === 0) return Promise.resolve();
          const bytes = Buffer.concat(pending, pendingBytes);
          pending = [];
          pendingBytes = 0;
          inflight = patch(state, bytes);
          return inflight;
        };
        const sink = new Writable({
          write(data: Buffer, _encoding, callback) {
            pending.push(data);
            pendingBytes += data.length;
            if (pendingBytes < chunkBytes) return callback();
            flush().then(() => callback(), callback);
          },
          final(callback) {
            flush().then(() => callback(), callback);
          },
        });
        try {
          await pipeLimited(chunk, limiter, sink);
        } catch (error) {
          // A PATCH still on its way settles before the upload is released.
          const patched = await inflight.then(
            () => true,
            () => false,
          );
          if (!patched || (isCairnError(error) && error.code === 'STORE_UNAVAILABLE')) {
            await discard(state, id);
          }
          throw error;
        }
        return { id, offset: state.offset };
      });
    },

    commitUpload: async (id, digest) => {
      checkDigest('digest', digest);
      return await exclusive(id, async (state): Promise<BlobInfo> => {
        const actual = state.hash.copy().digest();
        if (!constantTimeEqual(actual, Buffer.from(digest.slice(7), 'hex'))) {
          await discard(state, id);
          throw mismatch(digest, `sha256:${actual.toString('hex')}`, state.offset);
        }
        const url = new URL(state.location);
        url.searchParams.set('digest', digest);
        const response = await request('PUT', url, {
          headers: { 'content-length': '0' },
          body: Buffer.alloc(0),
        });
        if (response.status === 400) {
          const body = await drain(response);
          if (!body.includes('DIGEST_INVALID'))
            throw unavailable(`PUT upload answered 400: ${body.slice(0, 300)}`, undefined, 400);
          // The registry hashed the bytes it holds and disagrees: fail closed, keep nothing.
          await discard(state, id);
          throw mismatch(digest, 'computed by the registry', state.offset);
        }
        if (response.status !== 201) throw await unexpected('PUT upload', response);
        await drain(response);
        uploads.delete(id);
        return { digest, size: state.offset };
      });
    },

    abortUpload: async (id) => {
      checkUploadId(id);
      const state = uploads.get(id);
      if (state === undefined) return;
      await exclusive(id, (s) => discard(s, id));
    },
  };
}

function mismatch(expected: Sha256Digest, actual: string, size: number): ValidationError {
  return new ValidationError(
    'BLOB_DIGEST_MISMATCH',
    `The uploaded bytes do not hash to ${expected}`,
    {
      details: { expected, actual, size },
    },
  );
}

/**
 * Passes a blob's bytes through from the registry: skips `skip` leading bytes (a registry that
 * ignored the Range header), stops after `want`, errors if the body stalls for `idleMs`, and, for
 * a whole blob, fails unless the bytes hash to the digest and have the size the registry claimed.
 */
class BodyCheck extends Transform {
  private readonly hash = createHash('sha256');
  private seen = 0;
  private sent = 0;
  private timer: NodeJS.Timeout;

  constructor(
    private readonly digest: Sha256Digest,
    private readonly size: number | undefined,
    private readonly skip: number,
    private readonly want: number,
    private readonly idleMs: number,
  ) {
    super();
    this.timer = this.arm();
  }

  private arm(): NodeJS.Timeout {
    return setTimeout(
      () => this.destroy(unavailable(`the blob body stalled for ${this.idleMs} ms`)),
      this.idleMs,
    );
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    clearTimeout(this.timer);
    this.timer = this.arm();
    const start = Math.max(0, this.skip - this.seen);
    this.seen += chunk.length;
    const piece = chunk.subarray(start, start + Math.max(0, this.want - this.sent));
    if (this.size !== undefined) this.hash.update(chunk);
    if (this.size !== undefined && this.seen > this.size) {
      callback(unavailable('the registry sent more bytes than the blob has'));
      return;
    }
    this.sent += piece.length;
    callback(null, piece.length === 0 ? undefined : piece);
  }

  override _flush(callback: TransformCallback): void {
    clearTimeout(this.timer);
    if (this.sent !== this.want) {
      callback(unavailable(`the registry sent ${this.sent} of ${this.want} bytes`));
      return;
    }
    if (this.size !== undefined) {
      const actual = this.hash.digest();
      if (!constantTimeEqual(actual, Buffer.from(this.digest.slice(7), 'hex'))) {
        callback(mismatch(this.digest, `sha256:${actual.toString('hex')}`, this.seen));
        return;
      }
    }
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.timer);
    callback(error);
  }
}

import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { constantTimeEqual } from '../digest/index.js';
import {
  CairnError,
  ERROR_CATALOG,
  InfraError,
  UsageError,
  VerificationError,
  isCairnError,
  type ErrorCode,
} from '../errors/index.js';
import type { Sha256Digest } from '../store/index.js';

/**
 * The CLI's HTTP client for a Cairn server: one keep-alive agent, a bearer token that never
 * appears in any message, an idle timeout on every socket, a size cap on every JSON response
 * (validated with zod), server errors turned back into the CairnErrors the server raised, and
 * network failures as REGISTRY_UNREACHABLE (exit 3).
 */

/** Largest JSON response read by default; callers reading big listings pass their own cap. */
export const MAX_JSON_RESPONSE_BYTES = 8 * 1024 * 1024;
/** Socket idle timeout: a server that sends nothing for this long is treated as down. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export interface RegistryClientOptions {
  readonly server: string;
  /** Bearer token; omitted for unauthenticated routes (health). */
  readonly token?: string;
  readonly idleTimeoutMs?: number;
  readonly userAgent?: string;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: http.IncomingMessage;
}

export type RequestBody = Buffer | string | Readable | undefined;

export interface RequestOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: RequestBody;
  /** Extra query parameters, encoded here. */
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
}

/** Bytes gathered from the socket before one write to disk (see `downloadTo`). */
const WRITE_BATCH_BYTES = 1024 * 1024;

/** Writes every chunk, in order, at the handle's current position (short writes continue). */
async function writeAll(handle: FileHandle, chunks: Buffer[]): Promise<void> {
  let rest = chunks;
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest);
    const next: Buffer[] = [];
    for (const c of rest) {
      if (bytesWritten >= c.length) bytesWritten -= c.length;
      else {
        next.push(bytesWritten === 0 ? c : c.subarray(bytesWritten));
        bytesWritten = 0;
      }
    }
    rest = next;
  }
}

/** Reads at most `limit` bytes of a stream; more is REGISTRY_RESPONSE_INVALID. */
export async function readLimited(body: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) {
      body.destroy();
      throw new InfraError(
        'REGISTRY_RESPONSE_INVALID',
        `The server's ${what} is larger than ${limit} bytes`,
        { details: { limit } },
      );
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

/** True for errors that mean "the connection failed", which a resumable upload may retry. */
export function isConnectionFailure(err: unknown): boolean {
  return err instanceof CairnError && err.code === 'REGISTRY_UNREACHABLE';
}

export class RegistryClient {
  readonly server: string;
  readonly #token: string | undefined;
  readonly #idleTimeoutMs: number;
  readonly #agent: http.Agent;
  readonly #base: URL;
  readonly #userAgent: string;

  constructor(options: RegistryClientOptions) {
    this.server = options.server;
    this.#base = new URL(options.server.endsWith('/') ? options.server : `${options.server}/`);
    this.#token = options.token;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#userAgent = options.userAgent ?? 'cairn-cli';
    const agentOptions = { keepAlive: true, maxSockets: 16 };
    this.#agent =
      this.#base.protocol === 'https:'
        ? new https.Agent(agentOptions)
        : new http.Agent(agentOptions);
  }

  /** Releases pooled sockets so the process can exit. */
  close(): void {
    this.#agent.destroy();
  }

  /** An absolute URL for a server path such as `/v1/health`. */
  url(path: string, query?: RequestOptions['query']): URL {
    const url = new URL(path.replace(/^\/+/, ''), this.#base);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    return url;
  }

  /** One request; resolves with the response head and the unread body. */
  request(method: string, path: string, options: RequestOptions = {}): Promise<RawResponse> {
    const url = this.url(path, options.query);
    const headers: Record<string, string> = {
      'user-agent': this.#userAgent,
      accept: 'application/json',
      ...options.headers,
    };
    if (this.#token !== undefined) headers['authorization'] = `Bearer ${this.#token}`;
    const body = options.body;
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<RawResponse>((resolvePromise, reject) => {
      const req = transport.request(url, { method, headers, agent: this.#agent });
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        reject(this.#networkError(err, method, url));
      };
      req.setTimeout(this.#idleTimeoutMs, () => {
        req.destroy(Object.assign(new Error('idle timeout'), { code: 'ETIMEDOUT' }));
      });
      req.on('error', fail);
      req.on('response', (res) => {
        if (settled) return;
        settled = true;
        // The idle timeout keeps applying while the body streams.
        res.socket.setTimeout(this.#idleTimeoutMs);
        resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      if (body === undefined) {
        req.end();
      } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
        req.end(body);
      } else {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }

  /** A request whose answer must be JSON matching `schema` (2xx) or a server error (anything else). */
  async json<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    options: RequestOptions & { readonly limit?: number; readonly json?: unknown } = {},
  ): Promise<z.infer<S>> {
    const res = await this.request(
      method,
      path,
      options.json === undefined
        ? options
        : {
            ...options,
            headers: { 'content-type': 'application/json', ...options.headers },
            body: JSON.stringify(options.json),
          },
    );
    if (res.status < 200 || res.status > 299) throw await this.errorFrom(res);
    return parseJsonResponse(
      await readLimited(res.body, options.limit ?? MAX_JSON_RESPONSE_BYTES, 'response'),
      schema,
      `${method} ${path}`,
    );
  }

  /** Turns a non-2xx response into the CairnError the server raised (or the nearest one). */
  async errorFrom(res: RawResponse): Promise<CairnError> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(
        (await readLimited(res.body, 256 * 1024, 'error response')).toString('utf8'),
      );
    } catch {
      parsed = undefined;
    }
    return serverError(res.status, parsed);
  }

  /**
   * Streams a response body to `file`, hashing with SHA-256 and refusing more than `maxBytes`.
   * Returns the digest and size written; the caller compares them with what it expected.
   * Received chunks are hashed as they arrive and written in batches of about
   * `WRITE_BATCH_BYTES` with one `writev` each (no copy), the next batch filling while the
   * previous one is written: a 64 KiB write per socket read costs more than the hashing.
   */
  async downloadTo(
    res: RawResponse,
    file: string,
    maxBytes: number,
    onBytes?: (n: number) => void,
  ): Promise<{ digest: string; size: number }> {
    const hash = createHash('sha256');
    let size = 0;
    const unwritable = (err: unknown) =>
      isCairnError(err)
        ? err
        : new UsageError('OUTPUT_UNWRITABLE', `Cannot write ${file}`, {
            cause: err,
            details: { path: file },
          });
    let handle: FileHandle;
    try {
      handle = await open(file, 'wx', 0o644);
    } catch (err) {
      res.body.destroy();
      throw unwritable(err);
    }
    let batch: Buffer[] = [];
    let batchBytes = 0;
    let writing: Promise<unknown> = Promise.resolve();
    // A failed write is kept here and rethrown once the network loop stops.
    let writeError: { err: unknown } | undefined;
    const flush = async () => {
      const chunks = batch;
      batch = [];
      batchBytes = 0;
      await writing;
      writing = writeAll(handle, chunks).catch((err: unknown) => {
        writeError ??= { err };
        res.body.destroy();
      });
    };
    try {
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > maxBytes) {
            res.body.destroy();
            throw new VerificationError(
              'PULL_DIGEST_MISMATCH',
              'The server sent more bytes than expected',
              { details: { file, expectedSize: maxBytes } },
            );
          }
          hash.update(chunk);
          onBytes?.(chunk.length);
          batch.push(chunk);
          batchBytes += chunk.length;
          if (batchBytes >= WRITE_BATCH_BYTES) await flush();
          if (writeError !== undefined) break;
        }
      } catch (err) {
        if (writeError !== undefined) throw unwritable(writeError.err);
        throw this.#networkError(err, 'GET', this.url(''));
      }
      if (batchBytes > 0) await flush();
      await writing;
      if (writeError !== undefined) throw unwritable(writeError.err);
    } finally {
      await writing;
      await handle.close().catch(() => undefined);
    }
    return { digest: `sha256:${hash.digest('hex')}`, size };
  }

  #networkError(err: unknown, method: string, url: URL): CairnError {
    if (isCairnError(err)) return err;
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    const reason = code ?? (err instanceof Error ? err.message : String(err));
    return new InfraError(
      'REGISTRY_UNREACHABLE',
      `Cannot reach the Cairn server at ${url.origin} (${reason})`,
      { cause: err, details: { server: url.origin, method, path: url.pathname, reason } },
    );
  }
}

/** Parses and validates a JSON body; every bad field path is reported. */
export function parseJsonResponse<S extends z.ZodType>(
  bytes: Buffer,
  schema: S,
  what: string,
): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new InfraError('REGISTRY_RESPONSE_INVALID', `The server's answer to ${what} is not JSON`);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new InfraError(
      'REGISTRY_RESPONSE_INVALID',
      `The server's answer to ${what} does not have the expected shape`,
      {
        details: {
          issues: result.error.issues.map((i) => ({
            path: i.path.map(String),
            message: i.message,
          })),
        },
      },
    );
  }
  return result.data;
}

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CATALOG, code);
}

/**
 * The server answers errors as `{ok: false, error: {code, message, hint, details}}` (the CLI's own
 * --json shape) or fastify's `{statusCode, code, error, message}`. A code this client knows comes
 * back as that CairnError, so the exit code and hint are the server's; anything else is
 * REGISTRY_REQUEST_FAILED with the status and the server's code in `details`.
 */
export function serverError(status: number, body: unknown): CairnError {
  const o = (body !== null && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const inner = (o['error'] !== null && typeof o['error'] === 'object' ? o['error'] : o) as Record<
    string,
    unknown
  >;
  const code = inner['code'];
  const message =
    typeof inner['message'] === 'string' ? inner['message'].slice(0, 2000) : `HTTP ${status}`;
  const hint = typeof inner['hint'] === 'string' ? inner['hint'].slice(0, 2000) : undefined;
  const details =
    inner['details'] !== null && typeof inner['details'] === 'object'
      ? (inner['details'] as Record<string, unknown>)
      : undefined;
  if (isErrorCode(code) && code !== 'INTERNAL') {
    return new CairnError(code, message, {
      ...(hint === undefined ? {} : { hint }),
      details: { ...details, httpStatus: status },
    });
  }
  const serverCode = typeof code === 'string' ? code.slice(0, 100) : undefined;
  // A refusal without a Cairn error body (HEAD answers carry none; a proxy may strip it) still
  // says what it is: the status alone decides between "who are you" and "not allowed".
  if (serverCode === undefined && (status === 401 || status === 403)) {
    const which = status === 401 ? 'AUTH_REQUIRED' : 'ACCESS_DENIED';
    return new CairnError(which, `The server refused the request (HTTP ${status})`, {
      details: { httpStatus: status },
    });
  }
  return new InfraError('REGISTRY_REQUEST_FAILED', `The server refused the request: ${message}`, {
    ...(hint === undefined ? {} : { hint }),
    details: {
      httpStatus: status,
      ...(serverCode === undefined ? {} : { serverCode }),
      ...(details === undefined ? {} : { serverDetails: details }),
    },
  });
}

/** Constant-time comparison of two `sha256:<hex>` strings. */
export function sameDigest(a: string, b: string): boolean {
  return constantTimeEqual(Buffer.from(a), Buffer.from(b));
}

// ── the API (docs/registry.md, "HTTP API") ───────────────────────────────────────────────────

const digestSchema = z
  .string()
  .regex(/^sha256:[0-9a-f]{64}$/) as unknown as z.ZodType<Sha256Digest>;
const actorSchema = z.object({ issuer: z.string(), subject: z.string() });
const instant = z.string().max(64);

const roleBindingSchema = z.object({
  subject: actorSchema,
  role: z.string(),
  repository: z.string(),
  environment: z.string(),
});
export const whoamiSchema = z.object({
  ok: z.literal(true),
  identity: actorSchema,
  roles: z.array(roleBindingSchema).max(10_000),
});

const environmentSchema = z.object({
  name: z.string(),
  promotionOnly: z.boolean(),
  protected: z.boolean(),
});
export const repositorySchema = z.object({
  ok: z.literal(true),
  repository: z.object({ name: z.string(), protected: z.boolean() }),
  environments: z.array(environmentSchema).max(1000),
});

const uploadSchema = z.object({
  ok: z.literal(true),
  upload: z.object({ id: z.string().min(1).max(256), offset: z.number().int().nonnegative() }),
});
const blobCommitSchema = z.object({
  ok: z.literal(true),
  blob: z.object({ digest: digestSchema, size: z.number().int().nonnegative() }),
});

export const storedResourceSchema = z.object({
  name: z.string().min(1).max(4096),
  blob: digestSchema,
  size: z.number().int().nonnegative(),
});
const bundleRefSchema = z.object({
  id: z.string(),
  kind: z.enum(['signature', 'attestation']),
  predicateType: z.string(),
});
export const artifactSchema = z.object({
  repository: z.string(),
  environment: z.string(),
  digest: digestSchema,
  resources: z.array(storedResourceSchema).max(100_000),
  serialization: z.record(z.string(), z.unknown()),
  pushedBy: actorSchema,
  at: instant,
});
const pushResponseSchema = z.object({
  ok: z.literal(true),
  artifact: artifactSchema,
  created: z.boolean(),
  bundles: z.array(bundleRefSchema).max(10_000),
});
export const artifactResponseSchema = z.object({
  ok: z.literal(true),
  artifact: artifactSchema,
  bundles: z
    .array(bundleRefSchema.extend({ bundle: z.string().max(16 * 1024 * 1024) }))
    .max(10_000),
});

const tagRecordSchema = z.object({
  repository: z.string(),
  environment: z.string(),
  tag: z.string(),
  digest: digestSchema,
  updatedBy: actorSchema,
  at: instant,
});
const tagHistoryEntrySchema = tagRecordSchema.extend({
  seq: z.number().int(),
  previous: digestSchema.nullable(),
  reason: z.string().optional(),
});
export type TagRecordView = z.infer<typeof tagRecordSchema>;
export type TagHistoryView = z.infer<typeof tagHistoryEntrySchema>;

const requirementSchema = z.object({
  policy: z.string(),
  requirement: z.string(),
  status: z.enum(['satisfied', 'violated', 'waived', 'not-applicable']),
  enforced: z.boolean(),
  code: z.string(),
  reason: z.string(),
  remediation: z.string().optional(),
  waivedBy: z.string().optional(),
});
/** The policy engine's Decision as the server sends it; only what the CLI prints is required. */
export const decisionSchema = z.object({
  outcome: z.enum(['allow', 'allow-with-violations', 'allow-by-break-glass', 'deny']),
  allowed: z.boolean(),
  reason: z.string(),
  remediation: z.string(),
  artifact: z.object({
    digest: z.string(),
    repository: z.string(),
    environment: z.string(),
    reference: z.string(),
    action: z.string(),
    identity: z.string().optional(),
  }),
  policies: z
    .array(
      z.object({
        name: z.string(),
        source: z.string(),
        mode: z.enum(['audit', 'enforce']),
        requirements: z.array(requirementSchema).max(10_000),
      }),
    )
    .max(1000),
  violations: z.array(requirementSchema).max(10_000),
  exceptions: z.array(z.record(z.string(), z.unknown())).max(1000),
  breakGlass: z.array(z.record(z.string(), z.unknown())).max(1000),
  notes: z.array(z.string()).max(1000),
});
export type DecisionView = z.infer<typeof decisionSchema>;

const promotionSchema = z.object({
  ok: z.literal(true),
  decision: decisionSchema,
  promotion: z.object({
    digest: digestSchema,
    from: z.string(),
    to: z.string(),
    auditSeq: z.number().int(),
    attestation: bundleRefSchema.nullable(),
    tag: tagHistoryEntrySchema.optional(),
  }),
});
export type PromotionView = z.infer<typeof promotionSchema>;

export const auditRecordSchema = z
  .object({
    seq: z.number().int().positive(),
    at: z.string(),
    actor: actorSchema,
    action: z.string(),
    decision: z.string(),
    reasons: z.array(z.string()),
    prevHash: z.string(),
    hash: z.string(),
  })
  .loose();
const auditPageSchema = z.object({
  ok: z.literal(true),
  records: z.array(auditRecordSchema).max(1000),
  next: z.number().int().nullable(),
});
/** An audit record exactly as the server sent it (every field kept: the hash covers them all). */
export type AuditRecordJson = z.infer<typeof auditRecordSchema>;

/** `team/model` as one path segment, as the server expects. */
function repoPath(repo: string): string {
  return `/v1/repos/${encodeURIComponent(repo)}`;
}
function envPath(repo: string, env: string): string {
  return `${repoPath(repo)}/envs/${encodeURIComponent(env)}`;
}

/** Typed calls for each route the CLI uses. */
export class RegistryApi {
  constructor(readonly client: RegistryClient) {}

  whoami() {
    return this.client.json('GET', '/v1/whoami', whoamiSchema);
  }

  repository(repo: string) {
    return this.client.json('GET', repoPath(repo), repositorySchema);
  }

  /** True when the blob is already stored (dedup). */
  async hasBlob(repo: string, digest: Sha256Digest): Promise<boolean> {
    const res = await this.client.request('HEAD', `${repoPath(repo)}/blobs/${digest}`);
    res.body.resume();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw serverError(res.status, undefined);
  }

  async beginUpload(repo: string): Promise<{ id: string; offset: number }> {
    return (await this.client.json('POST', `${repoPath(repo)}/blobs/uploads`, uploadSchema)).upload;
  }

  async uploadOffset(repo: string, id: string): Promise<number> {
    const path = `${repoPath(repo)}/blobs/uploads/${encodeURIComponent(id)}`;
    return (await this.client.json('GET', path, uploadSchema)).upload.offset;
  }

  async appendUpload(
    repo: string,
    id: string,
    offset: number,
    body: Readable,
    length: number,
  ): Promise<number> {
    const path = `${repoPath(repo)}/blobs/uploads/${encodeURIComponent(id)}`;
    const res = await this.client.json('PATCH', path, uploadSchema, {
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(length),
        'upload-offset': String(offset),
      },
      body,
    });
    return res.upload.offset;
  }

  async commitUpload(repo: string, id: string, digest: Sha256Digest) {
    const path = `${repoPath(repo)}/blobs/uploads/${encodeURIComponent(id)}`;
    return (await this.client.json('PUT', path, blobCommitSchema, { query: { digest } })).blob;
  }

  async abortUpload(repo: string, id: string): Promise<void> {
    const path = `${repoPath(repo)}/blobs/uploads/${encodeURIComponent(id)}`;
    const res = await this.client.request('DELETE', path);
    res.body.resume();
  }

  putArtifact(repo: string, env: string, digest: Sha256Digest, body: PushBody) {
    return this.client.json(
      'PUT',
      `${envPath(repo, env)}/artifacts/${digest}`,
      pushResponseSchema,
      {
        json: body,
        limit: 64 * 1024 * 1024,
      },
    );
  }

  getArtifact(repo: string, env: string, ref: string) {
    return this.client.json(
      'GET',
      `${envPath(repo, env)}/artifacts/${encodeURIComponent(ref)}`,
      artifactResponseSchema,
      { limit: 128 * 1024 * 1024 },
    );
  }

  /** Opens a blob of an artifact for download (the caller streams and verifies it). */
  async openBlob(repo: string, env: string, digest: Sha256Digest, blob: Sha256Digest) {
    const res = await this.client.request(
      'GET',
      `${envPath(repo, env)}/artifacts/${digest}/blobs/${blob}`,
      { headers: { accept: 'application/octet-stream' } },
    );
    if (res.status !== 200) throw await this.client.errorFrom(res);
    return res;
  }

  promote(repo: string, body: { digest: Sha256Digest; from: string; to: string; tag?: string }) {
    return this.client.json('POST', `${repoPath(repo)}/promotions`, promotionSchema, {
      json: body,
    });
  }

  async tags(repo: string, env: string) {
    return (
      await this.client.json(
        'GET',
        `${envPath(repo, env)}/tags`,
        z.object({ ok: z.literal(true), tags: z.array(tagRecordSchema).max(100_000) }),
        { limit: 64 * 1024 * 1024 },
      )
    ).tags;
  }

  async tagHistory(repo: string, env: string, tag?: string, at?: string) {
    const path =
      tag === undefined
        ? `${envPath(repo, env)}/tag-history`
        : `${envPath(repo, env)}/tags/${encodeURIComponent(tag)}/history`;
    return (
      await this.client.json(
        'GET',
        path,
        z.object({ ok: z.literal(true), history: z.array(tagHistoryEntrySchema).max(1_000_000) }),
        { limit: 128 * 1024 * 1024, query: { at } },
      )
    ).history;
  }

  auditPage(after: number, limit: number) {
    return this.client.json('GET', '/v1/audit', auditPageSchema, {
      query: { after, limit },
      limit: 64 * 1024 * 1024,
    });
  }
}

/** The body of `PUT …/artifacts/:digest` (docs/registry.md, "Push body"). */
export interface PushBody {
  readonly resources: readonly { name: string; blob: Sha256Digest; size: number }[];
  readonly serialization: Readonly<Record<string, unknown>>;
  readonly signatures: readonly string[];
  readonly attestations: readonly string[];
  readonly tag?: string;
}

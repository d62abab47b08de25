import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { UsageError, isCairnError } from '../errors/index.js';
import {
  addBundleFromJSON,
  addBundleSchema,
  breakGlassRequestFromJSON,
  breakGlassRequestSchema,
  createRepositoryFromJSON,
  createRepositorySchema,
  exceptionRequestFromJSON,
  exceptionRequestSchema,
  isSha256Digest,
  promoteFromJSON,
  promoteSchema,
  pushRequestFromJSON,
  pushRequestSchema,
  repositoryName,
  sha256Digest,
  signRequestFromJSON,
  signSchema,
  tagMoveFromJSON,
  tagMoveSchema,
  type ArtifactReference,
  type Registry,
} from '../registry/index.js';
import { ROLES, type Actor, type ApiTokenRecord, type Role } from '../store/index.js';
import type { ServerAuth } from './access.js';
import { issueApiToken } from './auth/index.js';

const actorSchema = z.strictObject({
  issuer: z.string().min(1).max(512),
  subject: z.string().min(1).max(512),
});
const tokenSchema = z.strictObject({
  subject: z.string().min(1).max(256),
  description: z.string().max(512),
  expiresInSeconds: z
    .number()
    .int()
    .positive()
    .max(10 * 365 * 86400)
    .optional(),
});
const roleSchema = z.strictObject({
  subject: actorSchema,
  role: z.enum(ROLES),
  repository: z.string().min(1).max(256),
  environment: z.string().min(1).max(63),
});

/** A token record as the API shows it: everything but the secret's hash. */
function publicToken(record: ApiTokenRecord): Omit<ApiTokenRecord, 'secretHash'> {
  return {
    id: record.id,
    subject: record.subject,
    description: record.description,
    createdBy: record.createdBy,
    at: record.at,
    expiresAt: record.expiresAt,
    revokedAt: record.revokedAt,
  };
}

function parseBody<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({
    path: i.path.join('.') || '(body)',
    message: i.message,
  }));
  throw new UsageError(
    'REQUEST_INVALID',
    `The request body is not valid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    {
      details: { issues },
    },
  );
}

/** Everything a handler gets: the request, the reply, the caller (undefined on public routes). */
export interface RouteContext {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly actor: Actor;
  readonly registry: Registry;
  readonly auth: ServerAuth;
  readonly limits: { readonly chunkBytes: number };
}

/**
 * One route: how it is called, who may call it, the zod schema of its body (validation and the
 * OpenAPI document come from the same object), and the handler. Authentication is one
 * preHandler for every non-public route; authorization is `need()` inside the handler, because
 * the environment it checks can come from the body (promotion's `to`).
 */
export interface RouteSpec {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly summary: string;
  readonly public?: boolean;
  readonly body?: z.ZodType;
  /** A raw `application/octet-stream` body (blob chunks). */
  readonly rawBody?: boolean;
  readonly query?: Readonly<Record<string, string>>;
  readonly responses: Readonly<Record<number, string>>;
  readonly handler: (ctx: RouteContext) => Promise<unknown>;
}

const READ_ROLES: readonly Role[] = ['reader', 'pusher', 'signer', 'promoter', 'deployer'];

function params(request: FastifyRequest): Record<string, string> {
  return request.params as Record<string, string>;
}

function repoParam(request: FastifyRequest): string {
  return repositoryName(params(request)['repo']);
}

function envParam(ctx: RouteContext): string {
  return ctx.registry.environment(params(ctx.request)['env'] ?? '').name;
}

function digestParam(request: FastifyRequest, name = 'digest'): ReturnType<typeof sha256Digest> {
  return sha256Digest(params(request)[name], name);
}

const UPLOAD_ID = /^[A-Za-z0-9_-]{1,128}$/;
function uploadParam(request: FastifyRequest): string {
  const id = params(request)['id'];
  if (id === undefined || !UPLOAD_ID.test(id)) {
    throw new UsageError('REQUEST_INVALID', 'Invalid upload id', {
      details: { issues: [{ path: 'id', message: 'must be 1–128 of A-Za-z0-9_-' }] },
    });
  }
  return id;
}

function need(
  ctx: RouteContext,
  roles: readonly Role[],
  repository?: string,
  environment?: string,
) {
  return ctx.auth.authorize(ctx.actor, {
    roles,
    ...(repository === undefined ? {} : { repository }),
    ...(environment === undefined ? {} : { environment }),
  });
}

function query(request: FastifyRequest): Record<string, string | undefined> {
  return request.query as Record<string, string | undefined>;
}

function nonNegativeInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^(0|[1-9][0-9]{0,14})$/.test(value)) {
    throw new UsageError('REQUEST_INVALID', `Invalid ${name}`, {
      details: { issues: [{ path: name, message: 'must be a non-negative integer' }] },
    });
  }
  return Number(value);
}

function instant(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(t)) {
    throw new UsageError('REQUEST_INVALID', `Invalid ${name}`, {
      details: { issues: [{ path: name, message: 'must be an RFC 3339 instant' }] },
    });
  }
  return new Date(t);
}

const ARTIFACT = '/v1/repos/:repo/envs/:env/artifacts';
const UPLOADS = '/v1/repos/:repo/blobs/uploads';

/** Every route the server offers (besides `/openapi.json`, which is built from this list). */
export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'GET',
    url: '/healthz',
    summary: 'Liveness: the process is up',
    public: true,
    responses: { 200: '{ok:true}' },
    handler: () => Promise.resolve({ ok: true }),
  },
  {
    method: 'GET',
    url: '/readyz',
    summary: 'Readiness: the metadata and blob stores answer',
    public: true,
    responses: { 200: '{ok:true, metadata, blobs}', 503: 'STORE_UNAVAILABLE' },
    handler: async ({ registry }) => {
      await registry.ping();
      return { ok: true, metadata: registry.metadata.backend, blobs: registry.blobs.backend };
    },
  },
  {
    method: 'GET',
    url: '/v1/whoami',
    summary: 'The authenticated identity and its role bindings',
    responses: { 200: '{ok:true, identity, roles}' },
    handler: async ({ actor, registry }) => ({
      ok: true,
      identity: actor,
      roles: await registry.metadata.listRoleBindings(actor),
    }),
  },
  // ── repositories ──
  {
    method: 'POST',
    url: '/v1/repos',
    summary: 'Create a repository',
    body: createRepositorySchema,
    responses: { 201: '{ok:true, repository}', 409: 'REPOSITORY_EXISTS' },
    handler: async (ctx) => {
      const body = createRepositoryFromJSON(ctx.request.body);
      const name = repositoryName(body.name);
      await need(ctx, ['admin'], name);
      const repository = await ctx.registry.createRepository(
        ctx.actor,
        name,
        body.protected ?? false,
      );
      void ctx.reply.code(201);
      return { ok: true, repository };
    },
  },
  {
    method: 'GET',
    url: '/v1/repos',
    summary: 'List the repositories the caller can read',
    responses: { 200: '{ok:true, repositories}' },
    handler: async (ctx) => {
      const all = await ctx.registry.listRepositories();
      const visible = [];
      for (const r of all) {
        try {
          await need(ctx, READ_ROLES, r.name);
          visible.push(r);
        } catch {
          // not readable by this caller: not listed
        }
      }
      return { ok: true, repositories: visible };
    },
  },
  {
    method: 'GET',
    url: '/v1/repos/:repo',
    summary: 'A repository and the environments it has',
    responses: { 200: '{ok:true, repository, environments}', 404: 'REPOSITORY_NOT_FOUND' },
    handler: async (ctx) => {
      const name = repoParam(ctx.request);
      await need(ctx, READ_ROLES, name);
      const repository = await ctx.registry.repository(name);
      return { ok: true, repository, environments: ctx.registry.environments };
    },
  },
  // ── blob uploads ──
  {
    method: 'HEAD',
    url: '/v1/repos/:repo/blobs/:digest',
    summary: "Does this repository's artifacts list the blob (dedup check before uploading)",
    responses: { 200: 'exists (Content-Length)', 404: 'absent' },
    handler: async (ctx) => {
      const repo = repoParam(ctx.request);
      await need(ctx, ['pusher'], repo);
      // 404 unless this repository's artifacts list the blob: no probing other repositories.
      const info = await ctx.registry.repositoryBlob(repo, digestParam(ctx.request));
      if (info === undefined) return ctx.reply.code(404).send();
      return ctx.reply.code(200).header('content-length', info.size).send();
    },
  },
  {
    method: 'POST',
    url: UPLOADS,
    summary: 'Begin a resumable blob upload',
    responses: { 201: '{ok:true, upload:{id, offset}}' },
    handler: async (ctx) => {
      const repo = repoParam(ctx.request);
      await need(ctx, ['pusher'], repo);
      await ctx.registry.repository(repo);
      const upload = await ctx.registry.blobs.beginUpload();
      void ctx.reply
        .code(201)
        .header('location', `/v1/repos/${encodeURIComponent(repo)}/blobs/uploads/${upload.id}`);
      return { ok: true, upload };
    },
  },
  {
    method: 'GET',
    url: `${UPLOADS}/:id`,
    summary: 'Where an upload stands (resume point)',
    responses: { 200: '{ok:true, upload}', 404: 'BLOB_UPLOAD_UNKNOWN' },
    handler: async (ctx) => {
      await need(ctx, ['pusher'], repoParam(ctx.request));
      return { ok: true, upload: await ctx.registry.blobs.getUpload(uploadParam(ctx.request)) };
    },
  },
  {
    method: 'PATCH',
    url: `${UPLOADS}/:id`,
    summary: 'Append a chunk at Upload-Offset (application/octet-stream)',
    rawBody: true,
    responses: { 200: '{ok:true, upload}', 409: 'BLOB_UPLOAD_OFFSET', 413: 'REQUEST_TOO_LARGE' },
    handler: async (ctx) => {
      await need(ctx, ['pusher'], repoParam(ctx.request));
      const id = uploadParam(ctx.request);
      const header = ctx.request.headers['upload-offset'];
      const offset = nonNegativeInt(
        typeof header === 'string' ? header : undefined,
        'Upload-Offset',
        -1,
      );
      if (offset < 0) {
        throw new UsageError('REQUEST_INVALID', 'PATCH needs an Upload-Offset header', {
          details: { issues: [{ path: 'Upload-Offset', message: 'required' }] },
        });
      }
      const body = ctx.request.body as NodeJS.ReadableStream;
      const upload = await ctx.registry.blobs.appendUpload(id, offset, body, ctx.limits.chunkBytes);
      return { ok: true, upload };
    },
  },
  {
    method: 'PUT',
    url: `${UPLOADS}/:id`,
    summary: 'Commit an upload under ?digest=sha256:…',
    query: { digest: 'sha256:<64 hex> the bytes must hash to' },
    responses: { 201: '{ok:true, blob:{digest, size}}', 422: 'BLOB_DIGEST_MISMATCH' },
    handler: async (ctx) => {
      const repo = repoParam(ctx.request);
      await need(ctx, ['pusher'], repo);
      const id = uploadParam(ctx.request);
      const digest = sha256Digest(query(ctx.request)['digest'], 'digest');
      const blob = await ctx.registry.commitUpload(ctx.actor, repo, id, digest);
      void ctx.reply.code(201);
      return { ok: true, blob };
    },
  },
  {
    method: 'DELETE',
    url: `${UPLOADS}/:id`,
    summary: 'Abandon an upload',
    responses: { 204: 'abandoned' },
    handler: async (ctx) => {
      await need(ctx, ['pusher'], repoParam(ctx.request));
      await ctx.registry.blobs.abortUpload(uploadParam(ctx.request));
      return ctx.reply.code(204).send();
    },
  },
  // ── artifacts ──
  {
    method: 'PUT',
    url: `${ARTIFACT}/:digest`,
    summary: 'Push an artifact (its blobs uploaded first) with signatures and attestations',
    body: pushRequestSchema,
    responses: {
      200: 'already there',
      201: '{ok:true, artifact, created, bundles}',
      403: 'PUSH_TO_PROTECTED_ENVIRONMENT',
      422: 'ARTIFACT_INVALID | ARTIFACT_DIGEST_MISMATCH',
    },
    handler: async (ctx) => {
      const repo = repoParam(ctx.request);
      const env = envParam(ctx);
      await need(ctx, ['pusher'], repo, env);
      const digest = digestParam(ctx.request);
      const body = pushRequestFromJSON(ctx.request.body);
      const pushed = await ctx.registry.push(ctx.actor, repo, env, digest, body);
      void ctx.reply.code(pushed.created ? 201 : 200);
      return { ok: true, ...pushed };
    },
  },
  {
    method: 'GET',
    url: ARTIFACT,
    summary: 'List the artifacts in an environment',
    responses: { 200: '{ok:true, artifacts}' },
    handler: async (ctx) => {
      const repo = repoParam(ctx.request);
      const env = envParam(ctx);
      await need(ctx, readRoles(ctx, env), repo, env);
      return { ok: true, artifacts: await ctx.registry.listArtifacts(repo, env) };
    },
  },
  {
    method: 'GET',
    url: `${ARTIFACT}/:ref`,
    summary: 'Retrieve an artifact manifest and its bundles (by digest, or tag where allowed)',
    responses: {
      200: '{ok:true, artifact, bundles, decision?}',
      403: 'REFERENCE_NOT_PINNED | POLICY_DENIED',
    },
    handler: async (ctx) => {
      const repo = repoParam(ctx.request);
      const env = envParam(ctx);
      await need(ctx, readRoles(ctx, env), repo, env);
      const ref = params(ctx.request)['ref'] ?? '';
      const reference: ArtifactReference = isSha256Digest(ref)
        ? { kind: 'digest', digest: ref }
        : ref.startsWith('sha256:')
          ? { kind: 'digest', digest: sha256Digest(ref, 'ref') }
          : { kind: 'tag', tag: ref };
      const r = await ctx.registry.retrieve(ctx.actor, repo, env, reference);
      return {
        ok: true,
        artifact: r.artifact,
        bundles: r.bundles,
        ...(r.decision === undefined ? {} : { decision: r.decision }),
      };
    },
  },
  {
    method: 'GET',
    url: `${ARTIFACT}/:digest/blobs/:blob`,
    summary: "Download one of the artifact's blobs (re-hashed as it streams)",
    responses: { 200: 'application/octet-stream', 404: 'BLOB_NOT_FOUND' },
    handler: async (ctx) => {
      const repo = repoParam(ctx.request);
      const env = envParam(ctx);
      await need(ctx, readRoles(ctx, env), repo, env);
      const { size, stream } = await ctx.registry.openArtifactBlob(
        ctx.actor,
        repo,
        env,
        digestParam(ctx.request),
        digestParam(ctx.request, 'blob'),
      );
      return ctx.reply
        .code(200)
        .header('content-type', 'application/octet-stream')
        .header('content-length', size)
        .send(stream);
    },
  },
  {
    method: 'POST',
    url: `${ARTIFACT}/:digest/bundles`,
    summary: 'Attach a signature or attestation bundle to an artifact',
    body: addBundleSchema,
    responses: { 201: '{ok:true, bundle, created}' },
    handler: async (ctx) => {
      const repo = repoParam(ctx.request);
      const env = envParam(ctx);
      await need(ctx, ['pusher', 'signer'], repo, env);
      const { bundle } = addBundleFromJSON(ctx.request.body);
      const added = await ctx.registry.addBundle(
        ctx.actor,
        repo,
        env,
        digestParam(ctx.request),
        bundle,
      );
      void ctx.reply.code(added.created ? 201 : 200);
      return { ok: true, ...added };
    },
  },
  {
    method: 'GET',
    url: '/v1/repos/:repo/artifacts/:digest/bundles',
    summary: 'Every signature and attestation stored for a digest',
    responses: { 200: '{ok:true, bundles}' },
    handler: async (ctx) => {
      const repo = repoParam(ctx.request);
      await need(ctx, READ_ROLES, repo);
      return { ok: true, bundles: await ctx.registry.listBundles(repo, digestParam(ctx.request)) };
    },
  },
  {
    method: 'POST',
    url: `${ARTIFACT}/:digest/sign`,
    summary: "Sign or attest with the server's key (central signing)",
    body: signSchema,
    responses: { 201: '{ok:true, bundle}', 503: 'SIGNING_UNAVAILABLE' },
    handler: async (ctx) => {
      const repo = repoParam(ctx.request);
      const env = envParam(ctx);
      await need(ctx, ['signer'], repo, env);
      const request = signRequestFromJSON(ctx.request.body);
      const bundle = await ctx.registry.sign(
        ctx.actor,
        repo,
        env,
        digestParam(ctx.request),
        request,
      );
      void ctx.reply.code(201);
      return { ok: true, bundle };
    },
  },
  // ── tags ──
  {
    method: 'GET',
    url: '/v1/repos/:repo/envs/:env/tags',
    summary: 'List the tags of an environment',
    responses: { 200: '{ok:true, tags}' },
    handler: async (ctx) => {
      const repo = repoParam(ctx.request);
      const env = envParam(ctx);
      await need(ctx, READ_ROLES, repo, env);
      return { ok: true, tags: await ctx.registry.listTags(repo, env) };
    },
  },
  {
    method: 'GET',
    url: '/v1/repos/:repo/envs/:env/tags/:tag',
    summary: 'Resolve a tag',
    responses: { 200: '{ok:true, tag}', 404: 'TAG_NOT_FOUND' },
    handler: async (ctx) => {
      const repo = repoParam(ctx.request);
      const env = envParam(ctx);
      await need(ctx, READ_ROLES, repo, env);
      return {
        ok: true,
        tag: await ctx.registry.getTag(repo, env, params(ctx.request)['tag'] ?? ''),
      };
    },
  },
  {
    method: 'PUT',
    url: '/v1/repos/:repo/envs/:env/tags/:tag',
    summary: 'Move a tag (compare-and-set with expected; immutable in protected repositories)',
    body: tagMoveSchema,
    responses: { 200: '{ok:true, tag}', 409: 'TAG_CONFLICT | TAG_IMMUTABLE' },
    handler: async (ctx) => {
      const repo = repoParam(ctx.request);
      const env = envParam(ctx);
      const roles: Role[] = ctx.registry.environment(env).promotionOnly ? ['promoter'] : ['pusher'];
      await need(ctx, roles, repo, env);
      const body = tagMoveFromJSON(ctx.request.body);
      const tag = await ctx.registry.moveTag(
        ctx.actor,
        repo,
        env,
        params(ctx.request)['tag'] ?? '',
        body,
      );
      return { ok: true, tag };
    },
  },
  {
    method: 'GET',
    url: '/v1/repos/:repo/envs/:env/tags/:tag/history',
    summary: "A tag's history, oldest first",
    responses: { 200: '{ok:true, history}' },
    handler: async (ctx) => {
      const repo = repoParam(ctx.request);
      const env = envParam(ctx);
      await need(ctx, READ_ROLES, repo, env);
      const history = await ctx.registry.tagHistory(repo, env, params(ctx.request)['tag'] ?? '');
      return { ok: true, history };
    },
  },
  {
    method: 'GET',
    url: '/v1/repos/:repo/envs/:env/tag-history',
    summary: 'Every tag move of an environment, optionally up to ?at=RFC3339',
    query: { at: 'only moves at or before this instant' },
    responses: { 200: '{ok:true, history}' },
    handler: async (ctx) => {
      const repo = repoParam(ctx.request);
      const env = envParam(ctx);
      await need(ctx, READ_ROLES, repo, env);
      const at = instant(query(ctx.request)['at'], 'at');
      return { ok: true, history: await ctx.registry.tagHistory(repo, env, undefined, at) };
    },
  },
  // ── promotion ──
  {
    method: 'POST',
    url: '/v1/repos/:repo/promotions',
    summary: 'Promote a digest between environments through the policy',
    body: promoteSchema,
    responses: { 200: '{ok:true, decision, promotion}', 403: 'POLICY_DENIED (details.decision)' },
    handler: async (ctx) => {
      const repo = repoParam(ctx.request);
      const body = promoteFromJSON(ctx.request.body);
      const to = ctx.registry.environment(body.to).name;
      await need(ctx, ['promoter', 'break-glass'], repo, to);
      const p = await ctx.registry.promote(ctx.actor, repo, body);
      const { decision, ...promotion } = p;
      return { ok: true, decision, promotion };
    },
  },
  // ── exceptions and break-glass ──
  {
    method: 'POST',
    url: '/v1/exceptions',
    summary: 'Store a policy exception (PolicyException document; audited)',
    body: exceptionRequestSchema,
    responses: { 201: '{ok:true, exception}', 422: 'POLICY_INVALID' },
    handler: async (ctx) => {
      await need(ctx, ['admin']);
      const { document } = exceptionRequestFromJSON(ctx.request.body);
      const exception = await ctx.registry.createException(ctx.actor, document);
      void ctx.reply.code(201);
      return { ok: true, exception };
    },
  },
  {
    method: 'GET',
    url: '/v1/exceptions',
    summary: 'The stored exceptions that have not expired',
    responses: { 200: '{ok:true, exceptions}' },
    handler: async (ctx) => {
      await need(ctx, ['admin']);
      return { ok: true, exceptions: await ctx.registry.listPolicyData('exception') };
    },
  },
  {
    method: 'POST',
    url: '/v1/break-glass',
    summary: 'Request a break-glass grant for an incident (break-glass role; TTL capped by policy)',
    body: breakGlassRequestSchema,
    responses: { 201: '{ok:true, grant}', 403: 'ACCESS_DENIED' },
    handler: async (ctx) => {
      const body = breakGlassRequestFromJSON(ctx.request.body);
      const repo = repositoryName(body.repository);
      const env = ctx.registry.environment(body.environment).name;
      // Only the break-glass role: admin does not imply it. A refused request is audited too.
      try {
        await need(ctx, ['break-glass'], repo, env);
      } catch (err) {
        if (isCairnError(err)) {
          await ctx.registry.audit(
            ctx.actor,
            'break-glass.grant',
            'deny',
            { repository: repo, environment: env },
            [err.code],
            { grant: body.name, incident: body.incident },
          );
        }
        throw err;
      }
      const grant = await ctx.registry.requestBreakGlass(ctx.actor, {
        ...body,
        repository: repo,
        environment: env,
      });
      void ctx.reply.code(201);
      return { ok: true, grant };
    },
  },
  {
    method: 'GET',
    url: '/v1/break-glass',
    summary: 'The stored break-glass grants that have not expired',
    responses: { 200: '{ok:true, grants}' },
    handler: async (ctx) => {
      await need(ctx, ['admin']);
      return { ok: true, grants: await ctx.registry.listPolicyData('break-glass') };
    },
  },
  // ── audit ──
  {
    method: 'GET',
    url: '/v1/audit',
    summary: 'The audit trail, oldest first, in pages',
    query: { after: 'records with seq > after', limit: 'at most this many (≤ 1000)' },
    responses: { 200: '{ok:true, records, next}' },
    handler: async (ctx) => {
      await need(ctx, ['admin']);
      const q = query(ctx.request);
      const afterSeq = nonNegativeInt(q['after'], 'after', 0);
      const limit = Math.min(1000, Math.max(1, nonNegativeInt(q['limit'], 'limit', 1000)));
      const records = await ctx.registry.listAudit({ afterSeq, limit });
      const last = records.at(-1);
      return {
        ok: true,
        records,
        next: records.length === limit && last !== undefined ? last.seq : null,
      };
    },
  },
  // ── tokens and roles (admin) ──
  {
    method: 'POST',
    url: '/v1/tokens',
    summary: 'Issue an API token (shown only in this response)',
    body: tokenSchema,
    responses: { 201: '{ok:true, token, record}' },
    handler: async (ctx) => {
      await need(ctx, ['admin']);
      const body = parseBody(tokenSchema, ctx.request.body);
      const at = new Date();
      const issued = await issueApiToken(ctx.registry.metadata, {
        subject: body.subject,
        description: body.description,
        expiresAt:
          body.expiresInSeconds === undefined
            ? null
            : new Date(at.getTime() + body.expiresInSeconds * 1000),
        createdBy: ctx.actor,
        at,
      });
      const record = publicToken(issued.record);
      await ctx.registry.audit(ctx.actor, 'token.create', 'allow', {}, [], {
        tokenId: record.id,
        subject: body.subject,
      });
      void ctx.reply.code(201);
      return { ok: true, token: issued.token, record };
    },
  },
  {
    method: 'GET',
    url: '/v1/tokens',
    summary: 'List API tokens (never their secrets)',
    responses: { 200: '{ok:true, tokens}' },
    handler: async (ctx) => {
      await need(ctx, ['admin']);
      const tokens = (await ctx.registry.metadata.listApiTokens()).map(publicToken);
      return { ok: true, tokens };
    },
  },
  {
    method: 'DELETE',
    url: '/v1/tokens/:id',
    summary: 'Revoke an API token',
    responses: { 204: 'revoked' },
    handler: async (ctx) => {
      await need(ctx, ['admin']);
      const id = params(ctx.request)['id'] ?? '';
      await ctx.registry.metadata.revokeApiToken(id, new Date());
      await ctx.registry.audit(ctx.actor, 'token.revoke', 'allow', {}, [], { tokenId: id });
      return ctx.reply.code(204).send();
    },
  },
  {
    method: 'POST',
    url: '/v1/roles',
    summary: 'Grant a role on a repository glob and environment',
    body: roleSchema,
    responses: { 201: '{ok:true}' },
    handler: async (ctx) => {
      await need(ctx, ['admin']);
      const b = parseBody(roleSchema, ctx.request.body);
      await ctx.registry.metadata.grantRole({ ...b, grantedBy: ctx.actor, at: new Date() });
      await ctx.registry.audit(ctx.actor, 'role.grant', 'allow', {}, [], { ...b });
      void ctx.reply.code(201);
      return { ok: true };
    },
  },
  {
    method: 'DELETE',
    url: '/v1/roles',
    summary: 'Revoke a role binding',
    body: roleSchema,
    responses: { 204: 'revoked' },
    handler: async (ctx) => {
      await need(ctx, ['admin']);
      const b = parseBody(roleSchema, ctx.request.body);
      await ctx.registry.metadata.revokeRole(b.subject, b.role, b.repository, b.environment);
      await ctx.registry.audit(ctx.actor, 'role.grant', 'allow', {}, ['revoke'], {
        ...b,
        revoked: true,
      });
      return ctx.reply.code(204).send();
    },
  },
  {
    method: 'GET',
    url: '/v1/roles',
    summary: 'List role bindings (optionally of ?issuer=&subject=)',
    query: {
      issuer: 'with subject: only this identity',
      subject: 'with issuer: only this identity',
    },
    responses: { 200: '{ok:true, bindings}' },
    handler: async (ctx) => {
      await need(ctx, ['admin']);
      const q = query(ctx.request);
      const issuer = q['issuer'];
      const subject = q['subject'];
      const bindings = await ctx.registry.metadata.listRoleBindings(
        issuer !== undefined && subject !== undefined ? { issuer, subject } : undefined,
      );
      return { ok: true, bindings };
    },
  },
];

/** Reads in protected environments need the deployer role; elsewhere any role in the repo. */
function readRoles(ctx: RouteContext, env: string): readonly Role[] {
  return ctx.registry.environment(env).protected ? ['deployer'] : READ_ROLES;
}

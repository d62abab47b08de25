import { z } from 'zod';
import { UsageError } from '../errors/index.js';
import type { Sha256Digest } from '../store/index.js';

/**
 * Untrusted request bodies (STYLE.md §3): each `xFromJSON(input: unknown)` checks counts and
 * sizes in the schema, collects every bad field and throws REQUEST_INVALID listing them all.
 * The server hands these the parsed JSON body (itself size-limited); the same zod schemas
 * generate the OpenAPI document.
 */

/** Most resources (files) one artifact may list. */
export const MAX_RESOURCES = 100_000;
/** Most signatures plus attestations sent with one push. */
export const MAX_PUSH_BUNDLES = 64;
/** Largest bundle accepted as text. */
export const MAX_BUNDLE_TEXT = 1024 * 1024;

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 lowercase hex>');
const bundleText = z.string().min(2).max(MAX_BUNDLE_TEXT);

export const resourceSchema = z.strictObject({
  name: z.string().min(1).max(4096),
  blob: digest,
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

/** The OMS `serialization` block, as the reference writes it. */
export const serializationSchema = z.strictObject({
  method: z.enum(['files', 'shards']),
  hash_type: z.enum(['sha256', 'blake2b', 'blake3']),
  shard_size: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  allow_symlinks: z.boolean().optional(),
  ignore_paths: z.array(z.string().max(4096)).max(10_000).optional(),
});

export const pushRequestSchema = z.strictObject({
  resources: z.array(resourceSchema).min(1).max(MAX_RESOURCES),
  serialization: serializationSchema,
  signatures: z.array(bundleText).max(MAX_PUSH_BUNDLES).optional(),
  attestations: z.array(bundleText).max(MAX_PUSH_BUNDLES).optional(),
  tag: z.string().max(128).optional(),
});

export const createRepositorySchema = z.strictObject({
  name: z.string().max(256),
  protected: z.boolean().optional(),
});

export const tagMoveSchema = z.strictObject({
  digest,
  expected: digest.nullable().optional(),
  reason: z.string().max(1024).optional(),
});

export const promoteSchema = z.strictObject({
  digest,
  from: z.string().max(63),
  to: z.string().max(63),
  tag: z.string().max(128).optional(),
});

export const addBundleSchema = z.strictObject({ bundle: bundleText });

export const signSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('signature') }),
  z.strictObject({
    kind: z.literal('attestation'),
    predicateType: z.string().min(1).max(512),
    predicate: z.record(z.string(), z.unknown()),
  }),
]);

/** An exception document (the policy engine's `PolicyException`, checked again by its schema). */
export const exceptionRequestSchema = z.strictObject({
  document: z.record(z.string(), z.unknown()),
});

/**
 * A break-glass request: the server writes the grant (requester = the caller, granted now), so
 * the caller names only what the grant covers, why, and for how long (capped by the policy).
 */
export const breakGlassRequestSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/, 'must be a policy document name'),
  repository: z.string().max(256),
  environment: z.string().max(63),
  digests: z.array(digest).min(1).max(64).optional(),
  incident: z.string().min(1).max(256),
  reason: z.string().min(1).max(4096),
  ttlSeconds: z
    .number()
    .int()
    .positive()
    .max(7 * 86400),
});

export type OmsSerialization = z.output<typeof serializationSchema>;
export interface PushResource {
  readonly name: string;
  readonly blob: Sha256Digest;
  readonly size: number;
}
export type PushRequest = Omit<z.output<typeof pushRequestSchema>, 'resources'> & {
  readonly resources: readonly PushResource[];
};
export type CreateRepositoryRequest = z.output<typeof createRepositorySchema>;
export interface TagMoveRequest {
  readonly digest: Sha256Digest;
  readonly expected?: Sha256Digest | null;
  readonly reason?: string;
}
export interface PromoteRequest {
  readonly digest: Sha256Digest;
  readonly from: string;
  readonly to: string;
  readonly tag?: string;
}
export type SignRequest = z.output<typeof signSchema>;
export type BreakGlassRequest = Omit<z.output<typeof breakGlassRequestSchema>, 'digests'> & {
  readonly digests?: readonly Sha256Digest[];
};

export interface RequestIssue {
  readonly path: string;
  readonly message: string;
}

function pathOf(path: readonly PropertyKey[]): string {
  return (
    path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '') || '(body)'
  );
}

function parseWith<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues: RequestIssue[] = parsed.error.issues.map((i) => ({
    path: pathOf(i.path),
    message: i.message,
  }));
  throw new UsageError('REQUEST_INVALID', `The ${what} is not valid: ${listIssues(issues)}`, {
    details: { issues },
  });
}

/** The first five issues as one line, and how many more there are. */
export function listIssues(issues: readonly RequestIssue[]): string {
  const shown = issues
    .slice(0, 5)
    .map((i) => `${i.path}: ${i.message}`)
    .join('; ');
  return `${shown}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`;
}

// The schemas check every digest field against the sha256 pattern; the casts only name that.
export const pushRequestFromJSON = (input: unknown): PushRequest =>
  parseWith(pushRequestSchema, input, 'push request') as PushRequest;
export const createRepositoryFromJSON = (input: unknown): CreateRepositoryRequest =>
  parseWith(createRepositorySchema, input, 'repository request');
export const tagMoveFromJSON = (input: unknown): TagMoveRequest =>
  parseWith(tagMoveSchema, input, 'tag request') as TagMoveRequest;
export const promoteFromJSON = (input: unknown): PromoteRequest =>
  parseWith(promoteSchema, input, 'promotion request') as PromoteRequest;
export const addBundleFromJSON = (input: unknown): { bundle: string } =>
  parseWith(addBundleSchema, input, 'bundle request');
export const signRequestFromJSON = (input: unknown): SignRequest =>
  parseWith(signSchema, input, 'signing request');
export const exceptionRequestFromJSON = (input: unknown): { document: Record<string, unknown> } =>
  parseWith(exceptionRequestSchema, input, 'exception request');
export const breakGlassRequestFromJSON = (input: unknown): BreakGlassRequest =>
  parseWith(breakGlassRequestSchema, input, 'break-glass request') as BreakGlassRequest;

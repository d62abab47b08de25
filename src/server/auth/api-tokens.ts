import { createHash, randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../../digest/index.js';
import { API_TOKEN_ISSUER } from './issuer.js';
import { UsageError } from '../../errors/index.js';
import type { Actor, ApiTokenRecord, MetadataStore } from '../../store/index.js';

/**
 * Opaque API tokens for the embedded default: `cairn_<id>_<secret>`. The id (16 lowercase hex,
 * 8 random bytes) is public: it names the token in lists and finds its record. The secret is
 * 32 random bytes as unpadded base64url (43 characters); only its SHA-256 is stored, and the
 * token string is returned once, when issued.
 */

/** The issuer of every API-token identity (an API token never stands for an OIDC identity). */
export { API_TOKEN_ISSUER };
export const API_TOKEN_PREFIX = 'cairn_';
const ID_BYTES = 8;
const SECRET_BYTES = 32;
const ID_CHARS = ID_BYTES * 2;
const SECRET_CHARS = 43;
/** The exact length of every token this module issues: checked before anything else. */
export const API_TOKEN_LENGTH = API_TOKEN_PREFIX.length + ID_CHARS + 1 + SECRET_CHARS;
const SHAPE = /^cairn_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface ParsedApiToken {
  readonly id: string;
  /** The 32 secret bytes. */
  readonly secret: Buffer;
}

/** Builds the token string from its parts (the inverse of `parseApiToken`). */
export function formatApiToken(id: string, secret: Uint8Array): string {
  return `${API_TOKEN_PREFIX}${id}_${Buffer.from(secret).toString('base64url')}`;
}

/**
 * Parses a token string without consulting any store. The length is checked before the shape,
 * and the secret must be canonical base64url of exactly 32 bytes (one spelling per secret).
 * AUTH_TOKEN_MALFORMED otherwise; the token is never echoed in the error.
 */
export function parseApiToken(token: string): ParsedApiToken {
  const m = token.length === API_TOKEN_LENGTH ? SHAPE.exec(token) : null;
  if (m !== null) {
    const secret = Buffer.from(m[2]!, 'base64url');
    if (secret.length === SECRET_BYTES && secret.toString('base64url') === m[2]) {
      return { id: m[1]!, secret };
    }
  }
  throw new UsageError('AUTH_TOKEN_MALFORMED', 'The API token is not a well-formed Cairn token', {
    details: { expected: 'cairn_<16 hex>_<43 base64url>' },
  });
}

/** True when the string is shaped like an API token at all (routes it away from OIDC). */
export function looksLikeApiToken(token: string): boolean {
  return token.startsWith(API_TOKEN_PREFIX);
}

function secretHash(secret: Uint8Array): string {
  return createHash('sha256').update(secret).digest('hex');
}

export interface IssueApiTokenOptions {
  /** The identity the token stands for: `{issuer: 'cairn:api-token', subject}`. */
  readonly subject: string;
  readonly description: string;
  /** `null`: never expires (revoke it instead). */
  readonly expiresAt: Date | null;
  readonly createdBy: Actor;
  readonly at: Date;
}

export interface IssuedApiToken {
  /** The token string: shown once, never stored, never logged. */
  readonly token: string;
  readonly record: ApiTokenRecord;
}

/** Creates a token: random id and secret, only the secret's SHA-256 stored. */
export async function issueApiToken(
  store: MetadataStore,
  options: IssueApiTokenOptions,
): Promise<IssuedApiToken> {
  const subject = options.subject;
  if (subject.length === 0 || subject.length > 256 || /[\s\p{Cc}]/u.test(subject)) {
    throw new UsageError('REQUEST_INVALID', 'Invalid API token subject', {
      details: {
        issues: [{ path: 'subject', message: '1–256 characters, no spaces or controls' }],
      },
    });
  }
  if (options.expiresAt !== null && options.expiresAt.getTime() <= options.at.getTime()) {
    throw new UsageError('REQUEST_INVALID', 'The API token would already be expired', {
      details: { issues: [{ path: 'expiresAt', message: 'must be after the issue time' }] },
    });
  }
  const id = randomBytes(ID_BYTES).toString('hex');
  const secret = randomBytes(SECRET_BYTES);
  const record = await store.createApiToken({
    id,
    secretHash: secretHash(secret),
    subject: { issuer: API_TOKEN_ISSUER, subject },
    description: options.description,
    createdBy: options.createdBy,
    at: options.at,
    expiresAt: options.expiresAt,
  });
  return { token: formatApiToken(id, secret), record };
}

/** Compared against when the id is unknown, so both failures take the same work. */
const NO_SUCH_HASH = Buffer.alloc(32);

/**
 * Checks an API token against the store. A wrong secret and an unknown id are the same error
 * (AUTH_TOKEN_INVALID) and take the same work; only a caller who holds the real secret learns
 * that the token is revoked (AUTH_TOKEN_REVOKED) or expired (AUTH_TOKEN_EXPIRED).
 */
export async function verifyApiToken(
  store: MetadataStore,
  token: string,
  now: Date,
): Promise<{ readonly actor: Actor; readonly record: ApiTokenRecord }> {
  const parsed = parseApiToken(token);
  const record = await store.findApiToken(parsed.id);
  const expected =
    record !== undefined && /^[0-9a-f]{64}$/.test(record.secretHash)
      ? Buffer.from(record.secretHash, 'hex')
      : NO_SUCH_HASH;
  const actual = createHash('sha256').update(parsed.secret).digest();
  const matches = constantTimeEqual(actual, expected);
  if (record === undefined || !matches) {
    throw new UsageError('AUTH_TOKEN_INVALID', 'The API token is not valid', {
      details: { tokenId: parsed.id },
    });
  }
  if (record.revokedAt !== null && record.revokedAt.getTime() <= now.getTime()) {
    throw new UsageError('AUTH_TOKEN_REVOKED', 'The API token has been revoked', {
      details: { tokenId: record.id, revokedAt: record.revokedAt.toISOString() },
    });
  }
  if (record.expiresAt !== null && record.expiresAt.getTime() <= now.getTime()) {
    throw new UsageError('AUTH_TOKEN_EXPIRED', 'The API token has expired', {
      details: { tokenId: record.id, expiredAt: record.expiresAt.toISOString() },
    });
  }
  return { actor: record.subject, record };
}

export interface BootstrapAdminOptions {
  readonly at: Date;
  /** Subject of the bootstrap identity (default `admin`). */
  readonly subject?: string;
  /** Default `null`: the bootstrap token lasts until revoked. */
  readonly expiresAt?: Date | null;
}

export interface BootstrapAdmin {
  readonly token: string;
  readonly actor: Actor;
  readonly tokenId: string;
}

/**
 * First start: when no identity holds the admin role, issues an API token for
 * `{cairn:api-token, admin}` and grants it admin on every repository (`**`) and environment
 * (`*`). Returns the token for `cairn serve` to print once; on every later start (an admin
 * exists) returns undefined. The token is created before the grant, so a failure in between
 * leaves a token with no role, never an admin nobody can log in as.
 */
export async function ensureBootstrapAdmin(
  store: MetadataStore,
  options: BootstrapAdminOptions,
): Promise<BootstrapAdmin | undefined> {
  const bindings = await store.listRoleBindings();
  if (bindings.some((b) => b.role === 'admin')) return undefined;
  const subject = options.subject ?? 'admin';
  const actor: Actor = { issuer: API_TOKEN_ISSUER, subject };
  const issued = await issueApiToken(store, {
    subject,
    description: 'bootstrap admin (created on first start)',
    expiresAt: options.expiresAt ?? null,
    createdBy: actor,
    at: options.at,
  });
  await store.grantRole({
    subject: actor,
    role: 'admin',
    repository: '**',
    environment: '*',
    grantedBy: actor,
    at: options.at,
  });
  await store.appendAudit({
    at: options.at,
    actor,
    action: 'token.create',
    decision: 'allow',
    reasons: ['bootstrap'],
    detail: { tokenId: issued.record.id, role: 'admin' },
  });
  return { token: issued.token, actor, tokenId: issued.record.id };
}

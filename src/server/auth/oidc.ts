import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  type JSONWebKeySet,
} from 'jose';
import { z } from 'zod';
import { InfraError, UsageError, ValidationError } from '../../errors/index.js';

/**
 * OIDC ID-token verification (JWT, JWS compact, verified against the issuer's JWKS). Kubernetes
 * service-account tokens and CI tokens (GitHub Actions) are OIDC ID tokens. Everything that
 * can be refused before cryptography is refused first, each with its own code: the size (before
 * any parsing), the shape, `alg` (`none`, HMAC and anything outside the issuer's allow-list),
 * the issuer. jose then checks the signature, audience, expiry, not-before and token age.
 */

/** Asymmetric JWS algorithms an issuer may be allowed. HMAC is never accepted (alg confusion). */
export const OIDC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type OidcAlgorithm = (typeof OIDC_ALGORITHMS)[number];

export const DEFAULT_OIDC_ALGORITHMS: readonly OidcAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];
/** Default largest bearer token, in bytes; checked before anything is decoded. */
export const DEFAULT_MAX_TOKEN_BYTES = 16 * 1024;
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
export const MAX_CLOCK_TOLERANCE_SECONDS = 60;
/** Largest JWKS accepted from a URL or file. */
export const MAX_JWKS_BYTES = 256 * 1024;

/** Claims kept on an identity by default: who and where from, never nonces or hashes. */
export const DEFAULT_KEPT_CLAIMS: readonly string[] = [
  'aud',
  'iat',
  'email',
  'email_verified',
  // GitHub Actions
  'repository',
  'repository_owner',
  'ref',
  'ref_type',
  'sha',
  'workflow',
  'workflow_ref',
  'job_workflow_ref',
  'environment',
  'event_name',
  'run_id',
  'run_attempt',
  'actor',
  'runner_environment',
  // Kubernetes (flattened to kubernetes.io/namespace, kubernetes.io/serviceaccount/name, …)
  'kubernetes.io',
];

export interface OidcIssuerConfig {
  /** The `iss` value, matched exactly (https, or http on a loopback address for tests). */
  readonly issuer: string;
  /** One audience or several; the token's `aud` must contain at least one. */
  readonly audience: string | readonly string[];
  /** Exactly one of `jwksUri`, `jwks` (inline JWK Set) or `jwksFile`. */
  readonly jwksUri?: string;
  readonly jwks?: JSONWebKeySet;
  readonly jwksFile?: string;
  /** Default RS256, ES256, EdDSA. */
  readonly algorithms?: readonly OidcAlgorithm[];
  /** 0–60, default 30. */
  readonly clockToleranceSeconds?: number;
  /** Refuse tokens whose `iat` is older than this (then `iat` is required). */
  readonly maxTokenAgeSeconds?: number;
  /** Claims copied onto the identity (default DEFAULT_KEPT_CLAIMS). */
  readonly claims?: readonly string[];
  /** JWKS fetch timeout, ms (default 5000). */
  readonly jwksTimeoutMs?: number;
  /** Least time between refetches for an unknown `kid`, ms (default 30 000). */
  readonly jwksCooldownMs?: number;
}

export interface OidcConfig {
  readonly issuers: readonly OidcIssuerConfig[];
  readonly maxTokenBytes?: number;
}

export type ClaimValue = string | number | boolean | readonly string[];

/** A verified OIDC caller. */
export interface OidcIdentity {
  readonly method: 'oidc';
  readonly issuer: string;
  readonly subject: string;
  /** The selected claims (DEFAULT_KEPT_CLAIMS or the issuer's `claims`), scalars only. */
  readonly claims: Readonly<Record<string, ClaimValue>>;
  readonly expiresAt: Date;
}

export interface OidcVerifier {
  readonly issuers: readonly string[];
  verify(token: string, now?: Date): Promise<OidcIdentity>;
}

// ── configuration ─────────────────────────────────────────────────────────────────────────

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

function secureUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '') return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
}

const urlString = z
  .string()
  .min(1)
  .max(2048)
  .refine(secureUrl, 'must be an https URL (http only on a loopback address), without credentials');

const claimName = z.string().min(1).max(128);
const jwkSchema = z
  .looseObject({
    kty: z.enum(['RSA', 'EC', 'OKP'], { message: 'must be RSA, EC or OKP (no symmetric keys)' }),
    kid: z.string().max(512).optional(),
  })
  .refine((k) => !('d' in k), { message: 'a private key does not belong in a JWKS', path: ['d'] });
const jwksSchema = z.strictObject({ keys: z.array(jwkSchema).min(1).max(100) });

const issuerSchema = z
  .strictObject({
    issuer: urlString,
    audience: z.union([
      z.string().min(1).max(1024),
      z.array(z.string().min(1).max(1024)).min(1).max(32),
    ]),
    jwksUri: urlString.optional(),
    jwks: jwksSchema.optional(),
    jwksFile: z.string().min(1).max(4096).optional(),
    algorithms: z
      .array(z.enum(OIDC_ALGORITHMS, { message: `must be one of ${OIDC_ALGORITHMS.join(', ')}` }))
      .min(1)
      .max(OIDC_ALGORITHMS.length)
      .optional(),
    clockToleranceSeconds: z.number().int().min(0).max(MAX_CLOCK_TOLERANCE_SECONDS).optional(),
    maxTokenAgeSeconds: z
      .number()
      .int()
      .min(1)
      .max(366 * 86400)
      .optional(),
    claims: z.array(claimName).max(64).optional(),
    jwksTimeoutMs: z.number().int().min(100).max(60_000).optional(),
    jwksCooldownMs: z.number().int().min(0).max(3_600_000).optional(),
  })
  .refine((c) => [c.jwksUri, c.jwks, c.jwksFile].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of jwksUri, jwks, jwksFile',
    path: ['jwksUri'],
  });

const configSchema = z
  .strictObject({
    issuers: z.array(issuerSchema).min(1).max(32),
    maxTokenBytes: z
      .number()
      .int()
      .min(512)
      .max(64 * 1024)
      .optional(),
  })
  .refine((c) => new Set(c.issuers.map((i) => i.issuer)).size === c.issuers.length, {
    message: 'an issuer is configured twice',
    path: ['issuers'],
  });

function configInvalid(issues: readonly { path: string; message: string }[]): ValidationError {
  return new ValidationError('OIDC_CONFIG_INVALID', 'The OIDC issuer configuration is not valid', {
    details: { issues },
  });
}

/**
 * Reads an OIDC configuration (untrusted JSON: a config file or flags) and lists every bad
 * field (OIDC_CONFIG_INVALID). HMAC algorithms, symmetric or private keys, plain-http JWKS URLs
 * off loopback and a clock tolerance over 60 s are refused here, not at the first request.
 */
export function oidcConfigFromJSON(input: unknown): OidcConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    throw configInvalid(
      result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    );
  }
  return result.data as OidcConfig;
}

// ── JWKS sources ──────────────────────────────────────────────────────────────────────────

/** Marks a failure to obtain keys (as opposed to a key not being there). */
class KeySourceFailure extends Error {}

/** fetch with the response body capped at MAX_JWKS_BYTES (jose reads whatever it is sent). */
const limitedFetch = async (url: string, init: RequestInit): Promise<Response> => {
  const response = await fetch(url, init);
  const body = response.body;
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (body !== null) {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      if (total > MAX_JWKS_BYTES) {
        await body.cancel().catch(() => undefined);
        throw new KeySourceFailure(`The JWKS response is larger than ${MAX_JWKS_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
  }
  return new Response(Buffer.concat(chunks), {
    status: response.status,
    headers: response.headers,
  });
};

function readJwksFile(path: string): JSONWebKeySet {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > MAX_JWKS_BYTES) {
      throw configInvalid([{ path: 'jwksFile', message: `larger than ${MAX_JWKS_BYTES} bytes` }]);
    }
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw configInvalid([{ path: 'jwksFile', message: 'cannot be read' }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw configInvalid([{ path: 'jwksFile', message: 'is not JSON' }]);
  }
  const parsed = jwksSchema.safeParse(json);
  if (!parsed.success) {
    throw configInvalid(
      parsed.error.issues.map((i) => ({
        path: ['jwksFile', ...i.path.map(String)].join('.'),
        message: i.message,
      })),
    );
  }
  return parsed.data as JSONWebKeySet;
}

function keySource(config: OidcIssuerConfig): JWTVerifyGetKey {
  if (config.jwksUri !== undefined) {
    const remote = createRemoteJWKSet(new URL(config.jwksUri), {
      timeoutDuration: config.jwksTimeoutMs ?? 5000,
      cooldownDuration: config.jwksCooldownMs ?? 30_000,
      cacheMaxAge: 10 * 60_000,
      [customFetch]: limitedFetch,
    });
    // Any failure to get the key set (network, timeout, status, JSON) is "unavailable"; a key
    // that is not in a fetched set stays JWKSNoMatchingKey.
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (err) {
        if (
          err instanceof errors.JWKSNoMatchingKey ||
          err instanceof errors.JWKSMultipleMatchingKeys ||
          err instanceof errors.JOSENotSupported
        ) {
          throw err;
        }
        throw new KeySourceFailure('The JWKS could not be fetched', { cause: err });
      }
    };
  }
  const jwks = config.jwks ?? readJwksFile(config.jwksFile ?? '');
  return createLocalJWKSet(jwks);
}

// ── verification ──────────────────────────────────────────────────────────────────────────

interface PreparedIssuer {
  readonly config: OidcIssuerConfig;
  readonly algorithms: readonly OidcAlgorithm[];
  readonly keys: JWTVerifyGetKey;
  readonly kept: readonly string[];
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The 401 codes: a credential was sent and is refused. */
export type AuthRefusalCode = Extract<
  ConstructorParameters<typeof UsageError>[0],
  `AUTH_${string}`
>;

function refused(code: AuthRefusalCode, message: string, details?: Record<string, unknown>) {
  return new UsageError(code, message, details === undefined ? {} : { details });
}

function decodePart(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw refused('AUTH_TOKEN_MALFORMED', `The token ${what} is not base64url JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw refused('AUTH_TOKEN_MALFORMED', `The token ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Builds a verifier over the configured issuers. The configuration is checked first
 * (OIDC_CONFIG_INVALID); inline and file JWKS are loaded now, remote ones on first use.
 */
export function createOidcVerifier(config: OidcConfig): OidcVerifier {
  const checked = oidcConfigFromJSON(config);
  const maxBytes = checked.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  const byIssuer = new Map<string, PreparedIssuer>();
  for (const issuer of checked.issuers) {
    byIssuer.set(issuer.issuer, {
      config: issuer,
      algorithms: issuer.algorithms ?? DEFAULT_OIDC_ALGORITHMS,
      keys: keySource(issuer),
      kept: issuer.claims ?? DEFAULT_KEPT_CLAIMS,
    });
  }
  return {
    issuers: [...byIssuer.keys()],
    verify: (token, now) => verifyOidcToken(byIssuer, maxBytes, token, now ?? new Date()),
  };
}

async function verifyOidcToken(
  issuers: ReadonlyMap<string, PreparedIssuer>,
  maxBytes: number,
  token: string,
  now: Date,
): Promise<OidcIdentity> {
  if (token.length > maxBytes || Buffer.byteLength(token, 'utf8') > maxBytes) {
    throw refused('AUTH_TOKEN_TOO_LARGE', 'The bearer token is too large', { limit: maxBytes });
  }
  if (!COMPACT_JWS.test(token)) {
    throw refused('AUTH_TOKEN_MALFORMED', 'The bearer token is not a compact JWS (JWT)');
  }
  const [headerPart, payloadPart] = token.split('.') as [string, string, string];
  const header = decodePart(headerPart, 'header');
  const alg = header['alg'];
  if (typeof alg !== 'string' || !(OIDC_ALGORITHMS as readonly string[]).includes(alg)) {
    throw refused('AUTH_ALGORITHM_REFUSED', 'The token algorithm is refused', {
      alg: typeof alg === 'string' ? alg.slice(0, 32) : null,
      reason:
        typeof alg !== 'string'
          ? 'missing'
          : alg.toLowerCase() === 'none'
            ? 'unsigned'
            : /^HS/i.test(alg)
              ? 'hmac'
              : 'unsupported',
    });
  }
  const payload = decodePart(payloadPart, 'payload');
  const iss = payload['iss'];
  const issuer = typeof iss === 'string' ? issuers.get(iss) : undefined;
  if (issuer === undefined) {
    throw refused('AUTH_ISSUER_UNKNOWN', 'The token issuer is not trusted', {
      ...(typeof iss === 'string' ? { issuer: iss.slice(0, 256) } : { issuer: null }),
      trusted: [...issuers.keys()],
    });
  }
  if (!(issuer.algorithms as readonly string[]).includes(alg)) {
    throw refused('AUTH_ALGORITHM_REFUSED', 'The token algorithm is not allowed for its issuer', {
      alg,
      allowed: issuer.algorithms,
      reason: 'not-allowed',
    });
  }
  const options: JWTVerifyOptions = {
    issuer: issuer.config.issuer,
    audience:
      typeof issuer.config.audience === 'string'
        ? issuer.config.audience
        : [...issuer.config.audience],
    algorithms: [...issuer.algorithms],
    clockTolerance: issuer.config.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
    requiredClaims: ['exp', 'sub'],
    currentDate: now,
    ...(issuer.config.maxTokenAgeSeconds === undefined
      ? {}
      : { maxTokenAge: issuer.config.maxTokenAgeSeconds }),
  };
  const claims = await verifyWithKeys(token, issuer.keys, options).catch((err: unknown) => {
    throw fromJose(err, issuer.config.issuer);
  });
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 1024) {
    throw refused('AUTH_CLAIMS_INVALID', 'The token subject is missing or not a string', {
      claim: 'sub',
    });
  }
  return {
    method: 'oidc',
    issuer: issuer.config.issuer,
    subject: sub,
    claims: keptClaims(claims, issuer.kept),
    expiresAt: new Date((claims.exp ?? 0) * 1000),
  };
}

/** jwtVerify; when no `kid` selects one key of several, each candidate is tried in turn. */
async function verifyWithKeys(
  token: string,
  keys: JWTVerifyGetKey,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, keys, options)).payload;
  } catch (err) {
    if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
    for await (const key of err) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

/** Maps jose's errors to catalog codes. Details name the claim, never echo the token. */
function fromJose(err: unknown, issuer: string): Error {
  if (err instanceof KeySourceFailure) {
    return new InfraError('AUTH_JWKS_UNAVAILABLE', `The JWKS of ${issuer} is unavailable`, {
      details: { issuer },
    });
  }
  if (err instanceof errors.JWTExpired) {
    return refused('AUTH_TOKEN_EXPIRED', 'The token has expired', { claim: err.claim });
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') {
      return refused('AUTH_AUDIENCE_MISMATCH', 'The token audience does not name this server', {
        reason: err.reason,
      });
    }
    if (err.reason === 'check_failed' && (err.claim === 'nbf' || err.claim === 'iat')) {
      return refused('AUTH_TOKEN_NOT_YET_VALID', 'The token is not valid yet', {
        claim: err.claim,
      });
    }
    if (err.claim === 'iss')
      return refused('AUTH_ISSUER_UNKNOWN', 'The token issuer is not trusted');
    return refused('AUTH_CLAIMS_INVALID', 'A required token claim is missing or invalid', {
      claim: err.claim,
      reason: err.reason,
    });
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return refused('AUTH_ALGORITHM_REFUSED', 'The token algorithm is refused');
  }
  if (err instanceof errors.JWKSNoMatchingKey) {
    return refused('AUTH_KEY_UNKNOWN', "No key in the issuer's JWKS matches the token");
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return refused('AUTH_SIGNATURE_INVALID', 'The token signature does not verify');
  }
  if (
    err instanceof errors.JWSInvalid ||
    err instanceof errors.JWTInvalid ||
    err instanceof errors.JOSENotSupported
  ) {
    return refused('AUTH_TOKEN_MALFORMED', 'The token is not a valid JWS');
  }
  if (err instanceof errors.JWKSInvalid || err instanceof errors.JWKInvalid) {
    return new InfraError(
      'AUTH_JWKS_UNAVAILABLE',
      `The JWKS of ${issuer} is not a usable key set`,
      {
        details: { issuer },
      },
    );
  }
  // Fail closed on anything unforeseen, without the original message (it may quote the token).
  return refused('AUTH_TOKEN_MALFORMED', 'The token could not be verified');
}

const MAX_CLAIM_TEXT = 1024;

function scalar(value: unknown): ClaimValue | undefined {
  if (typeof value === 'string') return value.length <= MAX_CLAIM_TEXT ? value : undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value) && value.length <= 16 && value.every((v) => typeof v === 'string')) {
    return value.every((v) => v.length <= MAX_CLAIM_TEXT) ? value : undefined;
  }
  return undefined;
}

/** Copies the kept claims; a nested object (Kubernetes' `kubernetes.io`) becomes `a/b` keys. */
function keptClaims(payload: JWTPayload, kept: readonly string[]): Record<string, ClaimValue> {
  const out: Record<string, ClaimValue> = {};
  const walk = (prefix: string, value: unknown, depth: number) => {
    const s = scalar(value);
    if (s !== undefined) {
      out[prefix] = s;
      return;
    }
    if (depth >= 3 || value === null || typeof value !== 'object' || Array.isArray(value)) return;
    for (const [k, v] of Object.entries(value).slice(0, 32)) walk(`${prefix}/${k}`, v, depth + 1);
  };
  for (const name of kept) {
    if (Object.hasOwn(payload, name)) walk(name, payload[name], 0);
  }
  return out;
}

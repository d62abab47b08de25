import { UsageError, VerificationError } from '../../errors/index.js';
import type { EnvironmentConfig } from '../../registry/index.js';
import type { Actor, MetadataStore, Role } from '../../store/index.js';
import type { AccessRequest, ServerAuth } from '../access.js';
import { looksLikeApiToken, verifyApiToken } from './api-tokens.js';
import { authorize, type AccessAction, type AccessDecision } from './authorize.js';
import { DEFAULT_MAX_TOKEN_BYTES, type OidcIdentity, type OidcVerifier } from './oidc.js';

/** A caller authenticated with a Cairn API token. */
export interface ApiTokenIdentity {
  readonly method: 'api-token';
  /** Always `cairn:api-token`. */
  readonly issuer: string;
  readonly subject: string;
  readonly tokenId: string;
  readonly expiresAt: Date | null;
}

export type Identity = OidcIdentity | ApiTokenIdentity;

export interface AuthenticateOptions {
  /** OIDC issuers; without it every JWT is AUTH_ISSUER_UNKNOWN. */
  readonly oidc?: OidcVerifier;
  /** Where API tokens live; without it every API token is AUTH_TOKEN_INVALID. */
  readonly store?: MetadataStore;
  readonly now: Date;
  /** Largest Authorization header, checked before it is parsed (default 16 KiB + scheme). */
  readonly maxHeaderBytes?: number;
}

const BEARER = /^Bearer +([^\s]+) *$/i;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Turns an `Authorization` header into an identity. `Bearer cairn_…` goes to the API tokens,
 * any other bearer token to OIDC. A missing header is AUTH_REQUIRED; every refusal after that
 * has its own AUTH_* code (401). The header's value never appears in an error.
 */
export async function authenticate(
  authorization: string | undefined,
  options: AuthenticateOptions,
): Promise<Identity> {
  if (authorization === undefined || authorization.trim() === '') {
    throw new UsageError('AUTH_REQUIRED', 'The request carries no Authorization header');
  }
  const limit = options.maxHeaderBytes ?? DEFAULT_MAX_TOKEN_BYTES + 16;
  if (authorization.length > limit) {
    throw new UsageError('AUTH_TOKEN_TOO_LARGE', 'The Authorization header is too large', {
      details: { limit },
    });
  }
  const m = BEARER.exec(authorization);
  if (m === null) {
    throw new UsageError('AUTH_HEADER_INVALID', 'The Authorization header is not Bearer <token>');
  }
  const token = m[1]!;
  if (looksLikeApiToken(token)) {
    if (options.store === undefined) {
      throw new UsageError('AUTH_TOKEN_INVALID', 'This server accepts no API tokens');
    }
    const { actor, record } = await verifyApiToken(options.store, token, options.now);
    return {
      method: 'api-token',
      issuer: actor.issuer,
      subject: actor.subject,
      tokenId: record.id,
      expiresAt: record.expiresAt,
    };
  }
  if (options.oidc === undefined) {
    if (!COMPACT_JWS.test(token)) {
      throw new UsageError('AUTH_TOKEN_MALFORMED', 'The bearer token is not a Cairn API token');
    }
    throw new UsageError('AUTH_ISSUER_UNKNOWN', 'This server trusts no OIDC issuer', {
      details: { trusted: [] },
    });
  }
  return options.oidc.verify(token, options.now);
}

/** How the server's role lists (AccessRequest.roles) read as actions. */
function actionForRole(role: Role): AccessAction {
  switch (role) {
    case 'reader':
      return 'read';
    case 'pusher':
      return 'push';
    case 'signer':
      return 'sign';
    case 'promoter':
      return 'promote';
    case 'deployer':
      return 'retrieve';
    case 'admin':
      return 'admin';
    case 'break-glass':
      return 'break-glass';
  }
}

export interface ServerAuthOptions {
  readonly store: MetadataStore;
  readonly oidc?: OidcVerifier;
  /** The environment configuration the registry runs with (promotion-only, protected). */
  readonly environments?: readonly EnvironmentConfig[];
  /** "Now" for token expiry (default the system clock). */
  readonly clock?: () => Date;
}

/**
 * The server's auth (`ServerConfig.auth`): `authenticate` as above, returning the plain
 * `{issuer, subject}` actor the registry records; `authorize` reads the actor's role bindings
 * and allows the request when any of its roles, read as an action, is allowed there. A push to
 * a promotion-only environment is PUSH_TO_PROTECTED_ENVIRONMENT; anything else refused is
 * ACCESS_DENIED (403), with the roles that would have allowed it in the details.
 */
export function createServerAuth(options: ServerAuthOptions): ServerAuth {
  const clock = options.clock ?? (() => new Date());
  return {
    async authenticate(authorization): Promise<Actor> {
      const identity = await authenticate(authorization, {
        store: options.store,
        now: clock(),
        ...(options.oidc === undefined ? {} : { oidc: options.oidc }),
      });
      return { issuer: identity.issuer, subject: identity.subject };
    },
    async authorize(actor, request: AccessRequest): Promise<void> {
      const bindings = await options.store.listRoleBindings(actor);
      const actions = [...new Set(request.roles.map(actionForRole))];
      const decisions: AccessDecision[] = actions.map((action) =>
        authorize(
          actor,
          bindings,
          {
            action,
            ...(request.repository === undefined ? {} : { repository: request.repository }),
            ...(request.environment === undefined ? {} : { environment: request.environment }),
          },
          options.environments,
        ),
      );
      if (decisions.some((d) => d.allowed)) return;
      const promotionOnly = decisions.some(
        (d) => !d.allowed && d.code === 'PUSH_TO_PROTECTED_ENVIRONMENT',
      );
      const details = {
        actions,
        roles: request.roles,
        ...(request.repository === undefined ? {} : { repository: request.repository }),
        ...(request.environment === undefined ? {} : { environment: request.environment }),
        reasons: decisions.flatMap((d) => (d.allowed ? [] : [d.reason])),
      };
      if (promotionOnly) {
        throw new VerificationError(
          'PUSH_TO_PROTECTED_ENVIRONMENT',
          `Environment ${request.environment ?? ''} accepts artifacts only by promotion`,
          { details },
        );
      }
      throw new VerificationError(
        'ACCESS_DENIED',
        `${actor.subject} (${actor.issuer}) holds no role that allows this here`,
        { details },
      );
    },
  };
}

/**
 * The server's authentication and authorization (issue 6): OIDC ID tokens verified against
 * JWKS, API tokens for the embedded default (stored hashed, shown once), the bootstrap admin,
 * pure role-based authorization, and `createServerAuth` — the `ServerAuth` the server wires in.
 */
export {
  API_TOKEN_ISSUER,
  API_TOKEN_LENGTH,
  API_TOKEN_PREFIX,
  ensureBootstrapAdmin,
  formatApiToken,
  issueApiToken,
  looksLikeApiToken,
  parseApiToken,
  verifyApiToken,
} from './api-tokens.js';
export { authenticate, createServerAuth } from './authenticate.js';
export { authorize, rolesForAction } from './authorize.js';
export {
  createOidcVerifier,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_KEPT_CLAIMS,
  DEFAULT_MAX_TOKEN_BYTES,
  DEFAULT_OIDC_ALGORITHMS,
  MAX_CLOCK_TOLERANCE_SECONDS,
  MAX_JWKS_BYTES,
  OIDC_ALGORITHMS,
  oidcConfigFromJSON,
} from './oidc.js';

export type {
  BootstrapAdmin,
  BootstrapAdminOptions,
  IssueApiTokenOptions,
  IssuedApiToken,
  ParsedApiToken,
} from './api-tokens.js';
export type {
  ApiTokenIdentity,
  AuthenticateOptions,
  Identity,
  ServerAuthOptions,
} from './authenticate.js';
export type { AccessAction, AccessDecision, AccessDenialReason, AccessQuery } from './authorize.js';
export type {
  AuthRefusalCode,
  ClaimValue,
  OidcAlgorithm,
  OidcConfig,
  OidcIdentity,
  OidcIssuerConfig,
  OidcVerifier,
} from './oidc.js';

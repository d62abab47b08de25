import type { Actor, Role } from '../store/index.js';

/** What a route needs from the caller, checked by the server's auth (one place). */
export interface AccessRequest {
  /** Any of these roles will do; `admin` always does (except where `break-glass` is the point). */
  readonly roles: readonly Role[];
  readonly repository?: string;
  readonly environment?: string;
}

/**
 * The server's authentication and authorization, passed in (STYLE.md §9). `authenticate`
 * turns an Authorization header into an identity (401 codes when missing or bad);
 * `authorize` throws (403) unless the identity holds one of the roles for the repository and
 * environment. The implementation lives in `src/server/auth` (OIDC, API tokens, role bindings).
 */
export interface ServerAuth {
  authenticate(authorization: string | undefined): Promise<Actor>;
  authorize(actor: Actor, request: AccessRequest): Promise<void>;
}

/** The server domain's door: the fastify HTTP API over the registry. */
export { buildServer, DEFAULT_BODY_LIMIT, DEFAULT_CHUNK_LIMIT } from './server.js';
export { openApiDocument } from './openapi.js';
export { ROUTES } from './routes.js';
// Authentication and roles (src/server/auth, its own sub-door).
export { createServerAuth, ensureBootstrapAdmin } from './auth/index.js';

export type { ServerConfig } from './server.js';
export type { AccessRequest, ServerAuth } from './access.js';
export type { RouteContext, RouteSpec } from './routes.js';

/** The server domain's door: the fastify HTTP API over the registry. */
export { buildServer, DEFAULT_BODY_LIMIT, DEFAULT_CHUNK_LIMIT } from './server.js';
export { openApiDocument } from './openapi.js';
export { ROUTES } from './routes.js';

export type { ServerConfig } from './server.js';
export type { AccessRequest, ServerAuth } from './access.js';
export type { RouteContext, RouteSpec } from './routes.js';

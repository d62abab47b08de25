/**
 * The server domain's light door: plain constants the CLI needs while declaring its options,
 * without loading fastify or the auth code. Only import-free modules may be re-exported here
 * (test/architecture/imports.test.ts checks it).
 */
export { API_TOKEN_ISSUER } from './auth/issuer.js';

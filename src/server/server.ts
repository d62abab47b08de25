import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { UsageError } from '../errors/index.js';
import type { Registry } from '../registry/index.js';
import type { Actor } from '../store/index.js';
import type { ServerAuth } from './access.js';
import { errorBody, toHttpError } from './errors.js';
import { openApiDocument } from './openapi.js';
import { ROUTES, type RouteSpec } from './routes.js';

/** Largest JSON body (a push lists up to 100 000 resources). */
export const DEFAULT_BODY_LIMIT = 32 * 1024 * 1024;
/** Largest blob chunk per PATCH. */
export const DEFAULT_CHUNK_LIMIT = 256 * 1024 * 1024;

export interface ServerConfig {
  readonly registry: Registry;
  readonly auth: ServerAuth;
  /** pino options for fastify's logger, or false. Authorization headers are always redacted. */
  readonly logger?: boolean | Readonly<Record<string, unknown>>;
  readonly bodyLimit?: number;
  readonly chunkLimit?: number;
  /** Reported in the OpenAPI document. */
  readonly version?: string;
  /** Called once when the server closes (after in-flight requests finish): close the stores. */
  readonly onClose?: () => Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor;
  }
}

const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'];

/**
 * The server's composition root (STYLE.md §9): fastify with body limits, pino structured logs
 * (fastify's child logger per request, secrets redacted), one authentication preHandler, the
 * CairnError → HTTP mapping, health, readiness and `/openapi.json`. `close()` stops accepting,
 * finishes requests in flight, then runs `onClose`.
 */
export async function buildServer(config: ServerConfig): Promise<FastifyInstance> {
  const logger: FastifyServerOptions['logger'] =
    config.logger === undefined || config.logger === false
      ? false
      : config.logger === true
        ? { redact: REDACT }
        : { ...config.logger, redact: REDACT };
  const app = Fastify({
    logger,
    bodyLimit: config.bodyLimit ?? DEFAULT_BODY_LIMIT,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // A repository name arrives as one encoded segment (team%2Fmodel); long ones are refused later.
    routerOptions: { maxParamLength: 512 },
  });
  const chunkBytes = config.chunkLimit ?? DEFAULT_CHUNK_LIMIT;

  // Blob chunks stream through to the blob store, which hashes and limits them.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) =>
    done(null, payload),
  );

  app.setErrorHandler((err, request, reply) => {
    const e = toHttpError(err);
    const status = e.httpStatus;
    if (status >= 500) request.log.error({ err, code: e.code }, e.message);
    else request.log.info({ code: e.code }, e.message);
    if (reply.sent) return;
    void reply.code(status).send(errorBody(e));
  });
  app.setNotFoundHandler((request, reply) => {
    const e = new UsageError(
      'ROUTE_NOT_FOUND',
      `No route ${request.method} ${request.url.split('?')[0] ?? ''}`,
    );
    void reply.code(e.httpStatus).send(errorBody(e));
  });

  const document = openApiDocument(ROUTES, config.version ?? '0');
  app.get('/openapi.json', () => Promise.resolve(document));

  for (const route of ROUTES) register(app, route, config, chunkBytes);
  // Requests still in flight when close() starts end their connection with their response, so
  // shutdown waits for the work, not for idle keep-alive timers.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onClose', async () => {
    await config.onClose?.();
  });
  await app.ready();
  return app;
}

function register(
  app: FastifyInstance,
  route: RouteSpec,
  config: ServerConfig,
  chunkBytes: number,
): void {
  app.route({
    method: route.method,
    url: route.url,
    // HEAD routes are explicit; GET routes do not grow implicit ones (they would stream bodies).
    exposeHeadRoute: false,
    preHandler: async (request) => {
      if (route.public === true) return;
      request.actor = await config.auth.authenticate(request.headers.authorization);
    },
    handler: async (request, reply) => {
      const result = await route.handler({
        request,
        reply,
        // Public routes never read it.
        actor: request.actor ?? { issuer: '', subject: '' },
        registry: config.registry,
        auth: config.auth,
        limits: { chunkBytes },
      });
      return result === reply ? reply : result;
    },
  });
}

import type { FastifyError } from 'fastify';
import { UsageError, isCairnError, toCairnError, type CairnError } from '../errors/index.js';

/** Fastify's own errors, as Cairn codes: a client never sees a framework error shape. */
export function toHttpError(err: unknown): CairnError {
  if (isCairnError(err)) return err;
  const f = err as Partial<FastifyError> & { statusCode?: number };
  switch (f.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new UsageError(
        'REQUEST_TOO_LARGE',
        'The request body is larger than the server accepts',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new UsageError('REQUEST_INVALID', f.message ?? 'The request body is not valid', {
        details: { issues: [{ path: '(body)', message: f.message ?? 'invalid body' }] },
      });
    case undefined:
    default:
      break;
  }
  if (
    err instanceof SyntaxError ||
    (f.statusCode !== undefined && f.statusCode >= 400 && f.statusCode < 500)
  ) {
    return new UsageError('REQUEST_INVALID', (err as Error).message, {
      details: { issues: [{ path: '(request)', message: (err as Error).message }] },
    });
  }
  return toCairnError(err);
}

/** The one error body: `{ok:false, error:{code, kind, message, hint, details}}`. */
export function errorBody(err: CairnError): { ok: false; error: Record<string, unknown> } {
  return { ok: false, error: err.toJSON() };
}

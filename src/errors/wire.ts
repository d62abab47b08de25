import { ERROR_CATALOG, type ErrorCode } from './catalog.js';
import {
  InfraError,
  UsageError,
  ValidationError,
  VerificationError,
  isCairnError,
  type CairnError,
} from './cairn-error.js';

/** A CairnError as plain data, to cross from a worker thread to the thread that started it. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly hint: string;
}

/**
 * A worker's error as plain data. A CairnError keeps its code, message, details and hint; anything
 * else (a bug, an exhausted heap) becomes WORKER_FAILED naming `worker` ("Hash worker", …).
 */
export function errorToWire(err: unknown, worker: string): WireError {
  if (isCairnError(err)) {
    return { code: err.code, message: err.message, details: err.details, hint: err.hint };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    code: 'WORKER_FAILED',
    message: `${worker} failed: ${message}`,
    details: undefined,
    hint: ERROR_CATALOG.WORKER_FAILED.hint,
  };
}

/** Rebuilds a worker's error as the same CairnError class and code on the receiving thread. */
export function errorFromWire(wire: WireError): CairnError {
  const options = {
    hint: wire.hint,
    ...(wire.details === undefined ? {} : { details: wire.details }),
  };
  const kind = ERROR_CATALOG[wire.code].kind;
  // The catalog ties each code to its kind, so these casts only restate that link.
  switch (kind) {
    case 'usage':
      return new UsageError(wire.code as UsageError['code'], wire.message, options);
    case 'validation':
      return new ValidationError(wire.code as ValidationError['code'], wire.message, options);
    case 'verification':
      return new VerificationError(wire.code as VerificationError['code'], wire.message, options);
    case 'infra':
    case 'internal':
      return new InfraError(wire.code as InfraError['code'], wire.message, options);
  }
}

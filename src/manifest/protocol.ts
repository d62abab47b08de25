import type { HashAlgorithm } from '../digest/index.js';
import {
  ERROR_CATALOG,
  InfraError,
  UsageError,
  ValidationError,
  VerificationError,
  isCairnError,
  type CairnError,
  type ErrorCode,
} from '../errors/index.js';
import type { HashJob, HasherTuning } from './file-hasher.js';

/** Messages between the pool (main thread) and a hash worker. */
export interface WorkerInit {
  readonly algorithm: HashAlgorithm;
  readonly tuning: HasherTuning;
  /** BigInt64Array of bytes hashed, one slot per worker, read by the progress timer. */
  readonly progress: SharedArrayBuffer;
  readonly slot: number;
  /** Test seam: an Int32Array(1) the worker waits on after posting `paused`. */
  readonly pause: SharedArrayBuffer | undefined;
}

export interface UnitMessage {
  readonly type: 'unit';
  readonly id: number;
  readonly jobs: readonly HashJob[];
}

export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly hint: string;
}

export type WorkerReply =
  | {
      readonly type: 'done';
      readonly id: number;
      /** Every job's digests, concatenated in job order. */
      readonly digests: Uint8Array;
      /** Bytes hashed per job (the file size for whole-file jobs). */
      readonly sizes: Float64Array;
    }
  | { readonly type: 'error'; readonly id: number; readonly error: WireError }
  | { readonly type: 'paused'; readonly path: string };

export function errorToWire(err: unknown): WireError {
  if (isCairnError(err)) {
    return { code: err.code, message: err.message, details: err.details, hint: err.hint };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    code: 'WORKER_FAILED',
    message: `Hash worker failed: ${message}`,
    details: undefined,
    hint: ERROR_CATALOG.WORKER_FAILED.hint,
  };
}

/** Rebuilds a worker's error as the same CairnError class and code on the main thread. */
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

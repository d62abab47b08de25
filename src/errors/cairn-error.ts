import {
  ERROR_CATALOG,
  exitCodeForKind,
  httpStatusForCode,
  type ErrorCode,
  type ErrorKind,
} from './catalog.js';

export interface CairnErrorOptions {
  /** Overrides the catalog hint when the situation allows a more specific one. */
  readonly hint?: string;
  readonly cause?: unknown;
  /** Structured detail for `--json` output (paths, field errors, mismatches). Never secrets. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * Base of every error Cairn raises on purpose. Callers switch on `code`, never on `message`.
 * The message is one human line; the hint says what to do.
 */
export class CairnError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly kind: ErrorKind;
  readonly hint: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: C, message: string, options: CairnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.kind = ERROR_CATALOG[code].kind;
    this.hint = options.hint ?? ERROR_CATALOG[code].hint;
    this.details = options.details;
  }

  get exitCode(): 1 | 2 | 3 {
    return exitCodeForKind(this.kind);
  }

  get httpStatus(): number {
    return httpStatusForCode(this.code);
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      kind: this.kind,
      message: this.message,
      hint: this.hint,
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

type CodeOfKind<K extends ErrorKind> = {
  [C in ErrorCode]: (typeof ERROR_CATALOG)[C]['kind'] extends K ? C : never;
}[ErrorCode];

/** Bad command line or unreadable input (exit 2). */
export class UsageError extends CairnError<CodeOfKind<'usage'>> {}
/** Input that could be read but does not have the required shape (exit 2). */
export class ValidationError extends CairnError<CodeOfKind<'validation'>> {}
/** A signature, manifest or model that does not verify (exit 1). */
export class VerificationError extends CairnError<CodeOfKind<'verification'>> {}
/** The environment failed: missing trust material, worker crash, service down (exit 3). */
export class InfraError extends CairnError<CodeOfKind<'infra' | 'internal'>> {}

export function isCairnError(value: unknown): value is CairnError {
  return value instanceof CairnError;
}

/** Wraps anything that is not a CairnError as INTERNAL, keeping the original as `cause`. */
export function toCairnError(value: unknown): CairnError {
  if (value instanceof CairnError) return value as CairnError;
  const message = value instanceof Error ? value.message : String(value);
  return new InfraError('INTERNAL', `Unexpected error: ${message}`, { cause: value });
}

import { ValidationError } from '../errors/index.js';
import { isArtifactDigest } from '../digest/index.js';

// ── input checks: the registry validates first; these keep a bug from writing nonsense ────────

export function invalidInput(field: string, message: string): ValidationError {
  return new ValidationError('STORE_INPUT_INVALID', `${field}: ${message}`, { details: { field } });
}

export function checkDigest(field: string, value: unknown): void {
  if (!isArtifactDigest(value)) throw invalidInput(field, 'not a sha256:<64 lowercase hex> digest');
}

export function checkText(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
    throw invalidInput(field, 'must be a non-empty string of at most 1024 characters');
  }
}

export function checkDate(field: string, value: unknown): void {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw invalidInput(field, 'must be a valid Date');
  }
}

export function checkInteger(field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidInput(field, `must be an integer from ${min} to ${max}`);
  }
}

export function checkOneOf(field: string, value: unknown, allowed: readonly string[]): void {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw invalidInput(field, `must be one of ${allowed.join(', ')}`);
  }
}

export function checkRange(range: { start: number; end: number } | undefined, size: number): void {
  if (range === undefined) return;
  const { start, end } = range;
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(end) ||
    start < 0 ||
    end < start ||
    end > size
  ) {
    throw invalidInput('range', `${start}-${end} is not within 0-${size}`);
  }
}

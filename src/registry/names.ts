import { UsageError } from '../errors/index.js';
import type { Sha256Digest } from '../store/index.js';

/** Longest repository name, in characters. */
export const MAX_REPOSITORY_NAME = 128;
/** Most `/`-separated segments in a repository name. */
export const MAX_REPOSITORY_SEGMENTS = 4;

const SEGMENT = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const ENVIRONMENT = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * Validates a repository name before it reaches a store or a path: 1–4 lowercase segments of
 * `a-z0-9` joined by single `.`, `_` or `-`, separated by `/`. Anything else — `..`, `%2e`,
 * absolute, backslash, NUL, uppercase, empty segments, overlong — is REPOSITORY_NAME_INVALID.
 * Segments never start or end with a separator, so `.` and `..` cannot be formed.
 */
export function repositoryName(input: unknown): string {
  const problem = repositoryNameProblem(input);
  if (problem !== undefined) {
    throw new UsageError(
      'REPOSITORY_NAME_INVALID',
      `Invalid repository name ${JSON.stringify(String(input).slice(0, 200))}: ${problem}`,
      { details: { problem } },
    );
  }
  return input as string;
}

function repositoryNameProblem(input: unknown): string | undefined {
  if (typeof input !== 'string') return 'not a string';
  if (input.length === 0) return 'empty';
  if (input.length > MAX_REPOSITORY_NAME) return `longer than ${MAX_REPOSITORY_NAME} characters`;
  const segments = input.split('/');
  if (segments.length > MAX_REPOSITORY_SEGMENTS) {
    return `more than ${MAX_REPOSITORY_SEGMENTS} segments`;
  }
  const bad = segments.find((s) => !SEGMENT.test(s));
  if (bad !== undefined) {
    return `segment ${JSON.stringify(bad)} is not lowercase a-z0-9 joined by . _ -`;
  }
  return undefined;
}

/** A tag: 1–128 of `A-Za-z0-9._-`, not starting with `.` or `-`. */
export function tagName(input: unknown): string {
  if (typeof input === 'string' && TAG.test(input)) return input;
  throw new UsageError('REQUEST_INVALID', `Invalid tag ${JSON.stringify(String(input))}`, {
    details: { issues: [{ path: 'tag', message: 'must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}' }] },
  });
}

/** `sha256:<64 lowercase hex>`; `what` names the field in the error. */
export function sha256Digest(input: unknown, what = 'digest'): Sha256Digest {
  if (isSha256Digest(input)) return input;
  throw new UsageError(
    'REQUEST_INVALID',
    `Invalid ${what} ${JSON.stringify(String(input).slice(0, 100))}`,
    { details: { issues: [{ path: what, message: 'must be sha256:<64 lowercase hex>' }] } },
  );
}

export function isSha256Digest(input: unknown): input is Sha256Digest {
  return typeof input === 'string' && DIGEST.test(input);
}

/** Environment names as configured: lowercase, starting with a letter, at most 63 characters. */
export function isEnvironmentName(input: unknown): input is string {
  return typeof input === 'string' && ENVIRONMENT.test(input);
}

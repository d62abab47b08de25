import { type ArtifactDigest } from '../digest/index.js';
import { IN_TOTO_STATEMENT_V1 } from '../envelope/index.js';
import { InfraError } from '../errors/index.js';
import { z } from 'zod';
import { ValidationError } from '../errors/index.js';
import type { BuiltStatement } from './provenance.js';

/** A JSON value, as predicates carry them. */
export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Any JSON value, for predicate fields whose content is the producer's (parameters, summaries). */
export const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.null(),
    z.boolean(),
    z.number(),
    z.string(),
    z.array(jsonValue),
    z.record(z.string(), jsonValue),
  ]),
);

/** An in-toto digest set, `{ "sha256": "<hex>" }`: algorithm names, lowercase hex, at least one. */
export const digestSet = z
  .record(
    z.string().regex(/^[a-z0-9-]{1,32}$/, 'not a digest algorithm name'),
    z.string().regex(/^[0-9a-f]{16,256}$/, 'not a lowercase hex digest'),
  )
  .refine((d) => Object.keys(d).length > 0, { message: 'names no digest' });

export interface StatementInput {
  readonly digest: ArtifactDigest;
  readonly subjectName: string;
  readonly predicateType: string;
  readonly predicate: { readonly [key: string]: JsonValue };
}

/**
 * The in-toto Statement v1 bytes for one artifact digest: `_type, subject, predicateType,
 * predicate`, with every object's keys sorted inside the predicate, so equal inputs always give
 * byte-identical statements whatever order they were assembled in.
 */
export function serializeStatement(input: StatementInput): Buffer {
  const hex = input.digest.slice('sha256:'.length);
  if (!/^[0-9a-f]{64}$/.test(hex) || !input.digest.startsWith('sha256:')) {
    throw new InfraError('INTERNAL', `Not a sha256 artifact digest: ${input.digest}`);
  }
  const body = [
    `"_type":${JSON.stringify(IN_TOTO_STATEMENT_V1)}`,
    `"subject":[{"name":${JSON.stringify(input.subjectName)},"digest":{"sha256":"${hex}"}}]`,
    `"predicateType":${JSON.stringify(input.predicateType)}`,
    `"predicate":${sortedJson(input.predicate)}`,
  ];
  return Buffer.from(`{${body.join(',')}}`, 'utf8');
}

/** JSON with object keys in code-point order; `undefined` members are dropped, as JSON.stringify does. */
export function sortedJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    return `[${(value as readonly JsonValue[]).map((v) => sortedJson(v)).join(',')}]`;
  }
  const record = value as { readonly [key: string]: JsonValue | undefined };
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedJson(record[k]!)}`).join(',')}}`;
}

/** Runs a zod schema over untrusted input, listing every bad field (STYLE.md §3). */
export function parseWith<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({
    path: i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join(''),
    message: i.message,
  }));
  throw new ValidationError(
    'ATTESTATION_PREDICATE_INVALID',
    `${what} is not valid: ${issues
      .slice(0, 5)
      .map((i) => `${i.path === '' ? '(top)' : i.path}: ${i.message}`)
      .join('; ')}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`,
    { details: { issues } },
  );
}

/** A parsed predicate with the statement bytes about `subject` that carry it. */
export function built<P>(
  subject: { readonly digest: ArtifactDigest; readonly subjectName: string },
  predicateType: string,
  predicate: P,
): BuiltStatement<P> {
  return {
    predicate,
    statement: serializeStatement({
      digest: subject.digest,
      subjectName: subject.subjectName,
      predicateType,
      predicate: predicate as unknown as Record<string, JsonValue>,
    }),
  };
}

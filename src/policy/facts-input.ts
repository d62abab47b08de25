import { ValidationError } from '../errors/index.js';
import { readJsonBytes } from '../envelope/index.js';
import type { ArtifactFacts } from './facts.js';
import { describeIssue } from './issues.js';
import { FACT_LIMITS } from './limits.js';
import { parseFacts } from './schema.js';

/**
 * Facts from untrusted JSON (STYLE.md §3): every bad field listed (POLICY_FACTS_INVALID), each
 * predicate checked against FACT_LIMITS. Facts read this way are taken as given: use it for
 * policy tests and debugging, never as a substitute for verification at a gate.
 */
export function factsFromJSON(value: unknown): ArtifactFacts {
  const parsed = parseFacts(value);
  if (parsed.facts === undefined) {
    const issues = parsed.issues;
    throw new ValidationError(
      'POLICY_FACTS_INVALID',
      `The facts have ${issues.length === 1 ? '1 problem' : `${issues.length} problems`}: ${issues
        .slice(0, 5)
        .map(describeIssue)
        .join('; ')}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`,
      { details: { issues } },
    );
  }
  return parsed.facts;
}

/** Facts from JSON bytes: size and nesting limits before parsing, then `factsFromJSON`. */
export function factsFromBytes(bytes: Uint8Array): ArtifactFacts {
  const read = readJsonBytes(bytes, {
    maxBytes: FACT_LIMITS.maxFactsFileBytes,
    maxDepth: FACT_LIMITS.maxPredicateDepth + 8,
  });
  if (!read.ok) {
    const f = read.failure;
    const why =
      f.kind === 'too-large'
        ? `it is ${f.size} bytes; the limit is ${f.limit}`
        : f.kind === 'too-deep'
          ? `it nests deeper than ${f.limit} levels (at byte ${f.offset})`
          : f.kind === 'not-utf8'
            ? 'it is not UTF-8 text'
            : `it is not valid JSON: ${f.message}`;
    throw new ValidationError('POLICY_FACTS_INVALID', `The facts cannot be read: ${why}`);
  }
  return factsFromJSON(read.value);
}

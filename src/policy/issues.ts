import { ValidationError } from '../errors/index.js';

/** One bad field in a policy document or facts file. */
export interface PolicyIssue {
  readonly code: 'POLICY_INVALID' | 'POLICY_CEL_INVALID' | 'POLICY_CEL_LIMIT';
  /** `file.yaml#2` (document 2 of file.yaml); absent for facts. */
  readonly source?: string;
  /** `spec.attestations[0].condition`, or `(document)` / `(file)`. */
  readonly path: string;
  readonly message: string;
}

/** A JSON-style path: `spec.attestations[0].condition`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

export function describeIssue(issue: PolicyIssue): string {
  return `${issue.source === undefined ? '' : `${issue.source}: `}${issue.path}: ${issue.message}`;
}

/**
 * Throws one ValidationError listing every issue. A CEL limit outranks a CEL error, which
 * outranks a schema error, so hostile conditions are reported as POLICY_CEL_LIMIT.
 */
export function throwIfIssues(issues: readonly PolicyIssue[], what: string): void {
  if (issues.length === 0) return;
  const code = issues.some((i) => i.code === 'POLICY_CEL_LIMIT')
    ? 'POLICY_CEL_LIMIT'
    : issues.some((i) => i.code === 'POLICY_CEL_INVALID')
      ? 'POLICY_CEL_INVALID'
      : 'POLICY_INVALID';
  const shown = issues.slice(0, 5).map(describeIssue).join('; ');
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  throw new ValidationError(
    code,
    `${what} ${issues.length === 1 ? 'has 1 problem' : `has ${issues.length} problems`}: ${shown}${more}`,
    { details: { issues } },
  );
}

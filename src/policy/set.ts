import type { PolicyIssue } from './issues.js';
import { throwIfIssues } from './issues.js';
import type { BreakGlassGrant, ModelPolicy, PolicyException } from './model.js';
import { parsePolicyDocument, type PolicyDocument, type PolicyTestCase } from './schema.js';
import { readYamlDocuments } from './yaml-input.js';

/** Everything a policy directory holds, validated and cross-checked. */
export interface PolicySet {
  readonly policies: readonly ModelPolicy[];
  readonly exceptions: readonly PolicyException[];
  readonly grants: readonly BreakGlassGrant[];
  readonly tests: readonly PolicyTestCase[];
}

/** A file's text and where it came from (the caller reads files; policy does no I/O). */
export interface PolicySourceText {
  readonly source: string;
  readonly text: string;
}

/** Parses one file's documents; never throws. */
export function parsePolicyFile(file: PolicySourceText): {
  readonly documents: readonly PolicyDocument[];
  readonly issues: readonly PolicyIssue[];
} {
  const read = readYamlDocuments(file.text, file.source);
  const issues = [...read.issues];
  const documents: PolicyDocument[] = [];
  for (const d of read.documents) {
    const parsed = parsePolicyDocument(d.value, `${file.source}#${d.index}`);
    issues.push(...parsed.issues);
    if (parsed.document !== undefined) documents.push(parsed.document);
  }
  return { documents, issues };
}

/**
 * Sorts documents by kind and checks what no single document can: names unique per kind, and
 * every exception naming a policy and requirements that exist (a misspelt requirement id would
 * otherwise waive nothing, silently).
 */
export function assemblePolicySet(documents: readonly PolicyDocument[]): {
  readonly set: PolicySet;
  readonly issues: readonly PolicyIssue[];
} {
  const policies: ModelPolicy[] = [];
  const exceptions: PolicyException[] = [];
  const grants: BreakGlassGrant[] = [];
  const tests: PolicyTestCase[] = [];
  for (const d of documents) {
    switch (d.kind) {
      case 'ModelPolicy':
        policies.push(d);
        break;
      case 'PolicyException':
        exceptions.push(d);
        break;
      case 'BreakGlassGrant':
        grants.push(d);
        break;
      case 'PolicyTest':
        tests.push(d);
        break;
    }
  }
  const issues: PolicyIssue[] = [
    ...duplicates(policies),
    ...duplicates(exceptions),
    ...duplicates(grants),
    ...duplicates(tests),
  ];
  const byName = new Map(policies.map((p) => [p.name, p]));
  const checkException = (e: PolicyException) => {
    const policy = byName.get(e.policy);
    if (policy === undefined) {
      issues.push({
        code: 'POLICY_INVALID',
        source: e.source,
        path: 'spec.policy',
        message: `no ModelPolicy is named ${e.policy}`,
      });
      return;
    }
    const ids = new Set(policy.requirements.map((r) => r.id));
    e.requirements.forEach((id, i) => {
      if (!ids.has(id)) {
        issues.push({
          code: 'POLICY_INVALID',
          source: e.source,
          path: `spec.requirements[${i}]`,
          message: `policy ${policy.name} has no requirement ${id} (it has: ${[...ids].join(', ') || 'none'})`,
        });
      }
    });
  };
  exceptions.forEach(checkException);
  for (const t of tests) t.exceptions.forEach(checkException);
  return { set: { policies, exceptions, grants, tests }, issues };
}

function duplicates(
  docs: readonly { name: string; source: string; kind: string }[],
): PolicyIssue[] {
  const seen = new Map<string, string>();
  const issues: PolicyIssue[] = [];
  for (const d of docs) {
    const first = seen.get(d.name);
    if (first !== undefined) {
      issues.push({
        code: 'POLICY_INVALID',
        source: d.source,
        path: 'metadata.name',
        message: `another ${d.kind} is already named ${d.name} (${first})`,
      });
    } else {
      seen.set(d.name, d.source);
    }
  }
  return issues;
}

/**
 * Parses and assembles a set of files, throwing one ValidationError (POLICY_INVALID,
 * POLICY_CEL_INVALID or POLICY_CEL_LIMIT) that lists every problem in every file.
 */
export function loadPolicySet(files: readonly PolicySourceText[]): PolicySet {
  const issues: PolicyIssue[] = [];
  const documents: PolicyDocument[] = [];
  for (const f of files) {
    const parsed = parsePolicyFile(f);
    issues.push(...parsed.issues);
    documents.push(...parsed.documents);
  }
  const assembled = assemblePolicySet(documents);
  issues.push(...assembled.issues);
  throwIfIssues(issues, files.length === 1 ? `Policy file ${files[0]!.source}` : 'The policy set');
  return assembled.set;
}

import type { Decision } from './decision.js';
import { evaluate } from './evaluate.js';
import type { PolicyTestCase } from './schema.js';
import type { PolicySet } from './set.js';

/** One policy test case's result: the decision and every way it differed from the expectation. */
export interface PolicyTestResult {
  readonly name: string;
  readonly source: string;
  readonly passed: boolean;
  readonly failures: readonly string[];
  readonly decision: Decision;
}

/**
 * Runs a policy set's own test cases (`kind: PolicyTest`), the way `kyverno test` or `opa test`
 * run a policy's tests in its CI: each case's facts at its own `now`, against the set's policies,
 * exceptions and grants plus the case's own.
 */
export function runPolicyTests(
  set: PolicySet,
  tests: readonly PolicyTestCase[] = set.tests,
): PolicyTestResult[] {
  return tests.map((t) => {
    const decision = evaluate(
      t.facts,
      set.policies,
      [...set.exceptions, ...t.exceptions],
      [...set.grants, ...t.grants],
      t.now,
    );
    const failures: string[] = [];
    if (decision.outcome !== t.expect.outcome) {
      failures.push(`expected ${t.expect.outcome}, got ${decision.outcome}: ${decision.reason}`);
    }
    for (const [key, status] of Object.entries(t.expect.requirements ?? {})) {
      const slash = key.indexOf('/');
      const policy = key.slice(0, slash);
      const id = key.slice(slash + 1);
      const outcome = decision.policies
        .find((p) => p.name === policy)
        ?.requirements.find((r) => r.requirement === id);
      if (outcome === undefined) {
        failures.push(
          `${key}: no such requirement was evaluated (does policy ${policy} cover the facts?)`,
        );
      } else if (outcome.status !== status) {
        failures.push(`${key}: expected ${status}, got ${outcome.status}: ${outcome.reason}`);
      }
    }
    if (
      t.expect.reviewRequired !== undefined &&
      decision.reviewRequired !== t.expect.reviewRequired
    ) {
      failures.push(
        `expected reviewRequired ${t.expect.reviewRequired}, got ${decision.reviewRequired}`,
      );
    }
    return { name: t.name, source: t.source, passed: failures.length === 0, failures, decision };
  });
}

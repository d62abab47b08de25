import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../../src/errors/index.js';
import {
  CEL_LIMITS,
  compileCondition,
  evaluate,
  preparePredicate,
  runCondition,
  type JsonValue,
  type CompiledCondition,
  type ConditionResult,
} from '../../src/policy/index.js';
import { MATCH, NOW, SCAN, attestation, facts, hint, load, policyYaml } from './builders.js';

function compiled(source: string): CompiledCondition {
  const c = compileCondition(source);
  assert.ok(c.ok, c.ok ? '' : c.problem.message);
  return c.condition;
}

function problem(source: string): string {
  const c = compileCondition(source);
  assert.ok(!c.ok, `expected ${source.slice(0, 60)} to be refused`);
  return c.problem.code;
}

function run(source: string, raw: unknown): { result: ConditionResult; ms: number } {
  const condition = compiled(source);
  const prepared = preparePredicate(raw as JsonValue);
  assert.ok(prepared.ok);
  const start = performance.now();
  const result = runCondition(condition, {
    predicate: prepared.value,
    shape: prepared.shape,
    predicateType: SCAN,
    issuedAt: NOW,
    signer: { kind: 'key', hint: hint('c3') },
    artifact: { digest: 'sha256:00', repository: 'acme/llm', environment: 'production' },
    now: NOW,
  });
  return { result, ms: performance.now() - start };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1).join(',');

describe('hostile conditions are refused when the policy loads', () => {
  const limited: [string, string][] = [
    [
      'longer than the expression limit',
      `predicate.a == "${'x'.repeat(CEL_LIMITS.maxExpressionLength)}"`,
    ],
    ['deeply nested parentheses', `${'('.repeat(200)}true${')'.repeat(200)}`],
    ['deeply nested lists', `size(${'['.repeat(100)}${']'.repeat(100)}) == 1`],
    ['too many AST nodes', `${Array.from({ length: 1100 }, () => '1').join('+')} > 0`],
    ['a long member chain', `predicate${'.a'.repeat(600)} == 1`],
    [
      'three nested macros over literal lists (10^6 iterations)',
      `[${range(100)}].all(a, [${range(100)}].all(b, [${range(100)}].all(c, a + b + c > 0)))`,
    ],
    [
      'nested macros over split results',
      'predicate.s.split("").all(a, predicate.s.split("").exists(b, a == b))',
    ],
    [
      'literal-list loops inside a loop over the predicate',
      `predicate.l.all(x, [${range(50)}].all(y, [${range(50)}].exists(z, x == y + z)))`,
    ],
    [
      'a loop over a map() result inside a loop over the predicate',
      'predicate.l.all(x, predicate.l.map(y, y).exists(z, z == x))',
    ],
  ];
  for (const [name, source] of limited) {
    test(`${name}: POLICY_CEL_LIMIT`, () => assert.equal(problem(source), 'POLICY_CEL_LIMIT'));
  }

  const invalid: [string, string][] = [
    ['regular expressions (exponential backtracking)', 'predicate.s.matches("^(a+)+$")'],
    ['matches() as a function', 'matches(predicate.s, "a")'],
    ['cel.bind (repeated doubling)', 'cel.bind(a, predicate.s + predicate.s, size(a) > 0)'],
    ['a non-literal glob pattern', 'predicate.s.matchesGlob(predicate.p)'],
    ['not a bool', 'predicate.count + 1'],
    ['a string', '"yes"'],
    ['a syntax error', 'predicate.a ==== 1'],
    ['an unknown variable', 'request.user == "x"'],
    ['empty', '   '],
  ];
  for (const [name, source] of invalid) {
    test(`${name}: POLICY_CEL_INVALID`, () => assert.equal(problem(source), 'POLICY_CEL_INVALID'));
  }

  test('a long chain of negations is either refused or harmless', () => {
    const c = compileCondition(`${'!'.repeat(4000)}true`);
    if (!c.ok) assert.equal(c.problem.code, 'POLICY_CEL_LIMIT');
    else assert.equal(run(`${'!'.repeat(4000)}true`, {}).result.kind, 'true');
  });

  test('everyday conditions compile', () => {
    for (const source of [
      '!predicate.findings.exists(f, f.severity == "CRITICAL")',
      'predicate.results.exists(r, r.dataset == "holdout" && r.value >= 0.9)',
      'predicate.license in ["Apache-2.0", "MIT"]',
      'predicate.findings.all(f, f.tags.exists(t, t == "reviewed"))',
      `predicate.items.all(i, ["a", "b", "c"].exists(k, i.kind == k))`,
      'predicate.repo.matchesGlob("https://github.com/acme/*")',
      'has(predicate.x) ? predicate.x > 1 : true',
      'now - issuedAt < duration("720h")',
      'predicate.s.split(",").exists(p, p == "x")',
    ]) {
      compiled(source);
    }
  });

  test('a hostile condition in a policy file fails the load with POLICY_CEL_LIMIT at its path', () => {
    const spec = `${MATCH}
attestations:
  - name: scan
    predicateType: ${SCAN}
    signers: [{key: ${hint('c3')}}]
    condition: '${'('.repeat(300)}true${')'.repeat(300)}'
  - name: eval
    predicateType: https://example.com/eval
    signers: [{key: ${hint('c3')}}]
    condition: 'predicate.s.matches("(a|a)*b")'`;
    assert.throws(
      () => load(policyYaml('p', spec)),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.equal(err.code, 'POLICY_CEL_LIMIT');
        const issues = err.details?.['issues'] as { path: string; code: string }[];
        assert.deepEqual(
          issues.map((i) => [i.path, i.code]),
          [
            ['spec.attestations[0].condition', 'POLICY_CEL_LIMIT'],
            ['spec.attestations[1].condition', 'POLICY_CEL_INVALID'],
          ],
        );
        return true;
      },
    );
  });
});

describe('conditions run under a read budget', () => {
  test('a quadratic loop over a large predicate list is cut off quickly', () => {
    const l = Array.from({ length: 10_000 }, (_, i) => i);
    const { result, ms } = run('predicate.l.all(x, predicate.l.exists(y, y == x))', { l });
    assert.equal(result.kind, 'limit');
    assert.ok(ms < 2000, `took ${ms} ms`);
  });

  test('huge strings read again and again exhaust the budget', () => {
    const big = 'a'.repeat(512 * 1024);
    const items = Array.from({ length: 1000 }, (_, i) => `id-${i}`);
    const { result, ms } = run('predicate.items.all(i, !predicate.big.contains(i))', {
      big,
      items,
    });
    assert.equal(result.kind, 'limit');
    assert.ok(ms < 2000, `took ${ms} ms`);
  });

  test('a glob over a long string is charged for its worst case before it runs', () => {
    // Every wildcard stays active to the end; the `/` makes the answer false only at the end.
    const s = `${'a'.repeat(200_000)}/b`;
    const { result, ms } = run('predicate.s.matchesGlob("*a*a*a*a*a*a*a*a*b")', { s });
    assert.equal(result.kind, 'limit');
    assert.ok(ms < 2000, `took ${ms} ms`);
  });

  test('map keys listed by a macro are charged', () => {
    const m = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]));
    const { result } = run('predicate.m.all(k, predicate.m.all(j, predicate.m[j] >= 0))', { m });
    assert.equal(result.kind, 'limit');
  });

  test('ordinary conditions stay well within the budget', () => {
    const findings = Array.from({ length: 5000 }, (_, i) => ({ id: `CVE-${i}`, severity: 'LOW' }));
    const { result } = run('!predicate.findings.exists(f, f.severity == "CRITICAL")', { findings });
    assert.equal(result.kind, 'true');
  });

  test('small predicates run directly; the same condition under a tiny budget is metered and stopped', () => {
    const condition = compiled('predicate.l.exists(x, x == 3)');
    const prepared = preparePredicate({ l: [1, 2, 3] });
    assert.ok(prepared.ok);
    const input = {
      predicate: prepared.value,
      shape: prepared.shape,
      predicateType: SCAN,
      issuedAt: NOW,
      signer: {},
      artifact: {},
      now: NOW,
    };
    assert.equal(runCondition(condition, input).kind, 'true');
    assert.equal(runCondition(condition, input, 3).kind, 'limit');
  });

  test('a missing field is an error outcome, not an exception', () => {
    assert.equal(run('predicate.a.b == 1', { a: {} }).result.kind, 'error');
  });

  test('a __proto__ key in a predicate is an ordinary key', () => {
    const predicate = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as unknown;
    assert.equal(
      run('predicate.ok == 1 && !has(predicate.polluted)', predicate).result.kind,
      'true',
    );
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  test('in a decision, a budget overrun is a CONDITION_LIMIT violation that denies', () => {
    const set = load(
      policyYaml(
        'p',
        `${MATCH}
attestations:
  - name: scan
    predicateType: ${SCAN}
    signers: [{key: ${hint('c3')}}]
    condition: 'predicate.l.all(x, predicate.l.exists(y, y == x))'`,
      ),
    );
    const l = Array.from({ length: 10_000 }, (_, i) => i);
    const d = evaluate(facts({ attestations: [attestation({ l })] }), set.policies, [], [], NOW);
    assert.equal(d.outcome, 'deny');
    assert.equal(d.violations[0]!.code, 'CONDITION_LIMIT');
  });

  test('a predicate beyond the fact limits fails its requirement, without running the condition', () => {
    const set = load(
      policyYaml(
        'p',
        `${MATCH}
attestations:
  - name: scan
    predicateType: ${SCAN}
    signers: [{key: ${hint('c3')}}]
    condition: 'true'`,
      ),
    );
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { d: deep };
    const d = evaluate(
      facts({ attestations: [attestation(deep as never)] }),
      set.policies,
      [],
      [],
      NOW,
    );
    assert.equal(d.outcome, 'deny');
    assert.equal(d.violations[0]!.code, 'ATTESTATION_PREDICATE_INVALID');
  });
});

describe('conditions joined by && run part by part, with the same result as the whole', () => {
  test('split only when every part parses back to its own subtree, and at most maxConjuncts parts', () => {
    const parts = (source: string) =>
      compiled(source).conjuncts?.map((c) => c.source) ?? 'not split';
    assert.deepEqual(parts('!predicate.a && predicate.b > 1'), ['!predicate.a', 'predicate.b > 1']);
    assert.deepEqual(parts('(predicate.a || predicate.b) && predicate.c'), [
      'predicate.a || predicate.b',
      'predicate.c',
    ]);
    assert.equal(parts('predicate.a || predicate.b && predicate.c'), 'not split');
    assert.equal(parts('predicate.a == 1'), 'not split');
    const five = Array.from(
      { length: CEL_LIMITS.maxConjuncts + 1 },
      (_, i) => `predicate.a > ${i}`,
    );
    assert.equal(parts(five.join(' && ')), 'not split');
  });

  // CEL's && is commutative over errors: false wins over an error, an error over true.
  const cases: [string, string, ConditionResult['kind']][] = [
    ['true, true', 'predicate.a == 1 && predicate.b == 2', 'true'],
    ['true, false', 'predicate.a == 1 && predicate.b == 3', 'false'],
    ['error, false', 'predicate.missing == 1 && predicate.b == 3', 'false'],
    ['false, error', 'predicate.b == 3 && predicate.missing == 1', 'false'],
    ['error, true', 'predicate.missing == 1 && predicate.b == 2', 'error'],
    ['true, not a bool', 'predicate.a == 1 && predicate.s', 'error'],
    ['three parts', 'predicate.a == 1 && predicate.b == 2 && predicate.s == "x"', 'true'],
  ];
  for (const [name, source, expected] of cases) {
    test(`${name} → ${expected}, as evaluated whole`, () => {
      const spec = (condition: string) => `${MATCH}
attestations:
  - name: scan
    predicateType: ${SCAN}
    signers: [{key: ${hint('c3')}}]
    condition: '${condition}'`;
      const att = attestation({ a: 1, b: 2, s: 'x' });
      const code = (condition: string) =>
        evaluate(
          facts({ attestations: [att] }),
          load(policyYaml('p', spec(condition))).policies,
          [],
          [],
          NOW,
        ).policies[0]!.requirements[0]!.code;
      const kind = { SATISFIED: 'true', CONDITION_FALSE: 'false', CONDITION_ERROR: 'error' };
      assert.ok(compiled(source).conjuncts !== undefined);
      assert.equal(code(source), Object.entries(kind).find(([, k]) => k === expected)![0]);
      // `(…) || false` is never split: the whole expression gives the same outcome.
      assert.equal(code(`(${source}) || false`), code(source));
      assert.equal(run(source, { a: 1, b: 2, s: 'x' }).result.kind, expected);
    });
  }
});

import { createRequire } from 'node:module';
import type * as CelLib from '@marcbachmann/cel-js';
import type { ASTNode, Environment, ParseResult } from '@marcbachmann/cel-js';
import { CEL_LIMITS, POLICY_LIMITS } from './limits.js';
import { compilePattern, matchPattern, wildcardCount } from './glob.js';
import type { PredicateShape } from './predicate.js';

/**
 * CEL conditions over attestation predicates, through @marcbachmann/cel-js (zero dependencies,
 * Node ≥ 20.19). The library has structural parse limits but no run-time cost limit, and runs
 * `matches` with the backtracking JavaScript regex engine. So a condition is admitted only if
 *
 * 1. it is at most `maxExpressionLength` characters (bounds every string literal too);
 * 2. it parses within the library's limits (AST nodes, nesting depth, literal sizes);
 * 3. it calls no forbidden function (`matches`: exponential backtracking; `cel.bind`: lets one
 *    value be doubled again and again), and `matchesGlob` only with a literal pattern;
 * 4. it type-checks to `bool` (or `dyn`, checked when it runs);
 * 5. its estimated iterations over collections that are not metered at run time — literal lists,
 *    `split`, `map`/`filter` results — stay under `maxEstimatedIterations`, nesting multiplied.
 *
 * At run time, when the predicate is small enough that the condition provably stays within the
 * read budget (AST nodes × (largest collection + 1)^(nesting of loops over the predicate + 1) ×
 * (1 + longest string / 256) ≤ budget), it runs directly. Otherwise every value read from the
 * predicate goes through a metering proxy that charges the budget (one unit per read, one per key
 * listed, one per 256 characters of a string read), and running out fails the condition with a
 * limit outcome. Evaluation is synchronous and pure.
 */

export interface CompiledCondition {
  readonly source: string;
  readonly program: ParseResult;
  /** The static estimate that was checked against `maxEstimatedIterations`. */
  readonly estimatedIterations: number;
  /** AST nodes, and the deepest nesting of loops over the predicate: the run-time work bound. */
  readonly nodes: number;
  readonly predicateLoopDepth: number;
  /**
   * `a && b && …` (at most `maxConjuncts` parts): each part compiled on its own, so the engine
   * can evaluate parts that many policies share once per decision. Absent for other conditions.
   */
  readonly conjuncts?: readonly CompiledCondition[];
}

export interface ConditionProblem {
  readonly code: 'POLICY_CEL_INVALID' | 'POLICY_CEL_LIMIT';
  readonly message: string;
}

export type ConditionCompilation =
  | { readonly ok: true; readonly condition: CompiledCondition }
  | { readonly ok: false; readonly problem: ConditionProblem };

/** What a condition sees. `predicate` and `shape` must come from `preparePredicate`. */
export interface ConditionInput {
  readonly predicate: unknown;
  readonly shape: PredicateShape;
  readonly predicateType: string;
  readonly issuedAt: Date;
  readonly signer: Readonly<Record<string, string>>;
  readonly artifact: Readonly<Record<string, string>>;
  readonly now: Date;
}

export type ConditionResult =
  | { readonly kind: 'true' }
  | { readonly kind: 'false' }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'limit'; readonly message: string };

/** Variables a condition may use; documented in docs/policy.md. */
export const CONDITION_VARIABLES = [
  'predicate',
  'predicateType',
  'issuedAt',
  'signer',
  'artifact',
  'now',
] as const;

// ── run-time read budget ────────────────────────────────────────────────────────────────

class BudgetExceeded extends Error {
  constructor() {
    super('The condition exhausted its read budget');
  }
}

/**
 * Thrown again and again once the budget is spent (the library keeps looping after an error
 * inside all() and exists()), so it is made once: building an Error captures a stack each time.
 */
const BUDGET_EXCEEDED = new BudgetExceeded();

/** Evaluation is synchronous, so one meter serves every evaluation in turn. */
const meter = { remaining: 0 };

function charge(units: number): void {
  meter.remaining -= units;
  if (meter.remaining < 0) throw BUDGET_EXCEEDED;
}

function stringUnits(value: unknown): number {
  return typeof value === 'string' ? Math.floor(value.length / CEL_LIMITS.stringUnitChars) : 0;
}

const proxies = new WeakMap<object, object>();

const metering: ProxyHandler<object> = {
  get(target, key) {
    const value: unknown = Reflect.get(target, key);
    charge(1 + stringUnits(value));
    return meteredView(value);
  },
  has(target, key) {
    charge(1);
    return Reflect.has(target, key);
  },
  ownKeys(target) {
    const keys = Reflect.ownKeys(target);
    charge(keys.length);
    return keys;
  },
};

/** A metering view of a prepared (private, unfrozen, plain JSON) value. */
function meteredView(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  let proxy = proxies.get(value);
  if (proxy === undefined) {
    proxy = new Proxy(value, metering);
    proxies.set(value, proxy);
  }
  return proxy;
}

// ── the environment ─────────────────────────────────────────────────────────────────────

let celEnvironment: Environment | undefined;

/**
 * The CEL environment, built on first use: the library costs ~0.1 s to load, which every CLI
 * command would otherwise pay at start-up whether or not it evaluates a policy.
 */
function environment(): Environment {
  celEnvironment ??= buildEnvironment();
  return celEnvironment;
}

function buildEnvironment(): Environment {
  const { Environment: CelEnvironment } = createRequire(import.meta.url)(
    '@marcbachmann/cel-js',
  ) as typeof CelLib;
  return new CelEnvironment({
    limits: {
      maxAstNodes: CEL_LIMITS.maxAstNodes,
      maxDepth: CEL_LIMITS.maxDepth,
      maxListElements: CEL_LIMITS.maxListElements,
      maxMapEntries: CEL_LIMITS.maxMapEntries,
      maxCallArguments: CEL_LIMITS.maxCallArguments,
    },
  })
    .registerVariable('predicate', 'dyn')
    .registerVariable('predicateType', 'string')
    .registerVariable('issuedAt', 'google.protobuf.Timestamp')
    .registerVariable('signer', 'map')
    .registerVariable('artifact', 'map')
    .registerVariable('now', 'google.protobuf.Timestamp')
    .registerFunction('string.matchesGlob(string): bool', (text: string, source: string) => {
      // The pattern is a literal (checked at compile time); the text may be long: charge the
      // automaton's worst case, string × pattern length steps, before running it. A budget unit
      // costs about as much as 16 automaton steps.
      const pattern = compilePattern(source);
      charge(Math.ceil((text.length * Math.max(1, pattern.items.length)) / 16));
      return matchPattern(pattern, text);
    });
}

const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
const FORBIDDEN: Readonly<Record<string, string>> = {
  matches:
    'regular expressions (matches) are not allowed: the CEL library runs them with a backtracking engine, so one pattern can take exponential time. Use startsWith, endsWith, contains, `in [...]` or matchesGlob("pattern*")',
  bind: 'cel.bind is not allowed: binding lets a condition double a value again and again',
};

/** Compiled conditions by source: policy sets repeat conditions across many policies. */
const compiledCache = new Map<string, ConditionCompilation>();
const COMPILED_CACHE_SIZE = 4096;

export function compileCondition(source: string): ConditionCompilation {
  const cached = compiledCache.get(source);
  if (cached !== undefined) return cached;
  const result = compileUncached(source);
  if (compiledCache.size >= COMPILED_CACHE_SIZE) compiledCache.clear();
  compiledCache.set(source, result);
  return result;
}

function compileUncached(source: string): ConditionCompilation {
  if (source.length > CEL_LIMITS.maxExpressionLength) {
    return limit(
      `the condition is ${source.length} characters; the limit is ${CEL_LIMITS.maxExpressionLength}`,
    );
  }
  if (source.trim() === '') return invalid('the condition is empty');
  let program: ParseResult;
  try {
    program = environment().parse(source);
  } catch (err) {
    const { code, message } = libraryError(err);
    return code === 'limit_exceeded'
      ? limit(`the condition exceeds a CEL parser limit: ${message}`)
      : invalid(`the condition does not parse: ${message}`);
  }
  const forbidden = findForbidden(program.ast);
  if (forbidden !== undefined) return invalid(forbidden);
  const checked = program.check();
  if (!checked.valid) {
    return invalid(`the condition does not type-check: ${firstLine(checked.error)}`);
  }
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    return invalid(`the condition must be a bool, but it is a ${String(checked.type)}`);
  }
  const estimatedIterations = estimate(program.ast, 1, new Map());
  if (estimatedIterations > CEL_LIMITS.maxEstimatedIterations) {
    return limit(
      `the condition may iterate about ${estimatedIterations.toExponential(1)} times over collections that are not metered (nested macros over literal lists, split, map or filter results); the limit is ${CEL_LIMITS.maxEstimatedIterations}`,
    );
  }
  const conjuncts = splitConjuncts(program.ast);
  return {
    ok: true,
    condition: {
      source,
      program,
      estimatedIterations,
      nodes: countNodes(program.ast),
      predicateLoopDepth: loopDepth(program.ast, new Map()),
      ...(conjuncts === undefined ? {} : { conjuncts }),
    },
  };
}

/**
 * The top-level `&&` operands, each compiled from its own source text — only when every part
 * parses back to exactly the subtree it came from (so splitting can never change what is
 * evaluated) and there are at most `maxConjuncts` (each part runs under the full read budget).
 * CEL's `&&` is commutative over errors (false wins, then an error, then true), so evaluating
 * the parts separately and combining them gives the same result as the whole.
 */
function splitConjuncts(root: ASTNode): CompiledCondition[] | undefined {
  if (root.op !== '&&') return undefined;
  const leaves: ASTNode[] = [];
  const stack: ASTNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.op === '&&') stack.push(node.args[1], node.args[0]);
    else leaves.push(node);
    if (leaves.length + stack.length > CEL_LIMITS.maxConjuncts) return undefined;
  }
  const parts: CompiledCondition[] = [];
  for (const leaf of leaves) {
    const compiled = compileCondition(leaf.input.slice(leaf.start, leaf.end));
    if (!compiled.ok || !sameTree(compiled.condition.program.ast, leaf)) return undefined;
    parts.push(compiled.condition);
  }
  return parts;
}

/** Runs a compiled condition under the read budget. Never throws. */
export function runCondition(
  condition: CompiledCondition,
  input: ConditionInput,
  budget: number = CEL_LIMITS.readBudget,
): ConditionResult {
  const direct = withinBudget(condition, input.shape, budget);
  // Run directly, reads are not metered, but matchesGlob still charges the budget.
  meter.remaining = budget;
  let value: unknown;
  try {
    value = condition.program({
      predicate: direct ? input.predicate : meteredView(input.predicate),
      predicateType: input.predicateType,
      issuedAt: input.issuedAt,
      signer: input.signer,
      artifact: input.artifact,
      now: input.now,
    });
  } catch (err) {
    if (meter.remaining < 0 || err instanceof BudgetExceeded) return budgetResult(budget);
    return { kind: 'error', message: libraryError(err).message };
  }
  // The library may swallow an error inside exists(); a spent budget still fails the condition.
  if (meter.remaining < 0) return budgetResult(budget);
  if (value === true) return { kind: 'true' };
  if (value === false) return { kind: 'false' };
  return { kind: 'error', message: `the condition returned ${describeValue(value)}, not a bool` };
}

/** True when no evaluation of `condition` on a predicate of this shape can exceed `budget`. */
function withinBudget(
  condition: CompiledCondition,
  shape: PredicateShape,
  budget: number,
): boolean {
  const work =
    condition.nodes *
    Math.pow(shape.maxItems + 1, condition.predicateLoopDepth + 1) *
    (1 + shape.maxString / CEL_LIMITS.stringUnitChars);
  return work <= budget;
}

function budgetResult(budget: number): ConditionResult {
  return {
    kind: 'limit',
    message: `the condition exceeded its read budget of ${budget} units (values read from the predicate, plus 1 per ${CEL_LIMITS.stringUnitChars} characters of strings)`,
  };
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a map' : `a ${typeof value}`;
}

function invalid(message: string): ConditionCompilation {
  return { ok: false, problem: { code: 'POLICY_CEL_INVALID', message } };
}

function limit(message: string): ConditionCompilation {
  return { ok: false, problem: { code: 'POLICY_CEL_LIMIT', message } };
}

function libraryError(err: unknown): { code: string | undefined; message: string } {
  if (err instanceof RangeError) {
    return { code: 'limit_exceeded', message: 'the expression is nested too deeply' };
  }
  const code =
    err !== null && typeof err === 'object' && typeof (err as { code?: unknown }).code === 'string'
      ? (err as { code: string }).code
      : undefined;
  return { code, message: firstLine(err) };
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.trim();
}

// ── static analysis over the library's AST ───────────────────────────────────────────────

function isNode(value: unknown): value is ASTNode {
  return value !== null && typeof value === 'object' && 'op' in value && 'args' in value;
}

function children(node: ASTNode): ASTNode[] {
  if (node.op === 'value' || node.op === 'id') return [];
  const out: ASTNode[] = [];
  const stack: unknown[] = [node.args];
  while (stack.length > 0) {
    const v = stack.pop();
    if (isNode(v)) out.push(v);
    else if (Array.isArray(v)) for (const x of v as unknown[]) stack.push(x);
  }
  return out;
}

function callName(node: ASTNode): string | undefined {
  if (node.op === 'call' || node.op === 'rcall') return node.args[0];
  return undefined;
}

function findForbidden(root: ASTNode): string | undefined {
  const stack: ASTNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const name = callName(node);
    if (name !== undefined && name in FORBIDDEN) return FORBIDDEN[name];
    if (node.op === 'rcall' && name === 'matchesGlob') {
      const arg = node.args[2][0];
      if (arg === undefined || arg.op !== 'value' || typeof arg.args !== 'string') {
        return 'matchesGlob takes a literal pattern string, e.g. s.matchesGlob("https://github.com/acme/*")';
      }
      if (
        wildcardCount(arg.args) > POLICY_LIMITS.maxPatternWildcards ||
        arg.args.length > POLICY_LIMITS.maxIdentifierLength
      ) {
        return `a matchesGlob pattern may have at most ${POLICY_LIMITS.maxPatternWildcards} wildcards and ${POLICY_LIMITS.maxIdentifierLength} characters`;
      }
    }
    stack.push(...children(node));
  }
  return undefined;
}

/** Structural equality of two ASTs; values other than primitives count as different. */
function sameTree(a: unknown, b: unknown): boolean {
  if (isNode(a) || isNode(b)) {
    return isNode(a) && isNode(b) && a.op === b.op && sameTree(a.args, b.args);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameTree(x, b[i]));
  }
  return (a === null || typeof a !== 'object') && Object.is(a, b);
}

// The AST's operator set is the library's and open-ended (every binary operator is one), so
// these helpers test the few operators that matter and treat the rest alike, with if-chains.

/** Elements a collection-valued expression may hold, for the estimate. */
function bound(node: ASTNode): number {
  if (node.op === 'list' || node.op === 'map') return node.args.length;
  if (node.op === '+') return bound(node.args[0]) + bound(node.args[1]);
  if (node.op === '?:') return Math.max(bound(node.args[1]), bound(node.args[2]));
  if (node.op === 'rcall') {
    const name = node.args[0];
    if (name === 'map' || name === 'filter') return bound(node.args[1]);
    if (name === 'split') return CEL_LIMITS.assumedSplitItems;
  }
  return CEL_LIMITS.assumedInputItems;
}

/** True when the expression's value is read from the predicate (through the metering proxy). */
function metered(node: ASTNode, scope: ReadonlyMap<string, boolean>): boolean {
  if (node.op === 'id') return scope.get(node.args) ?? node.args === 'predicate';
  if (node.op === '.' || node.op === '.?' || node.op === '[]' || node.op === '[?]') {
    return metered(node.args[0], scope);
  }
  return false;
}

function countNodes(root: ASTNode): number {
  let n = 0;
  const stack: ASTNode[] = [root];
  while (stack.length > 0) {
    n++;
    stack.push(...children(stack.pop()!));
  }
  return n;
}

/** The deepest nesting of comprehensions over values read from the predicate. */
function loopDepth(node: ASTNode, scope: ReadonlyMap<string, boolean>): number {
  if (node.op === 'rcall' && COMPREHENSIONS.has(node.args[0])) {
    const receiver = node.args[1];
    const [iterVar, ...bodies] = node.args[2];
    const isMetered = metered(receiver, scope);
    const innerScope = new Map(scope);
    if (iterVar !== undefined && iterVar.op === 'id') innerScope.set(iterVar.args, isMetered);
    const inner = Math.max(0, ...bodies.map((b) => loopDepth(b, innerScope)));
    return Math.max(loopDepth(receiver, scope), (isMetered ? 1 : 0) + inner);
  }
  return Math.max(0, ...children(node).map((c) => loopDepth(c, scope)));
}

/** Iterations over unmetered collections, multiplied through nesting. */
function estimate(node: ASTNode, multiplier: number, scope: ReadonlyMap<string, boolean>): number {
  if (node.op === 'rcall' && COMPREHENSIONS.has(node.args[0])) {
    const receiver = node.args[1];
    const [iterVar, ...bodies] = node.args[2];
    let total = estimate(receiver, multiplier, scope);
    const inner = multiplier * bound(receiver);
    const isMetered = metered(receiver, scope);
    if (!isMetered) total += inner;
    const innerScope = new Map(scope);
    if (iterVar !== undefined && iterVar.op === 'id') innerScope.set(iterVar.args, isMetered);
    for (const body of bodies) total += estimate(body, inner, innerScope);
    return total;
  }
  let total = 0;
  for (const child of children(node)) {
    total += estimate(child, multiplier, scope);
    // Stop early: the answer is already "too much".
    if (total > CEL_LIMITS.maxEstimatedIterations * 1000) return total;
  }
  return total;
}

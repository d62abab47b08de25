import type { JsonValue } from './facts.js';
import { FACT_LIMITS } from './limits.js';

/** Sizes that bound what a condition can do with a predicate (see `runCondition`). */
export interface PredicateShape {
  /** The largest array length or object key count. */
  readonly maxItems: number;
  /** The longest string. */
  readonly maxString: number;
  /** Approximate total size in bytes. */
  readonly bytes: number;
}

export type PreparedPredicate =
  | { readonly ok: true; readonly value: unknown; readonly shape: PredicateShape }
  | { readonly ok: false; readonly problem: string };

const prepared = new WeakMap<object, PreparedPredicate>();

/**
 * Checks a predicate against FACT_LIMITS and makes the private, plain-JSON copy that conditions
 * read through the metering proxy (a copy, so frozen or exotic input objects cannot break the
 * proxy and the caller's object is never exposed). Iterative: hostile depth cannot overflow the
 * stack. Results are cached per predicate object.
 */
export function preparePredicate(predicate: JsonValue): PreparedPredicate {
  if (predicate === null || typeof predicate !== 'object') return copyJson(predicate);
  let result = prepared.get(predicate);
  if (result === undefined) {
    result = copyJson(predicate);
    prepared.set(predicate, result);
  }
  return result;
}

interface Frame {
  readonly source: unknown;
  readonly assign: (value: unknown) => void;
  readonly depth: number;
  readonly path: string;
}

function copyJson(root: unknown): PreparedPredicate {
  let bytes = 0;
  let maxItems = 0;
  let maxString = 0;
  let out: unknown;
  const stack: Frame[] = [{ source: root, assign: (v) => (out = v), depth: 0, path: 'predicate' }];
  while (stack.length > 0) {
    const { source, assign, depth, path } = stack.pop()!;
    bytes += 8;
    if (source === null || typeof source === 'boolean') {
      assign(source);
    } else if (typeof source === 'number') {
      if (!Number.isFinite(source)) return fail(`${path} is not a finite number`);
      assign(source);
    } else if (typeof source === 'string') {
      if (source.length > FACT_LIMITS.maxPredicateStringLength) {
        return fail(
          `${path} is a string of ${source.length} characters; the limit is ${FACT_LIMITS.maxPredicateStringLength}`,
        );
      }
      bytes += source.length;
      maxString = Math.max(maxString, source.length);
      assign(source);
    } else if (typeof source === 'object') {
      if (depth >= FACT_LIMITS.maxPredicateDepth) {
        return fail(`${path} nests deeper than ${FACT_LIMITS.maxPredicateDepth} levels`);
      }
      if (Array.isArray(source)) {
        if (source.length > FACT_LIMITS.maxPredicateItems) {
          return fail(
            `${path} has ${source.length} items; the limit is ${FACT_LIMITS.maxPredicateItems}`,
          );
        }
        maxItems = Math.max(maxItems, source.length);
        const copy: unknown[] = new Array<unknown>(source.length);
        assign(copy);
        for (let i = 0; i < source.length; i++) {
          stack.push({
            source: source[i] as unknown,
            assign: (v) => (copy[i] = v),
            depth: depth + 1,
            path: `${path}[${i}]`,
          });
        }
      } else {
        const proto = Object.getPrototypeOf(source) as unknown;
        if (proto !== Object.prototype && proto !== null) {
          return fail(`${path} is not a plain JSON object`);
        }
        const keys = Object.keys(source);
        if (keys.length > FACT_LIMITS.maxPredicateItems) {
          return fail(
            `${path} has ${keys.length} keys; the limit is ${FACT_LIMITS.maxPredicateItems}`,
          );
        }
        maxItems = Math.max(maxItems, keys.length);
        // A null-prototype copy: a key named __proto__ stays an ordinary key.
        const copy = Object.create(null) as Record<string, unknown>;
        assign(copy);
        for (const key of keys) {
          bytes += key.length;
          maxString = Math.max(maxString, key.length);
          stack.push({
            source: (source as Record<string, unknown>)[key],
            assign: (v) => (copy[key] = v),
            depth: depth + 1,
            path: `${path}.${key}`,
          });
        }
      }
    } else {
      return fail(`${path} is a ${typeof source}, which JSON cannot hold`);
    }
    if (bytes > FACT_LIMITS.maxPredicateBytes) {
      return fail(`the predicate is larger than ${FACT_LIMITS.maxPredicateBytes} bytes`);
    }
  }
  return { ok: true, value: out, shape: { maxItems, maxString, bytes } };
}

function fail(problem: string): PreparedPredicate {
  return { ok: false, problem };
}

/**
 * Anchored glob patterns for repositories and identities. Only two wildcards exist: `*` matches
 * any run of characters except `/`, and `**` any run including `/`. Every other character is
 * literal, and a pattern always matches the whole string (never a substring). Matching simulates
 * the pattern as an automaton, so it takes time proportional to string × pattern length whatever
 * the input (no backtracking, no regular expressions built from policy text).
 */

type Item =
  { readonly kind: 'char'; readonly code: number } | { readonly kind: 'star' | 'globstar' };

export interface Pattern {
  /** The pattern as written. */
  readonly source: string;
  readonly items: readonly Item[];
  /** Literal text before the first and after the last wildcard, for a cheap early reject. */
  readonly prefix: string;
  readonly suffix: string;
}

export function isPattern(text: string): boolean {
  return text.includes('*');
}

export function wildcardCount(text: string): number {
  return (text.match(/\*+/g) ?? []).length;
}

export function compilePattern(source: string): Pattern {
  const items: Item[] = [];
  for (let i = 0; i < source.length; i++) {
    if (source[i] === '*') {
      if (source[i + 1] === '*') {
        i++;
        items.push({ kind: 'globstar' });
      } else {
        items.push({ kind: 'star' });
      }
      // `***` and longer behave as `**`.
      while (source[i + 1] === '*') i++;
    } else {
      items.push({ kind: 'char', code: source.charCodeAt(i) });
    }
  }
  const first = source.indexOf('*');
  const last = source.lastIndexOf('*');
  return first === -1
    ? { source, items, prefix: source, suffix: '' }
    : { source, items, prefix: source.slice(0, first), suffix: source.slice(last + 1) };
}

const SLASH = 0x2f;

/**
 * Simulates the pattern automaton with a sparse set of active positions: usually one to three
 * are active, so a match costs about one step per character; at worst string × pattern length.
 */
export function matchPattern(pattern: Pattern, text: string): boolean {
  if (!text.startsWith(pattern.prefix) || !text.endsWith(pattern.suffix)) return false;
  // The same identities meet the same patterns decision after decision.
  let memo = results.get(pattern.source);
  const known = memo?.get(text);
  if (known !== undefined) return known;
  const result = simulate(pattern, text);
  if (memo === undefined) {
    if (results.size >= MEMO_PATTERNS) results.clear();
    memo = new Map();
    results.set(pattern.source, memo);
  }
  if (memo.size >= MEMO_TEXTS_PER_PATTERN) memo.clear();
  // Long texts (predicate strings) are not worth keeping.
  if (text.length <= 1024) memo.set(text, result);
  return result;
}

const MEMO_PATTERNS = 1024;
const MEMO_TEXTS_PER_PATTERN = 256;
const results = new Map<string, Map<string, boolean>>();

function simulate(pattern: Pattern, text: string): boolean {
  const items = pattern.items;
  const m = items.length;
  // `mark[i] === generation` means position i is already in the next set.
  const mark = new Int32Array(m + 1).fill(-1);
  let active: number[] = [];
  let next: number[] = [];
  let generation = 0;
  const add = (set: number[], i: number) => {
    // A wildcard may match nothing: entering it also enters the position after it.
    for (let j = i; j <= m; j++) {
      if (mark[j] === generation) return;
      mark[j] = generation;
      set.push(j);
      if (j === m || items[j]!.kind === 'char') return;
    }
  };
  add(active, 0);
  for (let p = 0; p < text.length; p++) {
    const code = text.charCodeAt(p);
    generation++;
    next.length = 0;
    for (const i of active) {
      if (i === m) continue;
      const item = items[i]!;
      switch (item.kind) {
        case 'char':
          if (item.code === code) add(next, i + 1);
          break;
        case 'star':
          if (code !== SLASH) add(next, i);
          break;
        case 'globstar':
          add(next, i);
          break;
      }
    }
    if (next.length === 0) return false;
    [active, next] = [next, active];
  }
  return active.includes(m);
}

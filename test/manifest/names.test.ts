import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  compareCodePoints,
  comparePaths,
  compareResourceKeys,
  pathProblem,
  sortResources,
} from '../../src/manifest/index.js';

/** -1, 0 or 1 (never -0, which strict assertions tell apart from 0). */
const sign = (n: number): number => (n > 0 ? 1 : n < 0 ? -1 : 0);

/** The reference order, written the slow obvious way: arrays of code points. */
function refCompareStrings(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  }
  return sign(x.length - y.length);
}

function refComparePaths(a: string, b: string): number {
  const pa = a === '.' ? [] : a.split('/');
  const pb = b === '.' ? [] : b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = refCompareStrings(pa[i]!, pb[i]!);
    if (c !== 0) return c;
  }
  return sign(pa.length - pb.length);
}

// Strings over characters that matter for ordering: ASCII below and above `/`, separators, BMP
// above the surrogate block, and astral characters.
const interesting = fc.constantFrom(
  ' ',
  '!',
  'a',
  'b',
  'A',
  '-',
  '.',
  '_',
  '0',
  '\u00e9',
  '\uff21',
  '\ue000',
  '\u{1F600}',
  '\u{10000}',
);
const component = fc.array(interesting, { minLength: 1, maxLength: 4 }).map((a) => a.join(''));
const anyString = fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), component);
const path = fc.array(component, { minLength: 1, maxLength: 4 }).map((a) => a.join('/'));

void describe('compareCodePoints', () => {
  void it('agrees with a code-point comparison', () => {
    fc.assert(
      fc.property(anyString, anyString, (a, b) => {
        assert.equal(sign(compareCodePoints(a, b)), refCompareStrings(a, b));
      }),
      { numRuns: 2000 },
    );
  });

  void it('is a total order (antisymmetric, transitive, zero only on equal)', () => {
    fc.assert(
      fc.property(anyString, anyString, anyString, (a, b, c) => {
        const ab = sign(compareCodePoints(a, b));
        assert.equal(ab, sign(-compareCodePoints(b, a)));
        assert.equal(ab === 0, a === b);
        if (ab <= 0 && sign(compareCodePoints(b, c)) <= 0) {
          assert.ok(compareCodePoints(a, c) <= 0);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

void describe('comparePaths', () => {
  void it('agrees with comparing component arrays by code point', () => {
    fc.assert(
      fc.property(path, path, (a, b) => {
        assert.equal(sign(comparePaths(a, b)), refComparePaths(a, b));
      }),
      { numRuns: 2000 },
    );
  });

  void it('is a total order on paths', () => {
    fc.assert(
      fc.property(path, path, path, (a, b, c) => {
        const ab = sign(comparePaths(a, b));
        assert.equal(ab, sign(-comparePaths(b, a)));
        assert.equal(ab === 0, a === b);
        if (ab <= 0 && comparePaths(b, c) <= 0) assert.ok(comparePaths(a, c) <= 0);
      }),
      { numRuns: 2000 },
    );
  });

  void it('puts the known traps in reference order', () => {
    assert.ok(comparePaths('a/b.txt', 'a-b.txt') < 0);
    assert.ok(comparePaths('tokenizer/vocab.txt', 'tokenizer.json') < 0);
    assert.ok(comparePaths('README.md', 'a/x') < 0);
    assert.ok(comparePaths('\uff21', '\u{1F600}') < 0);
    assert.ok(comparePaths('.', 'a') < 0);
  });

  void it('sortResources orders shards numerically after the path', () => {
    const keys = [
      { path: 'w.bin', shard: { start: 1048576, end: 1310720 } },
      { path: 'w.bin', shard: { start: 262144, end: 524288 } },
      { path: 'w-x.bin', shard: { start: 0, end: 1 } },
      { path: 'w.bin', shard: { start: 0, end: 262144 } },
    ];
    assert.deepEqual(
      sortResources(keys).map((k) => `${k.path}:${k.shard.start}`),
      ['w-x.bin:0', 'w.bin:0', 'w.bin:262144', 'w.bin:1048576'],
    );
    fc.assert(
      fc.property(path, fc.nat(), fc.nat(), (p, s1, s2) => {
        const a = { path: p, shard: { start: s1, end: s1 + 1 } };
        const b = { path: p, shard: { start: s2, end: s2 + 1 } };
        assert.equal(sign(compareResourceKeys(a, b)), sign(s1 - s2));
      }),
    );
  });
});

void describe('pathProblem', () => {
  const safeChar = fc.constantFrom('a', 'Z', '0', '-', '_', '.', ' ', '\u00e9', '\u{1F600}', ':');
  const safeComponent = fc
    .array(safeChar, { minLength: 1, maxLength: 6 })
    .map((a) => a.join(''))
    .filter((c) => c !== '.' && c !== '..');
  const safePath = fc
    .array(safeComponent, { minLength: 1, maxLength: 5 })
    .map((a) => a.join('/'))
    .filter((p) => !/^[A-Za-z]:/.test(p));

  void it('accepts relative, normal, printable paths', () => {
    fc.assert(fc.property(safePath, (p) => assert.equal(pathProblem(p), undefined)));
  });

  void it('rejects any path with a backslash, control character or lone surrogate', () => {
    const bad = fc.constantFrom('\\', '\u0000', '\n', '\u001f', '\u007f', '\ud800', '\udfff');
    fc.assert(
      fc.property(safePath, bad, fc.nat(), (p, b, at) => {
        const i = at % (p.length + 1);
        // Do not split a surrogate pair of the safe path: insert at a code-point boundary.
        const chars = Array.from(p);
        const j = Math.min(i, chars.length);
        const q = [...chars.slice(0, j), b, ...chars.slice(j)].join('');
        assert.notEqual(pathProblem(q), undefined, JSON.stringify(q));
      }),
    );
  });

  void it('rejects absolute paths, empty and dot components', () => {
    fc.assert(
      fc.property(safePath, fc.constantFrom('/', '', '.', '..'), (p, x) => {
        const variants = x === '/' ? [`/${p}`] : [`${x}/${p}`, `${p}/${x}`, `${p}/${x}/${p}`];
        for (const v of variants) assert.notEqual(pathProblem(v), undefined, JSON.stringify(v));
      }),
    );
    assert.notEqual(pathProblem(''), undefined);
    assert.notEqual(pathProblem('C:/x'), undefined);
    assert.equal(pathProblem('.'), undefined);
  });
});

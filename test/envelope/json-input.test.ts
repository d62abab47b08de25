import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { findExcessiveNesting } from '../../src/envelope/index.js';

/** The obvious byte-by-byte scan the fast one must agree with everywhere. */
function referenceScan(bytes: Uint8Array, maxDepth: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === 0x5c) i++;
      else if (b === 0x22) inString = false;
      continue;
    }
    if (b === 0x22) inString = true;
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > maxDepth) return i;
    } else if (b === 0x5d || b === 0x7d) depth--;
  }
  return -1;
}

/** Text made of JSON's structural bytes, with runs long enough to cross the inline window. */
const jsonish = fc
  .array(
    fc.oneof(
      fc.constantFrom('"', '\\', '[', ']', '{', '}', 'a', ',', '\\"', '\\\\'),
      fc.string({ unit: fc.constantFrom('a', '\\', '"', '['), minLength: 200, maxLength: 700 }),
      fc.constantFrom('a'.repeat(300), '\\'.repeat(255), '\\'.repeat(256), '['.repeat(40)),
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(''));

void test('findExcessiveNesting agrees with a byte-by-byte scan (strings, escapes, long runs)', () => {
  fc.assert(
    fc.property(jsonish, fc.integer({ min: 0, max: 40 }), fc.boolean(), (text, depth, view) => {
      const bytes = Buffer.from(text, 'latin1');
      // Also a plain Uint8Array at an offset into a bigger buffer, as a worker receives it.
      let input: Uint8Array = bytes;
      if (view) {
        const shifted = new Uint8Array(bytes.length + 2);
        shifted.set(bytes, 2);
        input = shifted.subarray(2);
      }
      assert.equal(findExcessiveNesting(input, depth), referenceScan(bytes, depth), text);
    }),
    { numRuns: 2000 },
  );
});

void test('findExcessiveNesting skips a long string whose quotes are escaped', () => {
  const long = `{"p":"${'A'.repeat(5000)}\\"[[[[\\\\\\"${'B'.repeat(5000)}"}`;
  assert.equal(findExcessiveNesting(Buffer.from(long), 2), -1);
  const deepAfter = `${long.slice(0, -1)},"q":[[[1]]]}`;
  assert.equal(findExcessiveNesting(Buffer.from(deepAfter), 3), deepAfter.lastIndexOf('[[[') + 2);
  // An escaped backslash before the quote: the string really ends there.
  const ends = `["${'C'.repeat(400)}\\\\", [[1]]]`;
  assert.equal(findExcessiveNesting(Buffer.from(ends), 2), ends.lastIndexOf('[[') + 1);
});

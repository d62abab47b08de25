import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  compilePattern,
  formatDuration,
  formatInstant,
  matchPattern,
  parseDuration,
  parseInstant,
} from '../../src/policy/index.js';

const matches = (pattern: string, text: string) => matchPattern(compilePattern(pattern), text);

test('patterns are anchored at both ends', () => {
  assert.equal(matches('acme/*', 'acme/llm'), true);
  assert.equal(matches('acme/*', 'xacme/llm'), false);
  assert.equal(matches('acme/*', 'acme/llm/x'), false);
  assert.equal(matches('acme/llm', 'acme/llm2'), false);
  assert.equal(matches('*@acme.com', 'alice@acme.com'), true);
  assert.equal(matches('*@acme.com', 'alice@acme.com.evil'), false);
});

test('* stays within a path segment, ** crosses segments', () => {
  assert.equal(matches('https://github.com/acme/*', 'https://github.com/acme/x/y'), false);
  assert.equal(matches('https://github.com/acme/**', 'https://github.com/acme/x/y'), true);
  assert.equal(matches('**', ''), true);
  assert.equal(matches('*', 'a/b'), false);
  assert.equal(matches('a*b*c', 'abc'), true);
});

test('regular-expression characters are literal', () => {
  assert.equal(matches('a.c', 'abc'), false);
  assert.equal(matches('a+(b)?', 'a+(b)?'), true);
  assert.equal(matches('[a]', 'a'), false);
});

test('adversarial patterns take linear time', () => {
  const text = `${'a'.repeat(100_000)}`;
  const start = performance.now();
  assert.equal(matches('*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b', text), false);
  assert.ok(performance.now() - start < 1000);
});

/** The reference semantics, as a regular expression (only safe on tiny inputs). */
function reference(pattern: string, text: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '*') {
      if (pattern[i + 1] === '*') {
        re += '.*';
        while (pattern[i + 1] === '*') i++;
      } else {
        re += '[^/]*';
      }
    } else {
      re += pattern[i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`${re}$`, 's').test(text);
}

test('matching agrees with the reference semantics (property)', () => {
  const alphabet = fc.constantFrom('a', 'b', '/', '.');
  const text = fc.array(alphabet, { maxLength: 10 }).map((a) => a.join(''));
  const pattern = fc
    .array(fc.constantFrom('a', 'b', '/', '.', '*', '**'), { maxLength: 6 })
    .map((a) => a.join(''));
  fc.assert(
    fc.property(pattern, text, (p, t) => matches(p, t) === reference(p, t)),
    { numRuns: 500 },
  );
});

test('instants: RFC 3339 with an offset, round-tripped in UTC', () => {
  assert.equal(
    parseInstant('2025-09-01T02:00:00+02:00')?.toISOString(),
    '2025-09-01T00:00:00.000Z',
  );
  assert.equal(formatInstant(parseInstant('2025-09-01T00:00:00Z')!), '2025-09-01T00:00:00Z');
  assert.equal(
    formatInstant(parseInstant('2025-09-01T00:00:00.250Z')!),
    '2025-09-01T00:00:00.250Z',
  );
  for (const bad of [
    '2025-09-01',
    '2025-09-01 00:00:00Z',
    '2025-13-01T00:00:00Z',
    '2024-02-30T00:00:00Z',
    '2025-01-01T00:00:60Z',
    '2025-01-01T00:00:00+24:00',
  ]) {
    assert.equal(parseInstant(bad), undefined, bad);
  }
  assert.ok(parseInstant('2024-02-29T00:00:00Z'));
});

test('durations', () => {
  assert.equal(parseDuration('30d'), 30 * 86400);
  assert.equal(parseDuration('1d12h'), 36 * 3600);
  assert.equal(parseDuration('90m'), 5400);
  assert.equal(parseDuration('4h30m15s'), 4 * 3600 + 30 * 60 + 15);
  for (const bad of ['', '30', 'd', '1h1d', '-1h', '1.5h', '1w'])
    assert.equal(parseDuration(bad), undefined, bad);
  assert.equal(formatDuration(31 * 86400 + 12 * 3600 + 5), '31d 12h');
  assert.equal(formatDuration(59), '59s');
  assert.equal(formatDuration(0), '0s');
});

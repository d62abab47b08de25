// `printJson` writes exactly `JSON.stringify(value, null, 2)` + newline, also when it writes long
// top-level arrays a slice at a time.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import { JsonArray, printJson, type Io } from '../../src/cli/output.js';

function captured(value: unknown): { text: string; writes: number } {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  let writes = 0;
  stdout.on('data', (c: Buffer) => {
    chunks.push(c);
    writes++;
  });
  const io: Io = { stdout, stderr: new PassThrough(), env: {}, cwd: '/' };
  printJson(io, value);
  return { text: Buffer.concat(chunks).toString('utf8'), writes };
}

void test('long top-level arrays are written in slices, byte for byte as JSON.stringify', () => {
  const item = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.record({ name: fc.string(), digest: fc.string(), size: fc.option(fc.nat()) }),
  );
  fc.assert(
    fc.property(
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
      fc.array(fc.tuple(fc.string({ maxLength: 8 }), fc.nat({ max: 2000 }))),
      item,
      (base, longs, sample) => {
        const value: Record<string, unknown> = { ...base };
        for (const [key, length] of longs) value[key] = Array.from({ length }, () => sample);
        const out = captured(value);
        assert.equal(out.text, `${JSON.stringify(value, null, 2)}\n`);
      },
    ),
    { numRuns: 60 },
  );
});

void test('a 3,000-entry result is not written as one string', () => {
  const resources = Array.from({ length: 3000 }, (_, i) => ({
    name: `d/${i}.bin`,
    digest: 'ab'.repeat(32),
    undefinedField: undefined,
  }));
  const value = { ok: true, resources, tail: [1, 2], note: 'a "quoted"\nline' };
  const out = captured(value);
  assert.equal(out.text, `${JSON.stringify(value, null, 2)}\n`);
  assert.ok(out.writes > 3, `${out.writes} writes`);
  // Short arrays, arrays in arrays and values with toJSON go through unchanged, in one write.
  const small = captured([resources]);
  assert.equal(small.writes, 1);
  assert.equal(captured(new Date(0)).text, `${JSON.stringify(new Date(0))}\n`);
});

void test('a JsonArray is written as the array it stands for, made a slice at a time', () => {
  for (const length of [0, 1, 1023, 1024, 1025, 3000]) {
    const item = (i: number) => ({ name: `d/${i}.bin`, size: i });
    const whole = Array.from({ length }, (_, i) => item(i));
    const asked: number[] = [];
    const lazy = new JsonArray(length, (from, to) => {
      asked.push(to - from);
      return whole.slice(from, to);
    });
    const out = captured({ ok: true, resources: lazy, after: 1 });
    assert.equal(
      out.text,
      `${JSON.stringify({ ok: true, resources: whole, after: 1 }, null, 2)}\n`,
    );
    // Long ones never whole: no slice asked for more than 512 items.
    if (length >= 1024) assert.ok(Math.max(...asked) <= 512, `${length}: ${asked.join(',')}`);
  }
});

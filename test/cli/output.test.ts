import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { printJson } from '../../src/cli/output.js';

function printed(value: unknown): string {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  printJson({ stdout: out, stderr: new PassThrough(), env: {}, cwd: '/' }, value);
  return Buffer.concat(chunks).toString('utf8');
}

const expected = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

void describe('printJson', () => {
  void it('writes what JSON.stringify(value, null, 2) writes, long arrays included', () => {
    const extra = fc.oneof(
      fc.jsonValue(),
      fc.constant(undefined),
      fc.constant(() => 1),
      fc.constant({ toJSON: () => undefined }),
      fc.constant({ toJSON: () => 'as json' }),
      fc.constant(new Date(0)),
      fc.constant(Buffer.from('ab')),
    );
    const longArray = fc.array(fc.oneof(fc.jsonValue({ maxDepth: 2 }), extra), {
      minLength: 1000,
      maxLength: 1300,
    });
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.oneof(extra, longArray), { minKeys: 0, maxKeys: 6 }),
        longArray,
        fc.string(),
        (record, long, key) => {
          const value = { ...record, [key]: long };
          assert.equal(printed(value), expected(value));
        },
      ),
      { numRuns: 40 },
    );
  });

  void it('leaves small documents and other shapes to JSON.stringify', () => {
    for (const value of [
      { ok: true, resources: [{ name: 'a', digest: 'ff' }] },
      [Array.from({ length: 2000 }, (_, i) => i)],
      { toJSON: () => ({ resources: Array.from({ length: 2000 }, (_, i) => i) }) },
      null,
      'text',
    ]) {
      assert.equal(printed(value), expected(value));
    }
  });

  void it('writes a long document in more than one piece', () => {
    const out = new PassThrough();
    let writes = 0;
    out.on('data', () => writes++);
    const resources = Array.from({ length: 20_000 }, (_, i) => ({
      name: `dir/file-${i}.bin`,
      digest: 'ab'.repeat(32),
      role: 'weights',
    }));
    printJson(
      { stdout: out, stderr: new PassThrough(), env: {}, cwd: '/' },
      { ok: true, resources },
    );
    assert.ok(writes > 10, `${writes} writes`);
  });
});

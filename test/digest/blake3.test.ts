import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import fc from 'fast-check';
import { blake3IsNative, createHasher, hashBytes } from '../../src/digest/index.js';
import { tempDir } from '../helpers.js';

test('BLAKE3 runs natively on this platform (linux-x64-gnu)', (t) => {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    t.skip('native BLAKE3 binary is published for linux-x64-gnu only');
    return;
  }
  assert.equal(blake3IsNative(), true, 'the optional native BLAKE3 dependency did not load');
});

test('native BLAKE3 equals the audited pure-JS implementation, across chunkings', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 5000 }),
      fc.integer({ min: 1, max: 2000 }),
      (data, chunk) => {
        const h = createHasher('blake3');
        for (let i = 0; i < data.length; i += chunk) h.update(data.subarray(i, i + chunk));
        const want = Buffer.from(nobleBlake3(data));
        assert.ok(h.digest().equals(want));
        assert.ok(hashBytes('blake3', data).equals(want));
      },
    ),
    { numRuns: 200 },
  );
});

test('BLAKE3 equals b3sum on a multi-chunk file', (t) => {
  let b3sum: string;
  try {
    b3sum = execFileSync('sh', ['-c', 'command -v b3sum'], { encoding: 'utf8' }).trim();
  } catch {
    if (process.env['CI'] === 'true') throw new Error('b3sum is missing; .ci/run installs it');
    console.warn(
      '\n*** SKIPPING b3sum cross-check: b3sum not installed (apt-get install b3sum) ***\n',
    );
    t.skip('b3sum not installed');
    return;
  }
  const file = join(tempDir(t), 'data.bin');
  const data = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  writeFileSync(file, data);
  const want = execFileSync(b3sum, ['--no-names', file], { encoding: 'utf8' }).trim();
  assert.equal(hashBytes('blake3', data).toString('hex'), want);
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  openSync,
  closeSync,
  writeSync,
  ftruncateSync,
  renameSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hashBytes } from '../../src/digest/index.js';
import { hashModel, type HashProgress } from '../../src/manifest/index.js';
import { hashModelWith, type HashInternals } from '../../src/manifest/hash-model.js';
import { REPO, patternBytes, rejectsWithCode, tempDir, writeTree } from './helpers.js';

const SMALL_CHUNKS = { chunkBytes: 64 * 1024 } as const;

void describe('hashing: large files, shards and read paths', () => {
  // 3 MiB + 4097 bytes: several chunks, an unaligned tail, shard starts that are not aligned.
  const data = patternBytes(3 * 1024 * 1024 + 4097, 'large');

  const variants: [string, HashInternals, number][] = [
    ['inline, buffered', { tuning: { ...SMALL_CHUNKS, directIo: 'never' } }, 0],
    ['inline, direct I/O', { tuning: { ...SMALL_CHUNKS, directIo: 'always' } }, 0],
    ['pool, buffered', { forcePool: true, tuning: { ...SMALL_CHUNKS, directIo: 'never' } }, 2],
    ['pool, direct I/O', { forcePool: true, tuning: { ...SMALL_CHUNKS, directIo: 'always' } }, 2],
    ['pool, auto', { forcePool: true, tuning: SMALL_CHUNKS }, 2],
    [
      'pool, direct I/O, 3 reads in flight',
      { forcePool: true, tuning: { ...SMALL_CHUNKS, directIo: 'always', readBuffers: 4 } },
      2,
    ],
  ];
  for (const [label, internals, workers] of variants) {
    void it(`files and shards digests equal a one-shot hash (${label})`, async (t) => {
      const dir = tempDir(t);
      writeTree(dir, { 'big.bin': data, 'small.txt': 'small', 'sub/big2.bin': data.subarray(7) });
      for (const hashType of ['sha256', 'blake2b', 'blake3'] as const) {
        const files = await hashModelWith(dir, { hashType, workers }, internals);
        assert.deepEqual(
          files.resources.map((r) => [r.name, r.digest.toString('hex')]),
          [
            ['big.bin', hashBytes(hashType, data).toString('hex')],
            ['small.txt', hashBytes(hashType, Buffer.from('small')).toString('hex')],
            ['sub/big2.bin', hashBytes(hashType, data.subarray(7)).toString('hex')],
          ],
        );
      }
      // A shard size that is neither a multiple of the chunk nor of the 4 KiB alignment.
      const shardSize = 1_000_003;
      const shards = await hashModelWith(dir, { method: 'shards', shardSize, workers }, internals);
      const want: [string, string][] = [];
      const add = (name: string, buf: Buffer) => {
        for (let s = 0; s < buf.length; s += shardSize) {
          const e = Math.min(s + shardSize, buf.length);
          want.push([`${name}:${s}:${e}`, hashBytes('sha256', buf.subarray(s, e)).toString('hex')]);
        }
      };
      add('big.bin', data);
      add('small.txt', Buffer.from('small'));
      add('sub/big2.bin', data.subarray(7));
      assert.deepEqual(
        shards.resources.map((r) => [r.name, r.digest.toString('hex')]),
        want,
      );
      assert.ok(shards.resources.every((r) => r.algorithm === `sha256-sharded-${shardSize}`));
      assert.equal(shards.serialization.shardSize, shardSize);
    });
  }

  void it('many small files through the pool come back in order', async (t) => {
    const dir = tempDir(t);
    const files: Record<string, string> = {};
    for (let i = 0; i < 700; i++) files[`d${i % 7}/f${i}.txt`] = `content ${i}`;
    writeTree(dir, files);
    const m = await hashModelWith(dir, {}, { forcePool: true });
    assert.equal(m.resources.length, 700);
    for (const r of m.resources) {
      assert.equal(
        r.digest.toString('hex'),
        createHash('sha256').update(files[r.name]!).digest('hex'),
      );
    }
  });
});

void describe('hashing: files changing while being hashed (TOCTOU)', () => {
  const size = 1024 * 1024 + 12345;

  // The seam pauses the read after its first chunk (on a worker the worker thread blocks until
  // the hook returns), so the change always lands mid-hash: no timing involved.
  const modes: [string, HashInternals][] = [
    ['inline', { tuning: SMALL_CHUNKS }],
    ['worker', { forcePool: true, tuning: SMALL_CHUNKS }],
    ['worker, direct I/O', { forcePool: true, tuning: { ...SMALL_CHUNKS, directIo: 'always' } }],
  ];
  for (const [label, base] of modes) {
    const setup = (t: { after(fn: () => void): void }) => {
      const dir = tempDir(t);
      writeTree(dir, { 'w.bin': patternBytes(size), 'other.txt': 'x' });
      // Back-date the file so an in-place rewrite always changes its mtime, whatever the
      // timestamp granularity of the file system.
      utimesSync(join(dir, 'w.bin'), new Date(946684800000), new Date(946684800000));
      return dir;
    };

    void it(`appending during the hash is MODEL_CHANGED_DURING_HASH (${label})`, async (t) => {
      const dir = setup(t);
      let calls = 0;
      const err = await rejectsWithCode(
        hashModelWith(
          dir,
          { workers: 1 },
          {
            ...base,
            afterFirstChunk: (path) => {
              calls++;
              assert.equal(path, 'w.bin');
              appendFileSync(join(dir, 'w.bin'), 'more');
            },
          },
        ),
        'MODEL_CHANGED_DURING_HASH',
      );
      assert.equal(calls, 1);
      assert.equal(err.details?.['path'], 'w.bin');
    });

    void it(`rewriting bytes in place is MODEL_CHANGED_DURING_HASH (${label})`, async (t) => {
      const dir = setup(t);
      const err = await rejectsWithCode(
        hashModelWith(
          dir,
          { workers: 1 },
          {
            ...base,
            afterFirstChunk: () => {
              const fd = openSync(join(dir, 'w.bin'), 'r+');
              writeSync(fd, Buffer.from('XXXX'), 0, 4, size - 10);
              closeSync(fd);
            },
          },
        ),
        'MODEL_CHANGED_DURING_HASH',
      );
      assert.equal(err.details?.['path'], 'w.bin');
    });

    void it(`truncating during the hash is MODEL_CHANGED_DURING_HASH (${label})`, async (t) => {
      const dir = setup(t);
      await rejectsWithCode(
        hashModelWith(
          dir,
          { workers: 1 },
          {
            ...base,
            afterFirstChunk: () => {
              const fd = openSync(join(dir, 'w.bin'), 'r+');
              ftruncateSync(fd, 200_000);
              closeSync(fd);
            },
          },
        ),
        'MODEL_CHANGED_DURING_HASH',
      );
    });

    void it(`an unchanged file passes through the same seam (${label})`, async (t) => {
      const dir = setup(t);
      let calls = 0;
      const m = await hashModelWith(
        dir,
        { workers: 1 },
        { ...base, afterFirstChunk: () => void calls++ },
      );
      assert.equal(calls, 1);
      assert.equal(
        m.resources[1]!.digest.toString('hex'),
        hashBytes('sha256', patternBytes(size)).toString('hex'),
      );
    });
  }

  void it('a file replaced between the walk and the read is caught', async (t) => {
    const dir = tempDir(t);
    const replaceB = (path: string) => {
      // While a.bin is being hashed, b.bin (not opened yet) is replaced by a new file.
      if (path !== 'a.bin') return;
      writeFileSync(join(dir, 'b.bin.new'), 'new');
      renameSync(join(dir, 'b.bin.new'), join(dir, 'b.bin'));
    };
    writeTree(dir, { 'a.bin': patternBytes(size), 'b.bin': patternBytes(size, 'b') });
    await rejectsWithCode(
      hashModelWith(
        dir,
        { workers: 1, method: 'shards', shardSize: 1 << 30 },
        { tuning: SMALL_CHUNKS, afterFirstChunk: replaceB },
      ),
      'MODEL_CHANGED_DURING_HASH',
    );
    writeTree(dir, { 'b.bin': patternBytes(size, 'b') });
    await rejectsWithCode(
      hashModelWith(
        dir,
        { workers: 1, onProgress: () => undefined },
        { tuning: SMALL_CHUNKS, afterFirstChunk: replaceB },
      ),
      'MODEL_CHANGED_DURING_HASH',
    );
    writeTree(dir, { 'b.bin': patternBytes(size, 'b') });
    await rejectsWithCode(
      hashModelWith(dir, { workers: 1 }, { tuning: SMALL_CHUNKS, afterFirstChunk: replaceB }),
      'MODEL_CHANGED_DURING_HASH',
    );
  });
});

void describe('hashing: small files changed after the walk (one read, one fstat)', () => {
  const size = 1024 * 1024 + 12345;
  // The walk lists root entries before descending, so a.bin is hashed before sub/b.txt; the
  // seam on a.bin changes sub/b.txt after the walk and before its (single) read.
  const cases: [string, (file: string) => void][] = [
    [
      'rewritten in place, same size',
      (file) => {
        const fd = openSync(file, 'r+');
        writeSync(fd, Buffer.from('X'), 0, 1, 0);
        closeSync(fd);
      },
    ],
    [
      'replaced by a file of the same size',
      (file) => {
        writeFileSync(`${file}.new`, 'B'.repeat(10));
        renameSync(`${file}.new`, file);
      },
    ],
  ];
  for (const [label, change] of cases) {
    for (const [mode, internals] of [
      ['inline', {}],
      ['worker', { forcePool: true }],
    ] as const) {
      void it(`${label} is MODEL_CHANGED_DURING_HASH (${mode})`, async (t) => {
        const dir = tempDir(t);
        writeTree(dir, { 'a.bin': patternBytes(size), 'sub/b.txt': 'b'.repeat(10) });
        // Back-dated, so the in-place write always moves the modification time.
        utimesSync(join(dir, 'sub/b.txt'), new Date(946684800000), new Date(946684800000));
        const err = await rejectsWithCode(
          hashModelWith(
            dir,
            { workers: 1 },
            {
              ...internals,
              tuning: SMALL_CHUNKS,
              afterFirstChunk: (path) => {
                if (path === 'a.bin') change(join(dir, 'sub/b.txt'));
              },
            },
          ),
          'MODEL_CHANGED_DURING_HASH',
        );
        assert.equal(err.details?.['path'], 'sub/b.txt');
      });
    }
  }
});

void describe('hashing: progress, abort, unreadable files', () => {
  void it('progress is monotonic and ends exactly at the totals', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, { 'a.bin': patternBytes(2 * 1024 * 1024), 'b.txt': 'b', 'c/d.txt': '' });
    for (const internals of [{}, { forcePool: true }] as HashInternals[]) {
      const seen: HashProgress[] = [];
      await hashModelWith(dir, { onProgress: (p) => seen.push(p) }, internals);
      assert.ok(seen.length >= 1);
      const last = seen[seen.length - 1]!;
      assert.deepEqual(last, {
        bytesDone: 2 * 1024 * 1024 + 1,
        bytesTotal: 2 * 1024 * 1024 + 1,
        filesDone: 3,
        filesTotal: 3,
      });
      for (let i = 1; i < seen.length; i++) {
        assert.ok(seen[i]!.bytesDone >= seen[i - 1]!.bytesDone);
        assert.ok(seen[i]!.filesDone >= seen[i - 1]!.filesDone);
      }
    }
  });

  void it('an aborted signal rejects with its reason and stops the workers', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, { 'a.bin': patternBytes(1024 * 1024) });
    const before = new AbortController();
    before.abort(new Error('stop'));
    await assert.rejects(hashModel(dir, { signal: before.signal }), /stop/);
    const during = new AbortController();
    await assert.rejects(
      hashModelWith(
        dir,
        { signal: during.signal, workers: 1 },
        {
          forcePool: true,
          tuning: SMALL_CHUNKS,
          afterFirstChunk: () => during.abort(new Error('stopped mid-hash')),
        },
      ),
      /stopped mid-hash/,
    );
  });

  void it('an unreadable file or directory is INPUT_UNREADABLE naming it', async (t) => {
    const fileCase = tempDir(t);
    writeTree(fileCase, { 'ok.txt': 'ok', 'secret.bin': 'no' });
    chmodSync(join(fileCase, 'secret.bin'), 0o000);
    const dirCase = tempDir(t);
    writeTree(dirCase, { 'ok.txt': 'ok', 'locked/inner.bin': 'no' });
    chmodSync(join(dirCase, 'locked'), 0o000);
    // Restored before the temporary directories are removed (hooks run in order of creation).
    const unlock = () => chmodSync(join(dirCase, 'locked'), 0o755);
    const want = [
      { code: 'INPUT_UNREADABLE', path: 'secret.bin' },
      { code: 'INPUT_UNREADABLE', path: 'locked' },
    ];
    if (process.getuid?.() !== 0) {
      const got = [];
      try {
        for (const dir of [fileCase, dirCase]) {
          const err = await rejectsWithCode(hashModel(dir), 'INPUT_UNREADABLE');
          got.push({ code: err.code, path: err.details?.['path'] });
        }
      } finally {
        unlock();
      }
      assert.deepEqual(got, want);
      return;
    }
    // Root reads anything, so run the same calls as an unprivileged user in a child process.
    chmodSync(fileCase, 0o755);
    chmodSync(dirCase, 0o755);
    const script = `
      import { hashModel } from ${JSON.stringify(join(REPO, 'dist/src/manifest/index.js'))};
      const out = [];
      for (const dir of ${JSON.stringify([fileCase, dirCase])}) {
        try { await hashModel(dir); out.push({ ok: true }); }
        catch (e) { out.push({ code: e.code, path: e.details?.path }); }
      }
      console.log(JSON.stringify(out));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      uid: 65534,
      gid: 65534,
      encoding: 'utf8',
    });
    unlock();
    if (child.error !== undefined || child.status !== 0) {
      t.skip(`cannot run as an unprivileged user here: ${child.error?.message ?? child.stderr}`);
      return;
    }
    assert.deepEqual(JSON.parse(child.stdout), want);
  });
});

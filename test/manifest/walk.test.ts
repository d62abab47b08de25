import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hashModel } from '../../src/manifest/index.js';
import { rejectsWithCode, sha256Hex, tempDir, writeTree } from './helpers.js';

const names = async (dir: string, options = {}) =>
  (await hashModel(dir, options)).resources.map((r) => r.name);

void describe('model walk: names and order', () => {
  void it('orders by path components in code-point order, not by plain string', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, {
      'a-b.txt': '1',
      'a/b.txt': '2',
      'tokenizer.json': '3',
      'tokenizer/vocab.txt': '4',
      'B.txt': '5',
      '.hidden': '6',
      // U+FF21 (BMP, above the surrogates) sorts before U+1F600 by code point, but after it
      // by UTF-16 code unit.
      '\u{1F600}.txt': '7',
      '\uFF21.txt': '8',
      'a.b/c': '9',
    });
    assert.deepEqual(await names(dir), [
      '.hidden',
      'B.txt',
      'a/b.txt',
      'a-b.txt',
      'a.b/c',
      'tokenizer/vocab.txt',
      'tokenizer.json',
      '\uFF21.txt',
      '\u{1F600}.txt',
    ]);
  });

  void it('orders shards numerically by offset', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, { 'w.bin': Buffer.alloc(1100), 'w.bin.x': 'x' });
    assert.deepEqual(await names(dir, { method: 'shards', shardSize: 100 }), [
      ...Array.from({ length: 11 }, (_, k) => `w.bin:${k * 100}:${k * 100 + 100}`),
      'w.bin.x:0:1',
    ]);
  });

  void it('a single-file model is one resource named "."', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'model.safetensors');
    writeFileSync(file, 'weights');
    const m = await hashModel(file);
    assert.equal(m.modelName, 'model.safetensors');
    assert.equal(m.resources.length, 1);
    assert.equal(m.resources[0]!.name, '.');
    assert.equal(m.resources[0]!.path, '.');
    assert.equal(m.resources[0]!.role, 'weights');
    assert.equal(m.resources[0]!.digest.toString('hex'), sha256Hex('weights'));
    const shards = await hashModel(file, { method: 'shards', shardSize: 4 });
    assert.deepEqual(
      shards.resources.map((r) => r.name),
      ['.:0:4', '.:4:7'],
    );
  });

  void it('the model name is the basename of the resolved directory', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, { 'm/x': 'x' });
    const m = await hashModel(join(dir, 'm', '.'));
    assert.equal(m.modelName, 'm');
  });

  void it('includes dot-files and skips empty directories', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, { '.env': 'e', 'sub/.x': 'x' });
    mkdirSync(join(dir, 'empty', 'deeper'), { recursive: true });
    assert.deepEqual(await names(dir), ['.env', 'sub/.x']);
  });

  void it('refuses names that are not valid UTF-8', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, { 'ok.txt': 'ok' });
    mkdirSync(join(dir, 'sub'));
    writeFileSync(
      Buffer.concat([Buffer.from(join(dir, 'sub') + '/'), Buffer.from([0x66, 0xff, 0x6f])]),
      'x',
    );
    const err = await rejectsWithCode(hashModel(dir), 'MODEL_NAME_INVALID');
    assert.equal(err.details?.['path'], 'sub/f\uFFFDo');
  });

  void it('refuses backslashes and control characters in names', async (t) => {
    for (const bad of ['a\\b.txt', 'a\nb.txt', 'tab\there', 'del\u007f']) {
      const dir = tempDir(t);
      writeTree(dir, { [bad]: 'x' });
      const err = await rejectsWithCode(hashModel(dir), 'MODEL_NAME_INVALID');
      assert.equal(err.details?.['path'], bad);
    }
  });

  void it('refuses two names equal after NFC normalisation', async (t) => {
    const dir = tempDir(t);
    const nfc = 'caf\u00e9.txt';
    const nfd = 'cafe\u0301.txt';
    writeTree(dir, { [nfc]: '1', [nfd]: '2' });
    const err = await rejectsWithCode(hashModel(dir), 'MODEL_NAME_COLLISION');
    assert.deepEqual([...(err.details?.['paths'] as string[])].sort(), [nfc, nfd].sort());
  });

  void it('detects NFC collisions through directory names too', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, { 'caf\u00e9/x': '1', 'cafe\u0301/x': '2' });
    await rejectsWithCode(hashModel(dir), 'MODEL_NAME_COLLISION');
  });

  void it('a nonexistent model path is INPUT_NOT_FOUND', async (t) => {
    await rejectsWithCode(hashModel(join(tempDir(t), 'nope')), 'INPUT_NOT_FOUND');
  });

  void it('a model with no files is MODEL_EMPTY', async (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'empty-subdir'));
    writeTree(dir, { '.gitignore': 'x', '.git/HEAD': 'ref' });
    await rejectsWithCode(hashModel(dir), 'MODEL_EMPTY');
  });
});

void describe('model walk: ignores', () => {
  void it('ignores git paths at the model root only', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, {
      '.git/HEAD': 'h',
      '.github/workflows/ci.yml': 'c',
      '.gitattributes': 'a',
      '.gitignore': 'i',
      'sub/.git/HEAD': 'nested',
      'sub/.gitignore': 'nested',
      'w.bin': 'w',
    });
    const m = await hashModel(dir);
    assert.deepEqual(
      m.resources.map((r) => r.name),
      ['sub/.git/HEAD', 'sub/.gitignore', 'w.bin'],
    );
    assert.deepEqual(m.serialization.ignorePaths, [
      '.git',
      '.gitattributes',
      '.github',
      '.gitignore',
    ]);
    const all = await hashModel(dir, { ignoreGitPaths: false });
    assert.equal(all.resources.length, 7);
    assert.deepEqual(all.serialization.ignorePaths, []);
  });

  void it('ignoring a directory ignores its subtree; the effective list is recorded', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, {
      'keep.txt': 'k',
      'cache/a/b.bin': 'x',
      'cache2/c': 'c',
      'model.sig': 'sig',
    });
    const m = await hashModel(dir, { ignorePaths: ['cache/', './model.sig', 'cache', '.git'] });
    assert.deepEqual(
      m.resources.map((r) => r.name),
      ['cache2/c', 'keep.txt'],
    );
    assert.deepEqual(m.serialization.ignorePaths, [
      '.git',
      '.gitattributes',
      '.github',
      '.gitignore',
      'cache',
      'model.sig',
    ]);
  });

  void it('refuses ignore paths that are absolute or leave the root', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, { x: 'x' });
    for (const bad of ['/etc/passwd', '../x', 'a/../../x', '.', 'a\\b']) {
      await rejectsWithCode(hashModel(dir, { ignorePaths: [bad] }), 'USAGE');
    }
  });

  void it('onlyPaths hashes only the listed files and tolerates absent ones and junk elsewhere', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, { 'a/keep.txt': 'k', 'a/extra.txt': 'e', 'b.txt': 'b' });
    symlinkSync('/etc/passwd', join(dir, 'escape'));
    const m = await hashModel(dir, { onlyPaths: new Set(['a/keep.txt', 'gone.txt']) });
    assert.deepEqual(
      m.resources.map((r) => r.name),
      ['a/keep.txt'],
    );
    const none = await hashModel(dir, { onlyPaths: new Set(['gone.txt']) });
    assert.deepEqual(none.resources, []);
  });
});

void describe('model walk: symlinks and special files', () => {
  void it('a symlink is refused unless allowed', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, { 'w.bin': 'weights' });
    symlinkSync('w.bin', join(dir, 'link.bin'));
    const err = await rejectsWithCode(hashModel(dir), 'MODEL_SYMLINK');
    assert.equal(err.details?.['path'], 'link.bin');
    // An ignored link is skipped before the symlink rule applies, as in the reference.
    assert.equal((await hashModel(dir, { ignorePaths: ['link.bin'] })).resources.length, 1);
  });

  void it('an allowed link to a file inside the root is hashed under the link name', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, { 'real/w.bin': 'weights' });
    symlinkSync('real/w.bin', join(dir, 'link.bin'));
    const m = await hashModel(dir, { allowSymlinks: true });
    assert.deepEqual(
      m.resources.map((r) => [r.name, r.digest.toString('hex')]),
      [
        ['link.bin', sha256Hex('weights')],
        ['real/w.bin', sha256Hex('weights')],
      ],
    );
    assert.equal(m.serialization.allowSymlinks, true);
  });

  void it('a link that points outside the root is MODEL_SYMLINK_ESCAPE', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, { 'model/w.bin': 'w', 'outside.bin': 'o' });
    symlinkSync('../outside.bin', join(dir, 'model', 'out.bin'));
    const err = await rejectsWithCode(
      hashModel(join(dir, 'model'), { allowSymlinks: true }),
      'MODEL_SYMLINK_ESCAPE',
    );
    assert.equal(err.details?.['path'], 'out.bin');
  });

  void it('a link to a directory is never followed', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, { 'real/w.bin': 'w' });
    symlinkSync('real', join(dir, 'dirlink'));
    const err = await rejectsWithCode(hashModel(dir, { allowSymlinks: true }), 'MODEL_SYMLINK');
    assert.equal(err.details?.['path'], 'dirlink');
    assert.match(err.hint, /director/);
  });

  void it('a broken link is MODEL_SPECIAL_FILE', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, { 'w.bin': 'w' });
    symlinkSync('missing.bin', join(dir, 'broken'));
    await rejectsWithCode(hashModel(dir, { allowSymlinks: true }), 'MODEL_SPECIAL_FILE');
    await rejectsWithCode(hashModel(dir), 'MODEL_SYMLINK');
  });

  void it('a FIFO is MODEL_SPECIAL_FILE and is never opened', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, { 'w.bin': 'w' });
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    const err = await rejectsWithCode(hashModel(dir), 'MODEL_SPECIAL_FILE');
    assert.equal(err.details?.['path'], 'pipe');
    // A link to the FIFO inside the model is refused the same way.
    const dir2 = tempDir(t);
    writeTree(dir2, { 'w.bin': 'w' });
    execFileSync('mkfifo', [join(dir2, 'p')]);
    symlinkSync('p', join(dir2, 'l'));
    await rejectsWithCode(
      hashModel(dir2, { allowSymlinks: true, ignorePaths: ['p'] }),
      'MODEL_SPECIAL_FILE',
    );
    // And a FIFO given as the model path itself.
    await rejectsWithCode(hashModel(join(dir2, 'p')), 'MODEL_SPECIAL_FILE');
  });

  void it('a socket is MODEL_SPECIAL_FILE', async (t) => {
    const dir = tempDir(t);
    writeTree(dir, { 'w.bin': 'w' });
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(dir, 'sock'), resolve));
    t.after(() => server.close());
    await rejectsWithCode(hashModel(dir), 'MODEL_SPECIAL_FILE');
  });
});

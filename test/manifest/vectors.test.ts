import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  hashModel,
  manifestRootDigest,
  type HashModelOptions,
  type Manifest,
} from '../../src/manifest/index.js';
import { hashModelWith } from '../../src/manifest/hash-model.js';
import { VECTOR_MODEL, readPayload } from './helpers.js';

interface VectorCase {
  payload: string;
  options: HashModelOptions;
  root: string;
}

// Root digests recorded from the reference `model_signing` (test/fixtures/oms-keyed/expected.json).
const CASES: VectorCase[] = [
  {
    payload: 'model',
    options: {},
    root: '6dbeb2c77258be99a913ec8794367ac31055ba1793c62674942e95c9d323ca3a',
  },
  {
    payload: 'model.shards-256KiB',
    options: { method: 'shards', shardSize: 262144 },
    root: '5f189df1c9956dd4776d6fdd05f111c51ccc091cb4f02793247bca69fae062e3',
  },
  {
    payload: 'model.blake2',
    options: { hashType: 'blake2b' },
    root: '31c207e719e3acb7e27b4be1f9c95aa5b9e3d6e4e2a5d849e2abd238c8dc9a59',
  },
  {
    payload: 'model.blake3',
    options: { hashType: 'blake3' },
    root: '0d306c08e6903c78f63e6137bde2ae7a053fe7e5e28c75ee3669c13eb4b4a93d',
  },
];

function assertMatchesPayload(manifest: Manifest, c: VectorCase): void {
  const payload = readPayload(c.payload);
  assert.equal(payload.subject[0]!.digest.sha256, c.root);
  assert.equal(manifestRootDigest(manifest).toString('hex'), c.root);
  assert.deepEqual(
    manifest.resources.map((r) => ({
      name: r.name,
      algorithm: r.algorithm,
      digest: r.digest.toString('hex'),
    })),
    payload.predicate.resources,
  );
  const s = payload.predicate.serialization;
  assert.equal(manifest.serialization.method, s.method);
  assert.equal(manifest.serialization.hashType, s.hash_type);
  assert.equal(manifest.serialization.shardSize, s.shard_size);
  assert.equal(manifest.serialization.allowSymlinks, s.allow_symlinks);
  // The reference records a Python frozenset, so only the content is comparable.
  assert.deepEqual([...manifest.serialization.ignorePaths].sort(), [...s.ignore_paths].sort());
  assert.equal(manifest.modelName, payload.subject[0]!.name);
}

void describe('reference vectors (oms-keyed)', () => {
  for (const c of CASES) {
    void it(`${c.payload}: inline hashing reproduces every resource and the root digest`, async () => {
      assertMatchesPayload(await hashModel(VECTOR_MODEL, c.options), c);
    });
    void it(`${c.payload}: the worker pool gives the same manifest`, async () => {
      assertMatchesPayload(await hashModelWith(VECTOR_MODEL, c.options, { forcePool: true }), c);
    });
    void it(`${c.payload}: small chunks, direct I/O and one worker give the same manifest`, async () => {
      const m = await hashModelWith(
        VECTOR_MODEL,
        { ...c.options, workers: 1 },
        { forcePool: true, tuning: { chunkBytes: 65536, directIo: 'always' } },
      );
      assertMatchesPayload(m, c);
    });
  }

  void it('sizes and roles are filled in', async () => {
    const m = await hashModel(VECTOR_MODEL);
    const byName = new Map(m.resources.map((r) => [r.name, r]));
    assert.equal(byName.get('weights.bin')?.size, 3145851);
    assert.equal(byName.get('weights.bin')?.role, 'weights');
    assert.equal(byName.get('config.json')?.role, 'config');
    assert.equal(byName.get('tokenizer.json')?.role, 'tokenizer');
    assert.equal(byName.get('tokenizer/vocab.txt')?.role, 'tokenizer');
    assert.equal(byName.get('README.md')?.role, 'documentation');
    assert.equal(byName.get('empty.txt')?.size, 0);
    const shards = await hashModel(VECTOR_MODEL, { method: 'shards', shardSize: 262144 });
    const last = shards.resources.find((r) => r.name === 'weights.bin:3145728:3145851');
    assert.deepEqual(last?.shard, { start: 3145728, end: 3145851 });
    assert.equal(last?.size, 123);
    assert.equal(last?.path, 'weights.bin');
    // Zero-length files produce no shard at all.
    assert.ok(!shards.resources.some((r) => r.path === 'empty.txt'));
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadPublicKey } from '../../src/keys/index.js';
import { ManifestCache, resourceChecksBetween, verifyModel } from '../../src/model/index.js';
import type { VerificationTrust } from '../../src/verify/index.js';
import { copyKeyedModel, keyed } from '../helpers.js';

const trust = (pem: string): VerificationTrust => ({
  kind: 'key',
  publicKey: loadPublicKey(readFileSync(join(keyed, pem), 'utf8')),
});

void describe('ManifestCache: several signatures, one pass over the model', () => {
  void it('hashes once per recorded way of hashing', async (t) => {
    const model = copyKeyedModel(t);
    const cache = new ManifestCache();
    let progress = 0;
    const onProgress = () => void progress++;
    const verify = (sig: string, pem: string, manifestCache?: ManifestCache) =>
      verifyModel(model, {
        trust: trust(pem),
        signaturePath: join(keyed, sig),
        onProgress,
        ...(manifestCache === undefined ? {} : { manifestCache }),
      });

    const first = await verify('model.sig', 'p256.pub.pem', cache);
    const afterFirst = progress;
    assert.ok(afterFirst > 0, 'the first verification hashes (and reports progress)');
    // Another signer, the same serialization (files/sha256, same ignore paths): no second pass.
    const second = await verify('model.p384.sig', 'p384.pub.pem', cache);
    assert.equal(progress, afterFirst, 'the second verification read nothing');
    assert.equal(cache.size, 1);
    assert.equal(second.digest, first.digest);
    assert.deepEqual(second.resources, first.resources);
    // Slices of the resources, built on demand, are the slices of the list.
    const n = first.resourcesChecked;
    assert.equal(first.resources.length, n);
    for (const [from, to] of [
      [0, n],
      [1, 3],
      [n - 1, n + 5],
      [n, n],
    ] as const) {
      assert.deepEqual(resourceChecksBetween(second, from, to), first.resources.slice(from, to));
    }
    // A bundle that hashes differently (blake3) gets its own pass.
    await verify('model.blake3.sig', 'p256.pub.pem', cache);
    assert.ok(progress > afterFirst);
    assert.equal(cache.size, 2);
    // Without a cache every verification hashes.
    const before = progress;
    await verify('model.p384.sig', 'p384.pub.pem');
    assert.ok(progress > before);
  });

  void it('still refuses a bundle whose signature does not verify, without hashing', async (t) => {
    const model = copyKeyedModel(t);
    const cache = new ManifestCache();
    await assert.rejects(
      verifyModel(model, {
        trust: trust('other-p256.pub.pem'),
        signaturePath: join(keyed, 'model.sig'),
        manifestCache: cache,
      }),
      (err: { code?: string }) => err.code !== undefined && err.code !== 'MODEL_MISMATCH',
    );
    assert.equal(cache.size, 0);
  });
});

// MODEL_MISMATCH from verifyModel: every extra, missing and changed file in `details` (and so in
// the CLI's lines and `--json`), but a one-line message that stays one readable line however
// many files differ.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isCairnError } from '../../src/errors/index.js';
import {
  fileSigner,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
} from '../../src/keys/index.js';
import { signModel, verifyModel } from '../../src/model/index.js';
import { tempDir } from '../helpers.js';

void test('a mismatch names every file in details and at most three per kind in its message', async (t) => {
  const model = join(tempDir(t), 'model');
  mkdirSync(model);
  for (let i = 0; i < 40; i++)
    writeFileSync(join(model, `f${String(i).padStart(2, '0')}.txt`), `${i}`);
  const pair = generateKeyPair('ed25519');
  await signModel(model, { signer: fileSigner(loadPrivateKey(pair.privateKeyPem)) });
  for (let i = 0; i < 25; i++)
    writeFileSync(join(model, `f${String(i).padStart(2, '0')}.txt`), 'x');
  for (let i = 25; i < 27; i++) rmSync(join(model, `f${i}.txt`));
  writeFileSync(join(model, 'new.txt'), 'new');
  await assert.rejects(
    verifyModel(model, { trust: { kind: 'key', publicKey: loadPublicKey(pair.publicKeyPem) } }),
    (err: unknown) => {
      assert.ok(isCairnError(err));
      assert.equal(err.code, 'MODEL_MISMATCH');
      const d = err.details as {
        extra: string[];
        missing: string[];
        changed: { name: string }[];
      };
      assert.deepEqual(d.extra, ['new.txt']);
      assert.deepEqual(d.missing, ['f25.txt', 'f26.txt']);
      assert.equal(d.changed.length, 25);
      // The message: three names per kind at most, then a count.
      assert.match(err.message, /extra: new\.txt; missing: f25\.txt, f26\.txt; /);
      assert.match(err.message, /changed: f00\.txt, f01\.txt, f02\.txt and 22 more\)$/);
      assert.doesNotMatch(err.message, /f03\.txt/);
      return true;
    },
  );
});

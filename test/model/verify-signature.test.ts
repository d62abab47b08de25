import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isCairnError } from '../../src/errors/index.js';
import {
  generateKeyPair,
  loadEmbeddedSigstoreTrustedRoot,
  loadPrivateKey,
  loadPublicKey,
  fileSigner,
  parseCertificates,
} from '../../src/keys/index.js';
import { signModel, verifyModel } from '../../src/model/index.js';
import { WORKER_MIN_BUNDLE_BYTES, verifySignatureBytes } from '../../src/model/verify-signature.js';
import type { VerificationTrust } from '../../src/verify/index.js';
import { keyed, requireShared, tempDir } from '../helpers.js';

interface Expected {
  readonly signatures: Record<string, { readonly mode: string; readonly verify_with: string }>;
}
const expected = JSON.parse(readFileSync(join(keyed, 'expected.json'), 'utf8')) as Expected;

/** The outcome of one placement: the verified signature, or the error's code and message. */
async function outcome(bundle: Buffer, trust: VerificationTrust, placement: 'inline' | 'worker') {
  try {
    return { ok: await verifySignatureBytes(bundle, trust, placement) };
  } catch (err) {
    assert.ok(isCairnError(err), String(err));
    return { code: err.code, message: err.message, details: err.details };
  }
}

void describe('verifying a signature on a worker thread', () => {
  void it('gives what verifying on this thread gives, for every keyed vector', async () => {
    let failures = 0;
    for (const [name, sig] of Object.entries(expected.signatures)) {
      if (sig.mode !== 'key') continue;
      const bundle = readFileSync(join(keyed, name));
      for (const keyFile of [sig.verify_with, 'other-p256.pub.pem']) {
        const trust: VerificationTrust = {
          kind: 'key',
          publicKey: loadPublicKey(readFileSync(join(keyed, keyFile), 'utf8')),
        };
        const inline = await outcome(bundle, trust, 'inline');
        const worker = await outcome(bundle, trust, 'worker');
        assert.deepEqual(worker, inline, `${name} with ${keyFile}`);
        if (!('ok' in inline)) failures++;
      }
    }
    // The negative vectors and the wrong key really went down the error path.
    assert.ok(failures >= 8, `${failures} failures`);
  });

  void it('passes certificate trust across (certificate mode)', async (t) => {
    const shared = requireShared(t);
    if (shared === undefined) return;
    const roots = parseCertificates(
      readFileSync(join(shared, 'oms-keyed', 'upstream-certs', 'ca-cert.pem')),
    );
    const bundle = readFileSync(join(keyed, 'model.cert.sig'));
    const trust: VerificationTrust = { kind: 'certificate', trustedRoots: roots };
    const inline = await outcome(bundle, trust, 'inline');
    assert.ok('ok' in inline, JSON.stringify(inline));
    assert.deepEqual(await outcome(bundle, trust, 'worker'), inline);
  });

  void it('passes keyless trust across (the embedded Sigstore root)', async (t) => {
    const shared = requireShared(t);
    if (shared === undefined) return;
    const bundle = readFileSync(join(shared, 'oms-upstream', 'v1.0.0-sigstore', 'model.sig'));
    const trustedRoot = loadEmbeddedSigstoreTrustedRoot().trustedRoot;
    for (const identity of ['stefanb@us.ibm.com', 'someone@example.com']) {
      const trust: VerificationTrust = {
        kind: 'keyless',
        identity,
        issuer: 'https://sigstore.verify.ibm.com/oauth2',
        trustedRoot,
      };
      const inline = await outcome(bundle, trust, 'inline');
      assert.equal('ok' in inline, identity === 'stefanb@us.ibm.com', JSON.stringify(inline));
      assert.deepEqual(await outcome(bundle, trust, 'worker'), inline, identity);
    }
  });

  void it('verifies a signature over the worker threshold and still names a changed file', async (t) => {
    const dir = tempDir(t);
    const model = join(dir, 'model');
    // Enough files for a bundle over the worker threshold (~190 bytes per resource).
    const files = Math.ceil(WORKER_MIN_BUNDLE_BYTES / 150);
    for (let d = 0; d < 10; d++) {
      mkdirSync(join(model, `d${d}`), { recursive: true });
      for (let i = d; i < files; i += 10) writeFileSync(join(model, `d${d}`, `f${i}.txt`), `${i}`);
    }
    const pair = generateKeyPair('ecdsa-p256');
    const signer = fileSigner(loadPrivateKey(pair.privateKeyPem));
    const signed = await signModel(model, { signer });
    assert.ok(signed.bundle.length >= WORKER_MIN_BUNDLE_BYTES, `${signed.bundle.length} bytes`);
    const trust: VerificationTrust = { kind: 'key', publicKey: loadPublicKey(pair.publicKeyPem) };
    const ok = await verifyModel(model, { trust });
    assert.equal(ok.digest, signed.digest);
    assert.equal(ok.resourcesChecked, files);

    writeFileSync(join(model, 'd3', 'f13.txt'), 'changed');
    await assert.rejects(verifyModel(model, { trust }), (err: unknown) => {
      assert.ok(isCairnError(err));
      assert.equal(err.code, 'MODEL_MISMATCH');
      assert.deepEqual(
        (err.details as { changed: { name: string }[] }).changed.map((c) => c.name),
        ['d3/f13.txt'],
      );
      return true;
    });
  });
});

import { mkdtempSync, rmSync, writeFileSync, mkdirSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { isCairnError } from '../errors/index.js';
import { fileSigner, generateKeyPair, loadPrivateKey, loadPublicKey } from '../keys/index.js';
import { signModel, verifyModel } from '../model/index.js';
import { printJson, say, type Io } from './output.js';

/**
 * The main job on its embedded default: build a small model, sign it with a fresh key, verify it,
 * tamper with one byte and show the verification that names the changed file. Leaves nothing behind.
 */
export async function demoCommand(
  io: Io,
  flags: { json?: boolean; keep?: boolean },
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-demo-'));
  const steps: Record<string, unknown>[] = [];
  const log = (step: string, detail: Record<string, unknown>, line: string): void => {
    steps.push({ step, ...detail });
    if (!flags.json) say(io, line);
  };
  try {
    const model = join(dir, 'model');
    mkdirSync(join(model, 'tokenizer'), { recursive: true });
    // Deterministic pseudo-weights (SHA-256 counter mode), like the interop vectors' generator.
    const weights = Buffer.concat(
      Array.from({ length: 4096 }, (_, i) =>
        createHash('sha256').update(`cairn-demo-${i}`).digest(),
      ),
    );
    writeFileSync(join(model, 'model.safetensors'), weights);
    writeFileSync(join(model, 'config.json'), '{"architectures":["DemoModel"],"hidden_size":64}\n');
    writeFileSync(
      join(model, 'tokenizer', 'tokenizer.json'),
      '{"version":"1.0","model":{"type":"BPE"}}\n',
    );
    writeFileSync(join(model, 'README.md'), '# demo model\n');
    log('model', { path: model }, `1. Built a demo model at ${model} (4 files)`);

    const pair = generateKeyPair('ecdsa-p256');
    const signer = fileSigner(loadPrivateKey(pair.privateKeyPem));
    log('keygen', { keyType: 'ecdsa-p256' }, '2. Generated an ECDSA P-256 key pair (in memory)');

    const signed = await signModel(model, { signer });
    log(
      'sign',
      { digest: signed.digest, signature: signed.signaturePath },
      `3. Signed it: ${signed.digest}\n   signature: ${signed.signaturePath}`,
    );

    const trust = { kind: 'key', publicKey: loadPublicKey(pair.publicKeyPem) } as const;
    const ok = await verifyModel(model, { trust });
    log(
      'verify',
      { verified: true, resourcesChecked: ok.resourcesChecked },
      `4. Verified: ${ok.resourcesChecked} files match the signature`,
    );

    appendFileSync(join(model, 'config.json'), ' ');
    writeFileSync(join(model, 'extra.py'), 'import os\n');
    let refused: Record<string, unknown> | undefined;
    try {
      await verifyModel(model, { trust });
    } catch (err) {
      if (!isCairnError(err)) throw err;
      refused = { code: err.code, ...(err.details ?? {}) };
      log(
        'tamper',
        { refused },
        `5. Changed config.json and added extra.py: verification refused [${err.code}]\n   ${err.message}`,
      );
    }
    if (refused === undefined) throw new Error('tampered model verified: this is a bug');
    if (flags.json) printJson(io, { ok: true, steps });
    else
      say(
        io,
        'Done. Sign your own model: cairn keygen --type ecdsa-p256 --out key.pem && cairn sign MODEL --private-key key.pem',
      );
    return 0;
  } finally {
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
  }
}

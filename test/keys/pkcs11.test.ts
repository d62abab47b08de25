import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type * as Pkcs11js from 'pkcs11js';
import {
  describePkcs11Uri,
  fileSigner,
  initialTrustRoot,
  signTrustRoot,
  verifyTrustRoot,
  parsePkcs11Uri,
  pkcs11GenerateKeyPair,
  pkcs11Signer,
  publicKeyHint,
  readPkcs11Pin,
  verifySignature,
  type KeyType,
} from '../../src/keys/index.js';
import { signModel, verifyModel } from '../../src/model/index.js';
import { verifyBundle } from '../../src/verify/index.js';
import { rejectsCode, throwsCode } from '../envelope/fixtures.js';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const PIN = '246810';
const SO_PIN = '13579111';
const TOKEN = 'cairn-test';

// ── URI parsing: pure, always runs ──────────────────────────────────────────────────────

describe('RFC 7512 pkcs11: URIs', () => {
  test('parses path and query attributes, percent-decoding values and ids', () => {
    const uri = parsePkcs11Uri(
      'pkcs11:token=My%20Token;object=release%2Dkey;id=%01%ff;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin',
    );
    assert.equal(uri.token, 'My Token');
    assert.equal(uri.object, 'release-key');
    assert.deepEqual([...uri.id!], [1, 255]);
    assert.equal(uri.type, 'private');
    assert.equal(uri.modulePath, MODULE);
    assert.equal(uri.pinFile, '/run/secrets/pin');
    assert.equal(
      describePkcs11Uri(uri),
      'pkcs11:token=My%20Token;object=release-key;id=%01%ff;type=private',
    );
    assert.equal(parsePkcs11Uri('pkcs11:object=k?pin-source=file:///etc/pin').pinFile, '/etc/pin');
    assert.equal(parsePkcs11Uri('pkcs11:slot-id=7;object=k').slotId, 7);
  });

  test('refuses pin-value: PINs never travel in URIs or argv', () => {
    const e = throwsCode(
      () => parsePkcs11Uri('pkcs11:object=k?pin-value=1234'),
      'PKCS11_URI_INVALID',
    );
    assert.ok(!e.message.includes('1234'));
    throwsCode(() => parsePkcs11Uri('pkcs11:object=k;pin-value=1234'), 'PKCS11_URI_INVALID');
  });

  test('refuses malformed, unknown, duplicate and unusable attributes', () => {
    for (const bad of [
      'pkcs12:object=k',
      'pkcs11:',
      'pkcs11:object=k?',
      'pkcs11:object=',
      'pkcs11:=k',
      'pkcs11:object=a;object=b',
      'pkcs11:object=k;x-vendor=1',
      'pkcs11:object=k?module-name=softhsm2',
      'pkcs11:object=a b',
      'pkcs11:object=%zz',
      'pkcs11:object=%ff',
      'pkcs11:object=%0a',
      'pkcs11:object=k;type=cert',
      'pkcs11:object=k;slot-id=-1',
      'pkcs11:object=k?module-path=relative/lib.so',
      'pkcs11:object=k?pin-source=/etc/pin',
      'pkcs11:object=k?pin-source=http://example.invalid/pin',
      'pkcs11:token=t',
      `pkcs11:object=${'a'.repeat(5000)}`,
    ]) {
      throwsCode(() => parsePkcs11Uri(bad), 'PKCS11_URI_INVALID');
    }
  });

  test('the PIN comes from a pin-source file or CAIRN_PKCS11_PIN, else PKCS11_PIN_REQUIRED', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-pin-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'pin');
    writeFileSync(file, '9999\n');
    assert.equal(
      readPkcs11Pin(parsePkcs11Uri(`pkcs11:object=k?pin-source=file:${file}`), {}),
      '9999',
    );
    assert.equal(
      readPkcs11Pin(parsePkcs11Uri('pkcs11:object=k'), { CAIRN_PKCS11_PIN: '42' }),
      '42',
    );
    throwsCode(() => readPkcs11Pin(parsePkcs11Uri('pkcs11:object=k'), {}), 'PKCS11_PIN_REQUIRED');
    writeFileSync(file, '');
    throwsCode(
      () => readPkcs11Pin(parsePkcs11Uri(`pkcs11:object=k?pin-source=file:${file}`), {}),
      'PKCS11_PIN_REQUIRED',
    );
  });

  test('a missing module is an infrastructure error (exit 3)', () => {
    const e = throwsCode(
      () =>
        pkcs11Signer('pkcs11:token=x;object=k?module-path=/nonexistent/libnothing.so', {
          pin: '1',
        }),
      'PKCS11_MODULE_UNAVAILABLE',
    );
    assert.equal(e.exitCode, 3);
    throwsCode(() => pkcs11Signer('pkcs11:token=x;object=k', { pin: '1' }), 'PKCS11_URI_INVALID');
  });
});

// ── against a real SoftHSM2 token ───────────────────────────────────────────────────────

/** True when SoftHSM2 is installed; otherwise skips loudly, and fails under CI=true. */
function requireSoftHsm(t: TestContext): boolean {
  if (existsSync(MODULE) && hasSoftHsmUtil()) return true;
  if (process.env['CI'] === 'true') {
    throw new Error(`SoftHSM2 is not installed (${MODULE}); CI must install softhsm2 (.ci/run)`);
  }
  console.warn(
    `\n${'*'.repeat(78)}\n*** SKIPPING ${t.name}: SoftHSM2 is not installed.\n*** Install it with: apt-get install -y softhsm2\n${'*'.repeat(78)}\n`,
  );
  t.skip('softhsm2 not installed');
  return false;
}

function hasSoftHsmUtil(): boolean {
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('PKCS#11 signing with SoftHSM2', () => {
  let dir = '';
  const uri = (object: string, extra = '') =>
    `pkcs11:token=${TOKEN};object=${object}${extra}?module-path=${MODULE}`;

  before(() => {
    if (!existsSync(MODULE)) return;
    // A private SoftHSM2 configuration: tests never touch the machine's tokens.
    dir = mkdtempSync(join(tmpdir(), 'cairn-softhsm-'));
    mkdirSync(join(dir, 'tokens'));
    writeFileSync(
      join(dir, 'softhsm2.conf'),
      `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
    );
    process.env['SOFTHSM2_CONF'] = join(dir, 'softhsm2.conf');
    execFileSync(
      'softhsm2-util',
      ['--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', SO_PIN],
      { stdio: 'ignore' },
    );
  });
  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  function model(t: TestContext): string {
    const m = mkdtempSync(join(tmpdir(), 'cairn-hsm-model-'));
    t.after(() => rmSync(m, { recursive: true, force: true }));
    writeFileSync(join(m, 'weights.bin'), Buffer.alloc(4096, 7));
    writeFileSync(join(m, 'config.json'), '{"layers": 2}\n');
    return m;
  }

  for (const keyType of ['ecdsa-p256', 'ecdsa-p384', 'ed25519'] as const satisfies KeyType[]) {
    test(`${keyType}: a key generated inside the token signs a model that verifies`, async (t) => {
      if (!requireSoftHsm(t)) return;
      const label = `model-${keyType}`;
      const exported = pkcs11GenerateKeyPair(uri(label), { pin: PIN, keyType });
      // The public key leaves the token as SPKI PEM; that is all a verifier gets.
      const publicPem = exported.export({ type: 'spki', format: 'pem' }).toString();
      const signer = pkcs11Signer(uri(label), { pin: PIN });
      t.after(() => signer.close());
      assert.equal(signer.keyType, keyType);
      assert.equal(signer.token, TOKEN);
      // A message in pieces is signed as their concatenation.
      const pieces = [Buffer.from('DSSEv1 '), Buffer.alloc(0), Buffer.alloc(70_000, 3)];
      const joined = Buffer.concat(pieces);
      assert.ok(verifySignature(signer.publicKey, joined, await signer.sign(pieces)));

      const dirPath = model(t);
      const signed = await signModel(dirPath, { signer });
      const verified = await verifyModel(dirPath, {
        trust: { kind: 'key', publicKey: createPublicKey(publicPem) },
      });
      assert.equal(verified.digest, signed.digest);
      assert.deepEqual(verified.signer, {
        kind: 'key',
        keyType,
        hint: publicKeyHint(createPublicKey(publicPem)),
      });
      // The bundle alone, with the reference's rules (key mode, v0.3, hint, DSSE over PAE).
      const facts = verifyBundle(signed.bundle, {
        kind: 'key',
        publicKey: createPublicKey(publicPem),
      });
      assert.equal(facts.digest, signed.digest);

      // A changed model is refused with the token-made signature too.
      writeFileSync(join(dirPath, 'weights.bin'), Buffer.alloc(4096, 8));
      await rejectsCode(
        verifyModel(dirPath, { trust: { kind: 'key', publicKey: createPublicKey(publicPem) } }),
        'MODEL_MISMATCH',
      );
    });
  }

  test('the private key cannot leave the token', (t) => {
    if (!requireSoftHsm(t)) return;
    pkcs11GenerateKeyPair(uri('sealed'), { pin: PIN, keyType: 'ecdsa-p256' });
    const lib = createRequire(import.meta.url)('pkcs11js') as typeof Pkcs11js;
    const p11 = new lib.PKCS11();
    p11.load(MODULE);
    p11.C_Initialize();
    t.after(() => {
      p11.C_Finalize();
      p11.close();
    });
    const slot = p11
      .C_GetSlotList(true)
      .find((s) => p11.C_GetTokenInfo(s).label.trimEnd() === TOKEN)!;
    const session = p11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION);
    p11.C_Login(session, lib.CKU_USER, PIN);
    p11.C_FindObjectsInit(session, [
      { type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY },
      { type: lib.CKA_LABEL, value: 'sealed' },
    ]);
    const [key] = p11.C_FindObjects(session, 2);
    p11.C_FindObjectsFinal(session);
    assert.ok(key);
    const [extractable, sensitive] = p11.C_GetAttributeValue(session, key, [
      { type: lib.CKA_EXTRACTABLE },
      { type: lib.CKA_SENSITIVE },
    ]);
    assert.equal(extractable!.value[0], 0, 'CKA_EXTRACTABLE must be false');
    assert.equal(sensitive!.value[0], 1, 'CKA_SENSITIVE must be true');
    assert.throws(
      () => p11.C_GetAttributeValue(session, key, [{ type: lib.CKA_VALUE }]),
      (err: Error & { code?: number }) =>
        err.message === 'CKR_ATTRIBUTE_SENSITIVE' && err.code === 0x11,
    );
    // Wrapping it out is refused too.
    assert.throws(() =>
      p11.C_SetAttributeValue(session, key, [{ type: lib.CKA_EXTRACTABLE, value: true }]),
    );
  });

  test('wrong PIN, unknown token, unknown key: each a clear code', (t) => {
    if (!requireSoftHsm(t)) return;
    pkcs11GenerateKeyPair(uri('pin-check'), { pin: PIN, keyType: 'ecdsa-p256' });
    assert.equal(
      throwsCode(() => pkcs11Signer(uri('pin-check'), { pin: '000000' }), 'PKCS11_PIN_INCORRECT')
        .exitCode,
      2,
    );
    const gone = throwsCode(
      () => pkcs11Signer(`pkcs11:token=no-such-token;object=k?module-path=${MODULE}`, { pin: PIN }),
      'PKCS11_TOKEN_UNAVAILABLE',
    );
    assert.equal(gone.exitCode, 3);
    throwsCode(() => pkcs11Signer(uri('no-such-key'), { pin: PIN }), 'PKCS11_KEY_NOT_FOUND');
    throwsCode(
      () => pkcs11GenerateKeyPair(uri('pin-check'), { pin: PIN, keyType: 'ecdsa-p256' }),
      'OUTPUT_EXISTS',
    );
  });

  test('a token whose sessions vanish mid-run fails with PKCS11_TOKEN_UNAVAILABLE', async (t) => {
    if (!requireSoftHsm(t)) return;
    pkcs11GenerateKeyPair(uri('yanked'), { pin: PIN, keyType: 'ecdsa-p256' });
    const signer = pkcs11Signer(uri('yanked'), { pin: PIN });
    t.after(() => signer.close());
    const data = Buffer.from('payload');
    assert.ok(verifySignature(signer.publicKey, data, await signer.sign(data)));
    // What a pulled token looks like to the application: every session handle is dead.
    const lib = createRequire(import.meta.url)('pkcs11js') as typeof Pkcs11js;
    const other = new lib.PKCS11();
    other.load(MODULE);
    try {
      other.C_Initialize();
    } catch {
      // Already initialised by the signer in this process: same module instance.
    }
    const slot = other
      .C_GetSlotList(true)
      .find((s) => other.C_GetTokenInfo(s).label.trimEnd() === TOKEN)!;
    other.C_CloseAllSessions(slot);
    const e = await rejectsCode(signer.sign(data), 'PKCS11_TOKEN_UNAVAILABLE');
    assert.equal(e.exitCode, 3);
  });

  test('a token key can be a trust root key: the trust root code only sees a Signer', async (t) => {
    if (!requireSoftHsm(t)) return;
    pkcs11GenerateKeyPair(uri('root-key'), { pin: PIN, keyType: 'ecdsa-p384' });
    const token = pkcs11Signer(uri('root-key'), { pin: PIN });
    t.after(() => token.close());
    const file = fileSigner(generateKeyPairSync('ed25519').privateKey);
    const doc = initialTrustRoot([token.publicKey, file.publicKey], 2, new Date());
    const root = verifyTrustRoot(await signTrustRoot(doc, [token, file]));
    assert.equal(root.signedBy.length, 2);
    throwsCode(() => verifyTrustRoot(Buffer.alloc(0)), 'TRUST_ROOT_MALFORMED');
  });

  test('concurrent signatures are serialised on the one session and all verify', async (t) => {
    if (!requireSoftHsm(t)) return;
    pkcs11GenerateKeyPair(uri('busy', ';id=%42'), { pin: PIN, keyType: 'ecdsa-p256' });
    const signer = pkcs11Signer(`pkcs11:token=${TOKEN};id=%42?module-path=${MODULE}`, { pin: PIN });
    t.after(() => signer.close());
    const inputs = Array.from({ length: 8 }, (_, i) =>
      createHash('sha256').update(String(i)).digest(),
    );
    const sigs = await Promise.all(inputs.map((d) => signer.sign(d)));
    sigs.forEach((s, i) => assert.ok(verifySignature(signer.publicKey, inputs[i]!, s)));
    signer.close();
    await rejectsCode(signer.sign(inputs[0]!), 'PKCS11_TOKEN_UNAVAILABLE');
  });
});

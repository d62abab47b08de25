import assert from 'node:assert/strict';
import {
  createECDH,
  createPrivateKey,
  generateKeyPairSync,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { test } from 'node:test';
import {
  KEY_TYPES,
  fileSigner,
  generateKeyPair,
  loadPrivateKey,
  signatureHashFor,
  verifyEcdsaSha256ForV02Compat,
  verifySignatureOverParts,
  verifySignature,
} from '../../src/keys/index.js';
import { throwsCode } from '../envelope/fixtures.js';
import { buildCertificate } from './x509-builder.js';

function ecKey(curve: 'P-256' | 'P-384' | 'P-521', dHex: string): KeyObject {
  const name = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' }[curve];
  const size = { 'P-256': 32, 'P-384': 48, 'P-521': 66 }[curve];
  const d = Buffer.from(dHex.padStart(size * 2, '0'), 'hex');
  const ecdh = createECDH(name);
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey();
  return createPrivateKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: curve,
      d: d.toString('base64url'),
      x: point.subarray(1, 1 + size).toString('base64url'),
      y: point.subarray(1 + size).toString('base64url'),
    },
  });
}

// RFC 6979 appendix A.2.5 / A.2.6 / A.2.7, message "sample" (and "test" for P-256). DER values
// cross-checked with Python `cryptography` 48 (`ECDSA(h, deterministic_signing=True)`).
const RFC6979 = [
  {
    curve: 'P-256' as const,
    d: 'C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721',
    message: 'sample',
    der: '3046022100efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716022100f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8',
  },
  {
    curve: 'P-256' as const,
    d: 'C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721',
    message: 'test',
    der: '3045022100f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d383670220019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083',
  },
  {
    curve: 'P-384' as const,
    d: '6B9D3DAD2E1B8C1C05B19875B6659F4DE23C3B667BF297BA9AA47740787137D896D5724E4C70A825F872C9EA60D2EDF5',
    message: 'sample',
    der: '306602310094edbb92a5ecb8aad4736e56c691916b3f88140666ce9fa73d64c4ea95ad133c81a648152e44acf96e36dd1e80fabe4602310099ef4aeb15f178cea1fe40db2603138f130e740a19624526203b6351d0a3a94fa329c145786e679e7b82c71a38628ac8',
  },
  {
    curve: 'P-521' as const,
    d: '0FAD06DAA62BA3B25D2FB40133DA757205DE67F5BB0018FEE8C86E1B68C7E75CAA896EB32F1F47C70855836A6D16FCC1466F6D8FBEC67DB89EC0C08B0E996B83538',
    message: 'sample',
    der: '308187024200c328fafcbd79dd77850370c46325d987cb525569fb63c5d3bc53950e6d4c5f174e25a1ee9017b5d450606add152b534931d7d4e8455cc91f9b15bf05ec36e377fa0241617cce7cf5064806c467f678d3b4080d6f1cc50af26ca209417308281b68af282623eaa63e5b5c0723d8b8c37ff0777b1a20f8ccb1dccc43997f1ee0e44da4a67a',
  },
];

void test('ECDSA signatures are RFC 6979 with the curve hash, DER, high-S kept', async () => {
  for (const v of RFC6979) {
    const signer = fileSigner(ecKey(v.curve, v.d));
    const sig = await signer.sign(Buffer.from(v.message));
    assert.equal(sig.toString('hex'), v.der, `${v.curve} ${v.message}`);
  }
  // The first vector's s (F7CB…) is above n/2: low-S normalisation must not be applied.
});

void test('signatures verify with node:crypto using the curve hash; deterministic for every type', async () => {
  const data = Buffer.from('DSSEv1 28 application/vnd.in-toto+json 2 {}');
  for (const type of KEY_TYPES) {
    const signer = fileSigner(loadPrivateKey(generateKeyPair(type).privateKeyPem));
    assert.equal(signer.keyType, type);
    const a = await signer.sign(data);
    const b = await signer.sign(data);
    assert.ok(a.equals(b), `${type} deterministic`);
    const hash = signatureHashFor(type) ?? null;
    const key =
      type === 'ed25519'
        ? signer.publicKey
        : { key: signer.publicKey, dsaEncoding: 'der' as const };
    assert.ok(cryptoVerify(hash, data, key, a), type);
    assert.ok(verifySignature(signer.publicKey, data, a));
    assert.ok(!verifySignature(signer.publicKey, Buffer.from('other'), a));
    if (type === 'ed25519') assert.equal(a.length, 64);
    else assert.equal(a[0], 0x30);
  }
});

/** `bytes` cut at the given offsets (views, no copies). */
function piecesAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const ends = [...cuts, bytes.length];
  return ends.map((end, i) => bytes.subarray(i === 0 ? 0 : ends[i - 1], end));
}

/** Bytes that are not all alike, so a piece in the wrong place changes the message. */
function patterned(length: number): Buffer {
  const data = Buffer.alloc(length);
  for (let i = 0; i < length; i++) data[i] = (i * 13 + (i >> 10)) % 256;
  return data;
}

void test('a message in pieces is signed as their concatenation, byte for byte', async () => {
  const data = patterned(300_000);
  for (const type of KEY_TYPES) {
    const signer = fileSigner(loadPrivateKey(generateKeyPair(type).privateKeyPem));
    const whole = await signer.sign(data);
    for (const cuts of [[0], [7], [65_536, 65_537], [299_999]]) {
      const signed = await signer.sign(piecesAt(data, cuts));
      assert.ok(signed.equals(whole), `${type} ${cuts.join(',')}`);
    }
  }
});

void test('verifySignatureOverParts agrees with verifySignature wherever the message is cut', async () => {
  const data = patterned(100_000);
  for (const type of KEY_TYPES) {
    const signer = fileSigner(loadPrivateKey(generateKeyPair(type).privateKeyPem));
    const sig = await signer.sign(data);
    const other = Buffer.from(data);
    other[77_777]! ^= 1;
    for (const cuts of [[], [0], [1, 2], [50_000], [3, 65_536, 99_999], [100_000]]) {
      const parts = piecesAt(data, cuts);
      assert.ok(
        verifySignatureOverParts(signer.publicKey, parts, sig),
        `${type} ${cuts.join(',')}`,
      );
      const otherParts = parts.map((p) => other.subarray(p.byteOffset, p.byteOffset + p.length));
      assert.equal(verifySignatureOverParts(signer.publicKey, otherParts, sig), false);
    }
    assert.equal(verifySignatureOverParts(signer.publicKey, [data], Buffer.alloc(9)), false);
  }
});

void test('verifySignature: algorithm fixed by the key; garbage never throws', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const data = Buffer.from('x');
  const sha256Sig = cryptoSign('sha256', data, { key: privateKey, dsaEncoding: 'der' });
  // A P-384 signature made with SHA-256 does not verify through the allow-list...
  assert.equal(verifySignature(publicKey, data, sha256Sig), false);
  // ...only through the explicitly named v0.2 compatibility path.
  assert.equal(verifyEcdsaSha256ForV02Compat(publicKey, [data], sha256Sig), true);
  for (const junk of [Buffer.alloc(0), Buffer.from([0x30]), Buffer.alloc(200, 0xff)]) {
    assert.equal(verifySignature(publicKey, data, junk), false);
  }
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  assert.equal(verifySignature(rsa.publicKey, data, Buffer.alloc(256)), false);
});

void test('certificate mode: the certificate must carry the private key’s public key', () => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = buildCertificate({
    subject: 's',
    publicKey: key.publicKey,
    signingKey: key.privateKey,
  });
  const wrong = buildCertificate({
    subject: 's',
    publicKey: other.publicKey,
    signingKey: other.privateKey,
  });
  const signer = fileSigner(key.privateKey, { certificateChain: [cert] });
  assert.equal(signer.certificateChain?.length, 1);
  throwsCode(() => fileSigner(key.privateKey, { certificateChain: [wrong] }), 'CERT_KEY_MISMATCH');
  throwsCode(() => fileSigner(key.privateKey, { certificateChain: [] }), 'CERT_MALFORMED');
});

void test('a public key or an unsupported key cannot make a signer', () => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  throwsCode(() => fileSigner(key.publicKey), 'KEY_MALFORMED');
  throwsCode(
    () => fileSigner(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey),
    'KEY_UNSUPPORTED',
  );
});

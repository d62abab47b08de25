import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import {
  KEY_TYPES,
  generateKeyPair,
  keyTypeOf,
  loadPrivateKey,
  loadPublicKey,
  publicKeyHint,
  samePublicKey,
  supportedKeyType,
} from '../../src/keys/index.js';
import { keyed, readShared, sharedOrSkip, throwsCode } from '../envelope/fixtures.js';

const PBES2 = '06092a864886f70d01050d';
const AES_256_CBC = '060960864801650304012a';

void test('generateKeyPair + load round trip for every key type', () => {
  for (const type of KEY_TYPES) {
    const pair = generateKeyPair(type);
    assert.match(pair.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(pair.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/);
    const priv = loadPrivateKey(pair.privateKeyPem);
    assert.equal(priv.keyType, type);
    assert.equal(priv.encrypted, false);
    const pub = loadPublicKey(pair.publicKeyPem);
    assert.equal(keyTypeOf(pub), type);
    assert.ok(samePublicKey(priv.key, pub));
    assert.equal(publicKeyHint(priv.key), publicKeyHint(pub));
  }
});

void test('passphrase: PKCS#8 PBES2 with AES-256-CBC; required, wrong, right', () => {
  const pair = generateKeyPair('ecdsa-p384', 'correct horse');
  assert.match(pair.privateKeyPem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
  const der = Buffer.from(
    pair.privateKeyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''),
    'base64',
  ).toString('hex');
  assert.ok(der.includes(PBES2), 'PBES2');
  assert.ok(der.includes(AES_256_CBC), 'aes-256-cbc');
  throwsCode(() => loadPrivateKey(pair.privateKeyPem), 'KEY_PASSPHRASE_REQUIRED');
  throwsCode(() => loadPrivateKey(pair.privateKeyPem, 'wrong'), 'KEY_PASSPHRASE_WRONG');
  throwsCode(() => loadPrivateKey(pair.privateKeyPem, ''), 'KEY_PASSPHRASE_WRONG');
  const loaded = loadPrivateKey(pair.privateKeyPem, 'correct horse');
  assert.equal(loaded.encrypted, true);
  assert.equal(loaded.keyType, 'ecdsa-p384');
});

void test('SEC1 "EC PRIVATE KEY", plain and with legacy PEM encryption', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  const plain = privateKey.export({ type: 'sec1', format: 'pem' }).toString();
  assert.match(plain, /BEGIN EC PRIVATE KEY/);
  assert.equal(loadPrivateKey(plain).keyType, 'ecdsa-p521');
  const enc = privateKey
    .export({ type: 'sec1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
    .toString();
  assert.match(enc, /Proc-Type: 4,ENCRYPTED/);
  throwsCode(() => loadPrivateKey(enc), 'KEY_PASSPHRASE_REQUIRED');
  throwsCode(() => loadPrivateKey(enc, 'nope'), 'KEY_PASSPHRASE_WRONG');
  assert.equal(loadPrivateKey(enc, 'pw').encrypted, true);
});

void test('the fixture keys load; hint matches the reference', () => {
  const priv = loadPrivateKey(keyed('p256.key.pem').toString());
  assert.equal(priv.keyType, 'ecdsa-p256');
  const pub = loadPublicKey(keyed('p256.pub.pem').toString());
  const hint = 'e0cf4cda27940b22ecd03881987156ca9be52f38afcbfecdf5efc51818117f7e';
  assert.equal(publicKeyHint(pub), hint);
  assert.equal(publicKeyHint(priv.key), hint);
  assert.equal(loadPrivateKey(keyed('p384.key.pem').toString()).keyType, 'ecdsa-p384');
});

void test('the hint is of the canonical SPKI PEM, not of the key file bytes', (t) => {
  const shared = sharedOrSkip(t);
  if (shared === undefined) return;
  const file = readShared(shared, 'vectors', 'oms-upstream', 'keys', 'signing-key-pub.pem');
  const key = loadPublicKey(file.toString());
  assert.equal(
    publicKeyHint(key),
    'e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e',
  );
  assert.notEqual(createHash('sha256').update(file).digest('hex'), publicKeyHint(key));
});

void test('not a key → KEY_MALFORMED', () => {
  const pair = generateKeyPair('ed25519');
  throwsCode(() => loadPrivateKey('hello'), 'KEY_MALFORMED');
  throwsCode(() => loadPrivateKey(pair.publicKeyPem), 'KEY_MALFORMED');
  throwsCode(
    () => loadPrivateKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'),
    'KEY_MALFORMED',
  );
  throwsCode(() => loadPrivateKey('x'.repeat(100_000)), 'KEY_MALFORMED');
  throwsCode(() => loadPublicKey(pair.privateKeyPem), 'KEY_MALFORMED');
  throwsCode(() => loadPublicKey(''), 'KEY_MALFORMED');
  throwsCode(
    () => loadPublicKey('-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n'),
    'KEY_MALFORMED',
  );
  throwsCode(
    () => loadPublicKey('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
    'KEY_MALFORMED',
  );
});

void test('RSA, other curves and X25519 → KEY_UNSUPPORTED', () => {
  const keys = [
    generateKeyPairSync('rsa', { modulusLength: 2048 }),
    generateKeyPairSync('ec', { namedCurve: 'secp256k1' }),
    generateKeyPairSync('x25519'),
    generateKeyPairSync('ed448'),
  ];
  for (const { privateKey, publicKey } of keys) {
    assert.equal(supportedKeyType(publicKey), undefined);
    throwsCode(
      () => loadPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
      'KEY_UNSUPPORTED',
    );
    throwsCode(
      () => loadPublicKey(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
      'KEY_UNSUPPORTED',
    );
  }
});

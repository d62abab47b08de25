import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { constantTimeEqual } from '../digest/index.js';
import { UsageError } from '../errors/index.js';
import { keyTypeOf } from './algorithms.js';
import type { KeyType } from './types.js';

/** PEM key files are a few hundred bytes; anything far larger is not a key. */
const MAX_PEM_CHARS = 64 * 1024;

export interface GeneratedKeyPair {
  /** PKCS#8 PEM; PBES2 (PBKDF2 + AES-256-CBC) encrypted when a passphrase was given. */
  readonly privateKeyPem: string;
  /** SubjectPublicKeyInfo PEM. */
  readonly publicKeyPem: string;
}

export interface LoadedPrivateKey {
  readonly key: KeyObject;
  readonly keyType: KeyType;
  /** Whether the PEM was passphrase-protected. */
  readonly encrypted: boolean;
}

export function generateKeyPair(type: KeyType, passphrase?: string): GeneratedKeyPair {
  const { privateKey, publicKey } = generateFor(type);
  const privateKeyPem =
    passphrase === undefined
      ? privateKey.export({ type: 'pkcs8', format: 'pem' })
      : privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase });
  return {
    privateKeyPem: privateKeyPem.toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function generateFor(type: KeyType): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (type) {
    case 'ecdsa-p256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'ecdsa-p384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'ecdsa-p521':
      return generateKeyPairSync('ec', { namedCurve: 'P-521' });
    case 'ed25519':
      return generateKeyPairSync('ed25519');
  }
}

const PEM_LABEL = /-----BEGIN ([A-Z0-9 ]+)-----/;

function pemLabel(pem: string): string | undefined {
  return PEM_LABEL.exec(pem)?.[1];
}

function checkSize(pem: string, what: string): void {
  if (pem.length > MAX_PEM_CHARS) {
    throw new UsageError('KEY_MALFORMED', `The ${what} is larger than ${MAX_PEM_CHARS} characters`);
  }
}

/**
 * Reads a PEM private key: PKCS#8 (plain or encrypted) or SEC1 `EC PRIVATE KEY` (plain or with
 * legacy `Proc-Type` encryption). KEY_PASSPHRASE_REQUIRED when encrypted and no passphrase,
 * KEY_PASSPHRASE_WRONG when it does not decrypt, KEY_MALFORMED when it is not a private key,
 * KEY_UNSUPPORTED for RSA and curves other than P-256/P-384/P-521/Ed25519.
 */
export function loadPrivateKey(pemText: string, passphrase?: string): LoadedPrivateKey {
  checkSize(pemText, 'private key');
  const label = pemLabel(pemText);
  if (label === undefined || !label.endsWith('PRIVATE KEY')) {
    throw new UsageError(
      'KEY_MALFORMED',
      label === undefined
        ? 'The private key is not PEM text'
        : `Expected a PEM private key, found "${label}"`,
    );
  }
  const encrypted = label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(pemText);
  if (encrypted && passphrase === undefined) {
    throw new UsageError('KEY_PASSPHRASE_REQUIRED', 'The private key is encrypted');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(
      encrypted ? { key: pemText, format: 'pem', passphrase: passphrase ?? '' } : pemText,
    );
  } catch (err) {
    // Messages from OpenSSL are not stable; whether the PEM was encrypted is.
    if (encrypted) {
      throw new UsageError('KEY_PASSPHRASE_WRONG', 'The passphrase does not decrypt the key', {
        cause: err,
      });
    }
    throw new UsageError('KEY_MALFORMED', 'The private key could not be read', { cause: err });
  }
  return { key, keyType: keyTypeOf(key), encrypted };
}

/** Reads a SubjectPublicKeyInfo PEM public key of a supported type. */
export function loadPublicKey(pemText: string): KeyObject {
  checkSize(pemText, 'public key');
  const label = pemLabel(pemText);
  if (label !== 'PUBLIC KEY') {
    throw new UsageError(
      'KEY_MALFORMED',
      label === undefined
        ? 'The public key is not PEM text'
        : `Expected a "PUBLIC KEY" PEM block, found "${label}"`,
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pemText);
  } catch (err) {
    throw new UsageError('KEY_MALFORMED', 'The public key could not be read', { cause: err });
  }
  keyTypeOf(key);
  return key;
}

/** The public half of a private key, or the key itself if it is public. */
export function publicKeyOf(key: KeyObject): KeyObject {
  return key.type === 'private' ? createPublicKey(key) : key;
}

/**
 * OMS `publicKey.hint`: hex SHA-256 of the key's SubjectPublicKeyInfo PEM text as OpenSSL writes
 * it (64-column base64, LF, trailing LF) — the same text Python `cryptography` produces. It is not
 * the hash of whatever file the key came from.
 */
export function publicKeyHint(key: KeyObject): string {
  const pem = publicKeyOf(key).export({ type: 'spki', format: 'pem' });
  return createHash('sha256').update(pem).digest('hex');
}

/** SPKI DER of a key's public half. */
export function publicKeyDer(key: KeyObject): Buffer {
  return publicKeyOf(key).export({ type: 'spki', format: 'der' });
}

/** Whether two keys (private or public) have the same public key. */
export function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  return constantTimeEqual(publicKeyDer(a), publicKeyDer(b));
}

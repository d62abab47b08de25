import { createVerify, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { UsageError } from '../errors/index.js';
import type { KeyType } from './types.js';

// The one allow-list of signature algorithms (STYLE.md §7). The algorithm is always derived from
// the key, never read from a bundle: ECDSA with the curve's own hash (what the reference signs
// with: `sign_ec_key.py get_ec_key_hash`), and Ed25519 (a Cairn extension).

export type SignatureHash = 'sha256' | 'sha384' | 'sha512';

const CURVES: Readonly<Record<string, KeyType>> = {
  prime256v1: 'ecdsa-p256',
  secp384r1: 'ecdsa-p384',
  secp521r1: 'ecdsa-p521',
};

/** The key's type if Cairn signs/verifies with it, else undefined. Private or public keys. */
export function supportedKeyType(key: KeyObject): KeyType | undefined {
  // An allow-list, not a switch over every type Node knows: anything unlisted is unsupported.
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType !== 'ec') return undefined;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === undefined ? undefined : CURVES[curve];
}

/** The key's type, or KEY_UNSUPPORTED (RSA, other curves, X25519, …). */
export function keyTypeOf(key: KeyObject): KeyType {
  const type = supportedKeyType(key);
  if (type === undefined) {
    const what =
      key.asymmetricKeyType === 'ec'
        ? `EC curve ${key.asymmetricKeyDetails?.namedCurve ?? 'unknown'}`
        : `${key.asymmetricKeyType ?? key.type} key`;
    throw new UsageError('KEY_UNSUPPORTED', `Unsupported key: ${what}`, {
      details: { asymmetricKeyType: key.asymmetricKeyType },
    });
  }
  return type;
}

/** The hash ECDSA uses for each curve; undefined for Ed25519 (which hashes internally). */
export function signatureHashFor(keyType: KeyType): SignatureHash | undefined {
  switch (keyType) {
    case 'ecdsa-p256':
      return 'sha256';
    case 'ecdsa-p384':
      return 'sha384';
    case 'ecdsa-p521':
      return 'sha512';
    case 'ed25519':
      return undefined;
  }
}

/**
 * Verifies `signature` over `data` with the algorithm the key dictates: DER ECDSA with the
 * curve's hash (high-S accepted, as OpenSSL does), or Ed25519. False for unsupported keys and
 * malformed signatures; never throws on hostile input.
 */
export function verifySignature(
  publicKey: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  const keyType = supportedKeyType(publicKey);
  if (keyType === undefined) return false;
  return verifyWith(publicKey, keyType, signatureHashFor(keyType), data, signature);
}

/**
 * `verifySignature` over the concatenation of `parts`, hashed one piece at a time for ECDSA, so a
 * multi-megabyte message (a DSSE pre-image around a big payload) is never copied whole. Ed25519
 * signs the message itself, not a hash: its pieces are joined first.
 */
export function verifySignatureOverParts(
  publicKey: KeyObject,
  parts: Iterable<Uint8Array>,
  signature: Uint8Array,
): boolean {
  const keyType = supportedKeyType(publicKey);
  if (keyType === undefined) return false;
  return verifyWith(publicKey, keyType, signatureHashFor(keyType), parts, signature);
}

/**
 * ECDSA with SHA-256 whatever the curve, over the concatenation of `parts`. Only for the
 * reference's v0.2 certificate-mode compatibility path, which hashes the legacy pre-image with
 * SHA-256 regardless of curve (`sign_certificate.py`). Named for what it is so nothing uses it by
 * accident.
 */
export function verifyEcdsaSha256ForV02Compat(
  publicKey: KeyObject,
  parts: Iterable<Uint8Array>,
  signature: Uint8Array,
): boolean {
  const keyType = supportedKeyType(publicKey);
  if (keyType === undefined || keyType === 'ed25519') return false;
  return verifyWith(publicKey, keyType, 'sha256', parts, signature);
}

function verifyWith(
  publicKey: KeyObject,
  keyType: KeyType,
  hash: SignatureHash | undefined,
  data: Uint8Array | Iterable<Uint8Array>,
  signature: Uint8Array,
): boolean {
  if (publicKey.type === 'secret') return false;
  try {
    switch (keyType) {
      case 'ecdsa-p256':
      case 'ecdsa-p384':
      case 'ecdsa-p521': {
        const key = { key: publicKey, dsaEncoding: 'der' } as const;
        if (data instanceof Uint8Array) return cryptoVerify(hash ?? null, data, key, signature);
        const verifier = createVerify(hash!);
        for (const part of data) verifier.update(part);
        return verifier.verify(key, signature);
      }
      case 'ed25519':
        return cryptoVerify(
          null,
          data instanceof Uint8Array ? data : Buffer.concat([...data]),
          publicKey,
          signature,
        );
    }
  } catch {
    // OpenSSL throws on some malformed encodings instead of returning false.
    return false;
  }
}

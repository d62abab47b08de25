import { createHash, sign as cryptoSign, type KeyObject, type X509Certificate } from 'node:crypto';
import { InfraError, UsageError } from '../errors/index.js';
import { keyTypeOf, signatureHashFor, verifySignatureOverParts } from './algorithms.js';
import { publicKeyOf, samePublicKey, type LoadedPrivateKey } from './key-material.js';
import { signInputParts, type KeyType, type SignInput, type Signer } from './types.js';

export interface FileSignerOptions {
  /** Certificate mode: the signing certificate first, then intermediates. */
  readonly certificateChain?: readonly X509Certificate[];
}

/** Scalar sizes in bytes (P-521's 521 bits round up to 66). */
const SCALAR_BYTES = { 'ecdsa-p256': 32, 'ecdsa-p384': 48, 'ecdsa-p521': 66 } as const;

/**
 * A signer over a private key held in memory. ECDSA signatures are deterministic (RFC 6979, with
 * the curve's hash for both the message and the nonce derivation) via @noble/curves, DER-encoded,
 * without low-S normalisation — the shape `cryptography` produces. Ed25519 is deterministic by
 * definition. Every signature is checked once with node:crypto before it is returned, so a fault
 * during signing cannot leak a bad signature (and with it, for ECDSA, the key).
 *
 * In certificate mode the certificate's public key must be the private key's (CERT_KEY_MISMATCH).
 */
export function fileSigner(
  privateKey: KeyObject | LoadedPrivateKey,
  options: FileSignerOptions = {},
): Signer {
  const key = 'key' in privateKey ? privateKey.key : privateKey;
  if (key.type !== 'private') {
    throw new UsageError('KEY_MALFORMED', 'A private key is needed to sign');
  }
  const keyType = keyTypeOf(key);
  const publicKey = publicKeyOf(key);
  const chain = options.certificateChain;
  if (chain !== undefined) {
    const leaf = chain[0];
    if (leaf === undefined) {
      throw new UsageError('CERT_MALFORMED', 'The certificate chain is empty');
    }
    if (!samePublicKey(leaf.publicKey, publicKey)) {
      throw new UsageError(
        'CERT_KEY_MISMATCH',
        "The signing certificate's public key is not the private key's public key",
        { details: { subject: leaf.subject } },
      );
    }
  }
  const rawSign = signerFor(keyType, key);
  const signer: Signer = {
    keyType,
    publicKey,
    sign: async (data: SignInput): Promise<Buffer> => {
      const parts = signInputParts(data);
      const signature = await rawSign(parts);
      if (!verifySignatureOverParts(publicKey, parts, signature)) {
        throw new InfraError('INTERNAL', 'A fresh signature failed its own verification');
      }
      return signature;
    },
  };
  return chain === undefined ? signer : { ...signer, certificateChain: [...chain] };
}

function signerFor(
  keyType: KeyType,
  key: KeyObject,
): (parts: readonly Uint8Array[]) => Promise<Buffer> {
  switch (keyType) {
    case 'ecdsa-p256':
    case 'ecdsa-p384':
    case 'ecdsa-p521': {
      const scalar = scalarOf(key, keyType);
      const hash = signatureHashFor(keyType)!;
      return async (parts) => {
        const digest = createHash(hash);
        for (const part of parts) digest.update(part);
        return ecdsaSign(await nobleCurve(keyType), scalar, digest.digest());
      };
    }
    case 'ed25519':
      return (parts) =>
        Promise.resolve(
          cryptoSign(null, parts.length === 1 ? parts[0]! : Buffer.concat(parts), key),
        );
  }
}

const tuned = new Set<string>();

/**
 * @noble/curves is loaded on the first ECDSA signature: verification never needs it. Its default
 * 8-bit base-point window costs ~100 ms of table building before the first signature; a CLI signs
 * once per run, so a 4-bit window (first signature ~30 ms, later ones ~3 ms) is the better trade.
 */
async function nobleCurve(keyType: keyof typeof SCALAR_BYTES): Promise<NobleEcdsa> {
  const nist = await import('@noble/curves/nist.js');
  const curve = ((): (typeof nist)['p256'] => {
    switch (keyType) {
      case 'ecdsa-p256':
        return nist.p256;
      case 'ecdsa-p384':
        return nist.p384;
      case 'ecdsa-p521':
        return nist.p521;
    }
  })();
  if (!tuned.has(keyType)) {
    curve.Point.BASE.precompute(4);
    tuned.add(keyType);
  }
  return curve;
}

interface NobleEcdsa {
  sign(
    message: Uint8Array,
    secretKey: Uint8Array,
    opts: { prehash: boolean; lowS: boolean; format: 'der'; extraEntropy: false },
  ): Uint8Array;
}

/**
 * ECDSA over a message digest made with the curve's hash (SHA-256/384/512 for P-256/384/521):
 * RFC 6979 derives k from that digest (h1 = H(m)), and noble's HMAC-DRBG uses the curve's hash
 * too, so this is exactly noble's `prehash: true` over the message, without the message in one
 * piece (the RFC 6979 vectors in the tests hold it to that).
 */
function ecdsaSign(curve: NobleEcdsa, scalar: Uint8Array, digest: Uint8Array): Buffer {
  return Buffer.from(
    curve.sign(digest, scalar, { prehash: false, lowS: false, format: 'der', extraEntropy: false }),
  );
}

/** The private scalar, left-padded to the curve size, from the key's JWK export. */
function scalarOf(key: KeyObject, keyType: keyof typeof SCALAR_BYTES): Uint8Array {
  const d = key.export({ format: 'jwk' }).d;
  if (d === undefined) throw new UsageError('KEY_MALFORMED', 'The EC key has no private scalar');
  const raw = Buffer.from(d, 'base64url');
  const size = SCALAR_BYTES[keyType];
  if (raw.length > size) throw new UsageError('KEY_MALFORMED', 'The EC private scalar is too long');
  const out = new Uint8Array(size);
  out.set(raw, size - raw.length);
  return out;
}

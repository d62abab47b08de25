import type { KeyObject, X509Certificate } from 'node:crypto';

export const KEY_TYPES = ['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'ed25519'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/**
 * Anything that can sign: a key in a file, in a PKCS#11 token, or behind a signing service.
 * Sign/attest code only ever sees this interface.
 */
export interface Signer {
  readonly keyType: KeyType;
  readonly publicKey: KeyObject;
  /** Certificate mode: leaf first, then intermediates (DER). Absent in key mode. */
  readonly certificateChain?: readonly X509Certificate[];
  /**
   * Signs `data` (the DSSE PAE) and returns the signature as OMS carries it: DER ECDSA with the
   * curve's hash (SHA-256/384/512 for P-256/384/521), or the raw 64-byte Ed25519 signature.
   * Deterministic: the same key and data give the same bytes (RFC 6979 for ECDSA). `data` may
   * come in pieces (signed as their concatenation): ECDSA hashes them one at a time, so a PAE
   * around a multi-megabyte statement is never copied whole.
   */
  sign(data: SignInput): Promise<Buffer>;
}

/** A message to sign: whole, or in pieces to be signed as their concatenation. */
export type SignInput = Uint8Array | readonly Uint8Array[];

/** The message's pieces (one piece for a whole message). */
export function signInputParts(data: SignInput): readonly Uint8Array[] {
  return data instanceof Uint8Array ? [data] : data;
}

import type { KeyObject } from 'node:crypto';
import {
  addSigner,
  fileSigner,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  signTrustRoot,
  verifyTrustRoot,
  type Signer,
  type TrustRoot,
  type TrustRootDocument,
} from '../../src/keys/index.js';
import type { VerificationTrust } from '../../src/verify/index.js';

/** A fresh P-256 key: its signer, public key and the key-mode trust for it. */
export function keyPair(): { signer: Signer; publicKey: KeyObject; trust: VerificationTrust } {
  const pair = generateKeyPair('ecdsa-p256');
  const publicKey = loadPublicKey(pair.publicKeyPem);
  return {
    signer: fileSigner(loadPrivateKey(pair.privateKeyPem)),
    publicKey,
    trust: { kind: 'key', publicKey },
  };
}

/** Grants a key signer in every environment (default: every repository, OMS signatures only). */
export function grant(
  doc: TrustRootDocument,
  at: Date,
  id: string,
  publicKey: KeyObject,
  options: { predicateTypes?: string[]; repositories?: string[] } = {},
): TrustRootDocument {
  return addSigner(
    doc,
    {
      id,
      identity: { kind: 'key', publicKey },
      repositories: options.repositories ?? ['**'],
      environments: ['**'],
      ...(options.predicateTypes === undefined ? {} : { predicateTypes: options.predicateTypes }),
    },
    at,
  );
}

/** The document signed by the one root key and verified, as a verifier would load it. */
export async function sealed(doc: TrustRootDocument, rootKey: Signer): Promise<TrustRoot> {
  return verifyTrustRoot(await signTrustRoot(doc, [rootKey]));
}

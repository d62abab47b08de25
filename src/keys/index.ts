export { KEY_TYPES } from './types.js';
export {
  keyTypeOf,
  supportedKeyType,
  signatureHashFor,
  verifySignature,
  verifyEcdsaSha256ForV02Compat,
} from './algorithms.js';
export {
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  publicKeyOf,
  publicKeyHint,
  publicKeyDer,
  samePublicKey,
} from './key-material.js';
export {
  OID_KEY_USAGE,
  OID_EXT_KEY_USAGE,
  OID_EKU_CODE_SIGNING,
  parseCertificates,
  certificateUsage,
  certificateFingerprint,
} from './certificates.js';
export { fileSigner } from './file-signer.js';
// Sigstore public-good trust material (owned by the keyless work; exported through this door).
export {
  SIGSTORE_PUBLIC_GOOD_TUF_URL,
  sigstoreTrustedRootFromJSON,
  summarizeSigstoreTrustedRoot,
  loadEmbeddedSigstoreTrustedRoot,
} from './sigstore-trust.js';

export type { KeyType, Signer } from './types.js';
export type { SignatureHash } from './algorithms.js';
export type { GeneratedKeyPair, LoadedPrivateKey } from './key-material.js';
export type { CertificateUsage } from './certificates.js';
export type { FileSignerOptions } from './file-signer.js';
export type {
  SigstoreTrustedRoot,
  TrustedRootWindow,
  TrustedRootLogSummary,
  TrustedRootAuthoritySummary,
  TrustedRootSummary,
  EmbeddedSigstoreTrustedRoot,
} from './sigstore-trust.js';

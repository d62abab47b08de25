export { KEY_TYPES } from './types.js';
export {
  keyTypeOf,
  supportedKeyType,
  signatureHashFor,
  verifySignature,
  verifyEcdsaSha256ForV02Compat,
  verifySignatureOverParts,
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

export type { KeyType, SignInput, Signer } from './types.js';
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
// PKCS#11 hardware tokens (RFC 7512 URIs, ECDSA and Ed25519 keys that never leave the token).
export { parsePkcs11Uri, describePkcs11Uri } from './pkcs11-uri.js';
export {
  PKCS11_PIN_ENV,
  PKCS11_MODULE_ENV,
  pkcs11Signer,
  pkcs11GenerateKeyPair,
  readPkcs11Pin,
} from './pkcs11.js';
export type { Pkcs11Uri } from './pkcs11-uri.js';
export type { Pkcs11Signer, Pkcs11Options, Pkcs11KeyGenOptions } from './pkcs11.js';
// Trust root: who may sign what, signed by a threshold of root keys.
export {
  TRUST_ROOT_PAYLOAD_TYPE,
  TRUST_ROOT_MAX_BYTES,
  trustRootDocumentFromJSON,
  readTrustRootUnverified,
  verifyTrustRoot,
  TRUST_ROOT_CHECKPOINT_MEDIA_TYPE,
  trustRootCheckpointFromJSON,
  trustRootCheckpoint,
  signTrustRoot,
  keyEntry,
  initialTrustRoot,
  addSigner,
  rotateSigner,
  revokeSigner,
  rotateRootKeys,
  isoTime,
  diffTrustRoots,
  trustedKeyForHint,
  globMatches,
  verifyAgainstTrustRoot,
  requireDistinctSigners,
} from './trust-root.js';
export type {
  TrustRootDocument,
  TrustedSigner,
  SignerIdentity,
  SignerScopes,
  RootKeyEntry,
  TrustRootIssue,
  TrustRoot,
  VerifyTrustRootOptions,
  NewSigner,
  TrustChange,
  VerifiedSignerEvidence,
  TrustRootCheckOptions,
  TrustedSignatureFacts,
  TrustRootCheckpoint,
  DistinctSigners,
} from './trust-root.js';

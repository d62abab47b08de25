/**
 * Cairn's library API. The package door: everything a program needs to sign, verify and digest
 * models; the CLI is built on exactly these functions.
 */
export {
  defaultSignaturePath,
  digestModel,
  signModel,
  verifyModel,
  inspectSignature,
  ManifestCache,
} from './model/index.js';
export {
  CairnError,
  UsageError,
  ValidationError,
  VerificationError,
  InfraError,
  ERROR_CATALOG,
  isCairnError,
} from './errors/index.js';
export {
  KEY_TYPES,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  fileSigner,
  publicKeyHint,
  parseCertificates,
  loadEmbeddedSigstoreTrustedRoot,
} from './keys/index.js';

export { scanModel, scanReportFromJSON } from './scan/index.js';
export { evaluate, loadPolicySet } from './policy/index.js';
export {
  buildProvenance,
  signAttestation,
  verifyAttestation,
  appendAttestation,
} from './attest/index.js';

export type {
  DigestModelOptions,
  DigestResult,
  SignModelOptions,
  SignResult,
  VerifyModelOptions,
  ModelVerification,
  ResourceCheck,
} from './model/index.js';
export type { ErrorCode, ErrorKind } from './errors/index.js';
export type { KeyType, Signer } from './keys/index.js';
export type { Manifest, Resource, ResourceRole, Serialization } from './manifest/index.js';
export type {
  VerificationTrust,
  VerifiedSignature,
  SignerFacts,
  BundleClaims,
} from './verify/index.js';
export type { ArtifactDigest, HashAlgorithm } from './digest/index.js';

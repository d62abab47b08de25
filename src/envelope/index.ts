export {
  BUNDLE_MEDIA_TYPE_V03,
  BUNDLE_MEDIA_TYPE_V03_ALT,
  BUNDLE_MEDIA_TYPE_V02,
  BUNDLE_MEDIA_TYPE_V01,
  BUNDLE_MEDIA_TYPES,
  isBundleMediaType,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_V1,
  OMS_PREDICATE_TYPE,
  OMS_PREDICATE_TYPE_COMPAT,
  MAX_BUNDLE_BYTES,
  MAX_JSON_DEPTH,
  MAX_CHAIN_CERTIFICATES,
} from './constants.js';
export { pae, paeParts, paeV02Compat, paeV02CompatParts, pythonBytesRepr } from './pae.js';
export {
  decodeBase64Strict,
  decodeBase64StrictBytes,
  decodeBase64StrictInPlace,
  encodeBase64,
} from './base64.js';
export { findExcessiveNesting, readJsonBytes } from './json-input.js';
export { pythonJsonDumps } from './python-json.js';
export {
  bundleDocument,
  bundleFromJSON,
  checkBundlePayloadSize,
  serializeBundle,
  type BundleReadOptions,
} from './bundle.js';
export {
  COMPAT_MODEL_NAME,
  orderIgnorePaths,
  serializeOmsStatement,
  statementFromPayload,
  statementFromOwnPayload,
  manifestFromStatement,
  packedManifestFromStatement,
} from './statement.js';

export type { BundleMediaType } from './constants.js';
export type { JsonLimits, JsonReadFailure, JsonReadResult } from './json-input.js';
export type {
  BundleIssue,
  DsseEnvelope,
  DsseSignature,
  SigstoreBundle,
  VerificationMaterialContent,
  WritableBundle,
} from './bundle.js';
export type {
  InTotoStatement,
  InTotoSubject,
  SignedManifest,
  PackedSignedManifest,
} from './statement.js';

export {
  defaultSignaturePath,
  digestModel,
  signModel,
  resourceChecksBetween,
  verifyModel,
  inspectSignature,
  ManifestCache,
} from './api.js';
export {
  MAX_BUNDLE_BYTES,
  MAX_KEY_BYTES,
  MAX_CERT_BYTES,
  readSmallFile,
  writeFileAtomic,
} from './files.js';

export type {
  ModelScopeOptions,
  HashingChoice,
  DigestModelOptions,
  DigestResult,
  SignModelOptions,
  SignResult,
  VerifyModelOptions,
  ResourceCheck,
  ModelVerification,
} from './api.js';
export type { AtomicWriteOptions } from './files.js';

/** The registry domain's door: repositories, artifacts, tags, promotion, retrieval, audit. */
export { CAIRN_REGISTRY_VERIFIER, Registry } from './registry.js';
export { DEFAULT_ENVIRONMENTS, checkEnvironments } from './environments.js';
export {
  MAX_REPOSITORY_NAME,
  MAX_REPOSITORY_SEGMENTS,
  isEnvironmentName,
  isSha256Digest,
  repositoryName,
  sha256Digest,
  tagName,
} from './names.js';
export { artifactManifest, manifestDigest } from './artifact-manifest.js';
export { verifyEvidence } from './evidence.js';
export {
  MAX_BUNDLE_TEXT,
  MAX_PUSH_BUNDLES,
  MAX_RESOURCES,
  addBundleFromJSON,
  addBundleSchema,
  breakGlassRequestFromJSON,
  breakGlassRequestSchema,
  createRepositoryFromJSON,
  createRepositorySchema,
  exceptionRequestFromJSON,
  exceptionRequestSchema,
  promoteFromJSON,
  promoteSchema,
  pushRequestFromJSON,
  pushRequestSchema,
  signRequestFromJSON,
  signSchema,
  tagMoveFromJSON,
  tagMoveSchema,
} from './requests.js';

export type {
  ArtifactReference,
  Promotion,
  RegistryOptions,
  RegistryPolicies,
  Retrieval,
} from './registry.js';
export type { EnvironmentConfig } from './environments.js';
export type { EvidenceScope, RefusedBundle, RegistryTrust, VerifiedBundles } from './evidence.js';
export type {
  BreakGlassRequest,
  CreateRepositoryRequest,
  OmsSerialization,
  PromoteRequest,
  PushRequest,
  PushResource,
  SignRequest,
  TagMoveRequest,
} from './requests.js';

export {
  GIT_PATHS,
  DEFAULT_SIGNATURE_NAME,
  DEFAULT_ATTESTATIONS_NAME,
  compareCodePoints,
  comparePaths,
  compareResourceKeys,
  sortResources,
  pathProblem,
  parseResourceName,
  shardName,
  roleForPath,
} from './names.js';
export { manifestRootDigest, compareManifests } from './compare.js';
export {
  packManifest,
  unpackManifest,
  packedTransferList,
  isPackedManifest,
  manifestPaths,
} from './packed.js';
export { walkModel, effectiveIgnorePaths } from './walk.js';
export { hashModel, DEFAULT_SHARD_SIZE } from './hash-model.js';
export { RESOURCE_ROLES } from './types.js';

export type {
  SerializationMethod,
  Serialization,
  ResourceRole,
  ShardRange,
  Resource,
  Manifest,
  HashProgress,
  HashModelOptions,
  DigestMismatch,
  ManifestDiff,
} from './types.js';
export type { ResourceKey } from './names.js';
export type { PackedManifest } from './packed.js';
export type { WalkedFiles, FileIdentity, WalkOptions, WalkResult } from './walk.js';

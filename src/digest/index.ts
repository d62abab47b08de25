export {
  HASH_ALGORITHMS,
  isHashAlgorithm,
  digestLength,
  createHasher,
  blake3IsNative,
  hashBytes,
  constantTimeEqual,
  rootDigest,
  formatArtifactDigest,
  isArtifactDigest,
} from './hashers.js';

export type { HashAlgorithm, StreamingHasher, ArtifactDigest } from './hashers.js';

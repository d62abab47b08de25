export { verifyBundle, verifyBundlePacked, verifyStatementBundle } from './verify-bundle.js';
export { inspectBundle } from './inspect.js';
export { verifyKeylessBundle } from './keyless.js';

export type {
  VerificationTrust,
  SignerFacts,
  VerifiedSignature,
  PackedVerifiedSignature,
  VerifiedStatement,
  BundleClaims,
} from './types.js';
export type { KeylessPolicy, KeylessResult, KeylessTimestamp } from './keyless.js';

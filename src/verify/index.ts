export { verifyBundle, verifyStatementBundle } from './verify-bundle.js';
export { inspectBundle } from './inspect.js';
export { verifyKeylessBundle } from './keyless.js';

export type {
  VerificationTrust,
  SignerFacts,
  VerifiedSignature,
  VerifiedStatement,
  BundleClaims,
} from './types.js';
export type { KeylessPolicy, KeylessResult, KeylessTimestamp } from './keyless.js';

export { verifyBundle } from './verify-bundle.js';
export { inspectBundle } from './inspect.js';
export { verifyKeylessBundle } from './keyless.js';

export type { VerificationTrust, SignerFacts, VerifiedSignature, BundleClaims } from './types.js';
export type { KeylessPolicy, KeylessResult, KeylessTimestamp } from './keyless.js';

export { verifyKeylessBundle } from './keyless.js';

export type {
  VerificationTrust,
  SignerFacts,
  VerifiedSignature,
  BundleClaims,
} from './types.js';
export type { KeylessPolicy, KeylessResult } from './keyless.js';

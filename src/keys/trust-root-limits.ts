/** Limits and media types of the trust root format (docs/trust.md), shared with its schemas. */

export const TRUST_ROOT_PAYLOAD_TYPE = 'application/vnd.cairn.trust-root.v1+json';
export const TRUST_ROOT_CHECKPOINT_MEDIA_TYPE =
  'application/vnd.cairn.trust-root-checkpoint.v1+json';

export const MAX_DEPTH = 16;
export const MAX_SIGNERS = 10_000;
export const MAX_ROOT_KEYS = 64;
export const MAX_SIGNATURES = 64;
export const MAX_PATTERNS = 256;
export const MAX_CA_ROOTS = 16;

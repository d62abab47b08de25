import { InfraError } from '../errors/index.js';

export interface KeylessPolicy {
  readonly identity: string;
  readonly issuer: string;
}

export interface KeylessResult {
  /** The exact DSSE payload bytes the verified signature covers. */
  readonly payload: Buffer;
  readonly payloadType: string;
  readonly identity: string;
  readonly issuer: string;
  readonly certificateFingerprint: string;
  readonly integratedTime?: string;
  readonly logIndex?: string;
}

/**
 * Verifies a keyless (Fulcio certificate + Rekor entry) Sigstore bundle offline against a trusted
 * root: certificate chain at the signing time, log inclusion, and exact identity. (Placeholder.)
 */
export function verifyKeylessBundle(
  bundleJson: unknown,
  policy: KeylessPolicy,
  trustedRoot: unknown,
): KeylessResult {
  void bundleJson;
  void policy;
  void trustedRoot;
  throw new InfraError('TRUST_ROOT_UNAVAILABLE', 'Keyless verification is not implemented yet');
}

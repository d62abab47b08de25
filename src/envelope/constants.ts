/** Sigstore bundle media types. Only v0.3 is written and verified for key/certificate bundles. */
export const BUNDLE_MEDIA_TYPE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
/** The other spellings Sigstore clients accept when reading (sigstore-python `Bundle.BundleType`). */
export const BUNDLE_MEDIA_TYPE_V03_ALT = 'application/vnd.dev.sigstore.bundle+json;version=0.3';
export const BUNDLE_MEDIA_TYPE_V02 = 'application/vnd.dev.sigstore.bundle+json;version=0.2';
export const BUNDLE_MEDIA_TYPE_V01 = 'application/vnd.dev.sigstore.bundle+json;version=0.1';

export const BUNDLE_MEDIA_TYPES = [
  BUNDLE_MEDIA_TYPE_V03,
  BUNDLE_MEDIA_TYPE_V03_ALT,
  BUNDLE_MEDIA_TYPE_V02,
  BUNDLE_MEDIA_TYPE_V01,
] as const;
export type BundleMediaType = (typeof BUNDLE_MEDIA_TYPES)[number];

export function isBundleMediaType(value: string): value is BundleMediaType {
  return (BUNDLE_MEDIA_TYPES as readonly string[]).includes(value);
}

/** DSSE payload type of every OMS signature and Cairn attestation. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** in-toto Statement v1 `_type`. */
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
/** OMS v1.0 signature predicate. */
export const OMS_PREDICATE_TYPE = 'https://model_signing/signature/v1.0';
/** Predicate written by `model_signing` v0.2 (per-file subjects, no root digest). Read only. */
export const OMS_PREDICATE_TYPE_COMPAT = 'https://model_signing/Digests/v0.1';

/** Limits applied to untrusted JSON before it is parsed (STYLE.md §3). */
export const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;
export const MAX_JSON_DEPTH = 64;
/** Certificates accepted in one `x509CertificateChain` (leaf + intermediates). */
export const MAX_CHAIN_CERTIFICATES = 10;
/** Transparency-log entries accepted in one bundle. */
export const MAX_TLOG_ENTRIES = 64;
/** DSSE signatures accepted in one envelope. */
export const MAX_DSSE_SIGNATURES = 16;
/** Subjects accepted in one in-toto statement (OMS needs one; v0.1 lists one per file). */
export const MAX_STATEMENT_SUBJECTS = 100_000;

import type { KeyObject, X509Certificate } from 'node:crypto';
import type { ArtifactDigest } from '../digest/index.js';
import type { InTotoStatement } from '../envelope/index.js';
import type { KeyType } from '../keys/index.js';
import type { Manifest, PackedManifest } from '../manifest/index.js';

/** What the verifier is told to trust. */
export type VerificationTrust =
  | { readonly kind: 'key'; readonly publicKey: KeyObject }
  | { readonly kind: 'certificate'; readonly trustedRoots: readonly X509Certificate[] }
  | {
      readonly kind: 'keyless';
      /** Exact SAN (email or URI) of the signer; matched exactly, never as a pattern. */
      readonly identity: string;
      /** Exact OIDC issuer URL. */
      readonly issuer: string;
      /** A Sigstore TrustedRoot (JSON, protobuf-specs shape), e.g. the embedded public-good one. */
      readonly trustedRoot: unknown;
    };

export type SignerFacts =
  | {
      readonly kind: 'key';
      readonly keyType: KeyType;
      /** hex SHA-256 of the SPKI PEM text (OMS `publicKey.hint`). */
      readonly hint: string;
    }
  | {
      readonly kind: 'certificate';
      readonly keyType: KeyType;
      readonly subject: string;
      readonly issuer: string;
      readonly serialNumber: string;
      /** SHA-256 fingerprints, leaf first, ending at the trusted root that anchored it. */
      readonly chainFingerprints: readonly string[];
    }
  | {
      readonly kind: 'keyless';
      readonly identity: string;
      readonly issuer: string;
      readonly certificateFingerprint: string;
      /** RFC 3339 time the log integrated the entry, when the bundle has one. */
      readonly integratedTime?: string;
      readonly logIndex?: string;
    };

/** The facts a verified OMS signature establishes. Nothing here is trusted unless verified. */
export interface VerifiedSignature {
  readonly signer: SignerFacts;
  /** The artifact digest the signature vouches for (subject digest, checked against resources). */
  readonly digest: ArtifactDigest;
  readonly subjectName: string;
  readonly predicateType: string;
  /** The signed manifest in listed order, with names validated. */
  readonly manifest: Manifest;
  /** Non-fatal notes (legacy formats, compatibility paths taken). */
  readonly warnings: readonly string[];
}

/** `VerifiedSignature` with the manifest packed (see `PackedManifest`). */
export interface PackedVerifiedSignature extends Omit<VerifiedSignature, 'manifest'> {
  readonly manifest: PackedManifest;
}

/** What a bundle claims, read without verifying anything. */
export interface BundleClaims {
  readonly verified: false;
  readonly mediaType: string;
  readonly payloadType: string;
  readonly predicateType: string | undefined;
  readonly subjectName: string | undefined;
  readonly subjectDigest: string | undefined;
  readonly serialization: unknown;
  readonly resourceCount: number | undefined;
  readonly signer:
    | { readonly kind: 'key'; readonly hint: string | undefined }
    | {
        readonly kind: 'certificate' | 'keyless';
        readonly subject: string;
        readonly issuer: string;
        readonly subjectAlternativeName: string | undefined;
      };
}

/** A verified DSSE envelope around an in-toto statement whose predicate is not yet interpreted. */
export interface VerifiedStatement {
  readonly signer: SignerFacts;
  readonly statement: InTotoStatement;
  readonly warnings: readonly string[];
}

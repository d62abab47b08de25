import type { ArtifactDigest } from '../digest/index.js';
import type { SignerFacts } from '../verify/index.js';
import type { PolicyAction } from './api-version.js';

/**
 * What the gate's caller verified, handed to the engine as data (DESIGN.md §3: policy does no
 * I/O). Nothing here is checked again except for size; whoever builds these facts vouches that
 * every signature and attestation in them was cryptographically verified.
 */
export interface ArtifactFacts {
  /** The artifact's identity (OMS root digest). */
  readonly digest: ArtifactDigest;
  /** `team/model`. */
  readonly repository: string;
  /** The environment the gate guards, e.g. `staging`, `production`. */
  readonly environment: string;
  /** How the caller named the artifact: by digest, or through a mutable tag. */
  readonly reference: ReferenceFacts;
  /** Who asks to do what; `verify` needs no identity. */
  readonly request: RequestFacts;
  /** Verified OMS signatures. A `VerifiedSignature` from `verify` fits as it is. */
  readonly signatures: readonly SignatureFacts[];
  /** Verified attestations (in-toto statements in bundles) about this or other digests. */
  readonly attestations: readonly AttestationFacts[];
  /** Whether a derived artifact's chain back to its signed parent is unbroken. */
  readonly transformation: TransformationFacts;
}

export type ReferenceFacts =
  { readonly kind: 'digest' } | { readonly kind: 'tag'; readonly tag: string };

export interface RequestFacts {
  readonly action: PolicyAction;
  /** The authenticated caller (OIDC subject and issuer), when there is one. */
  readonly identity?: RequesterIdentity;
}

export interface RequesterIdentity {
  readonly subject: string;
  readonly issuer?: string;
}

export interface SignatureFacts {
  readonly signer: SignerFacts;
  /** The digest the signature vouches for; signatures over other digests are ignored. */
  readonly digest: ArtifactDigest;
  /**
   * The trust-root signer name the verified key or identity belongs to, when a trust root was
   * used. Signers are counted distinct by this name when present (one person, several keys).
   */
  readonly trustRootSigner?: string;
  /**
   * With `trustRootSigner`: the first signer id of its rotation line, when the key was rotated
   * from another entry. A rotated key and its successor count as one signer, and a policy naming
   * either id matches it.
   */
  readonly trustRootPrincipal?: string;
}

/** A JSON value, as a predicate carries it. */
export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export interface AttestationFacts {
  readonly predicateType: string;
  /** The subject digest the statement was verified against. */
  readonly digest: ArtifactDigest;
  readonly signer: SignerFacts;
  readonly trustRootSigner?: string;
  readonly trustRootPrincipal?: string;
  readonly predicate: JsonValue;
  /**
   * When the attestation was made, from verified evidence: the transparency-log integration time,
   * or the time its trusted signer signed into the predicate (`factsFromEvidence`). Absent when
   * nothing verified dates it: such an attestation never meets a maximum age.
   */
  readonly issuedAt?: Date;
}

/**
 * Transformation continuity (lineage): `original` — not derived from another artifact;
 * `continuous` — every step from a signed parent is attested and verified; `broken` — a step is
 * missing or does not verify; `unknown` — nobody established it (treated as not continuous).
 */
export type TransformationFacts =
  | { readonly status: 'original' }
  | { readonly status: 'continuous'; readonly parent: ArtifactDigest; readonly steps: number }
  | { readonly status: 'broken'; readonly parent?: ArtifactDigest; readonly reason: string }
  | { readonly status: 'unknown' };

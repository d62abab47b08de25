import type { ArtifactDigest } from '../digest/index.js';
import type { AccessAction } from './api-version.js';
import type { CompiledCondition } from './cel.js';
import type { Pattern } from './glob.js';

/**
 * Validated policy documents, as the engine reads them. Built only by `policyDocumentsFromYAML`
 * / `policyDocumentFromJSON` (STYLE.md §3): never construct these from unchecked input.
 */

/** Where a document came from, for messages: `policies/prod.yaml#2`. */
export type DocumentSource = string;

/** An exact string, or an anchored glob when the author asked for a pattern. */
export type NameMatcher =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'pattern'; readonly pattern: Pattern };

/** Who a signer may be. Every field is compared exactly unless it is a pattern. */
export type SignerMatcher =
  | { readonly kind: 'key'; readonly hint: string }
  | {
      readonly kind: 'certificate';
      readonly fingerprint?: string;
      readonly subject?: string;
      readonly root?: string;
    }
  | { readonly kind: 'keyless'; readonly issuer: string; readonly identity: NameMatcher }
  | { readonly kind: 'trust-root'; readonly name: string };

/** An authenticated caller a policy names (access lists, break-glass requesters). */
export interface IdentityMatcher {
  readonly identity: NameMatcher;
  /** Exact OIDC issuer, when the policy pins one. */
  readonly issuer?: string;
}

export type SignatureRule =
  | { readonly kind: 'anyOf' }
  | { readonly kind: 'allOf' }
  | { readonly kind: 'threshold'; readonly count: number };

export type Requirement =
  | { readonly kind: 'digest'; readonly id: 'digest' }
  | {
      readonly kind: 'signatures';
      readonly id: string;
      readonly name: string;
      readonly rule: SignatureRule;
      readonly signers: readonly SignerMatcher[];
    }
  | {
      readonly kind: 'attestation';
      readonly id: string;
      readonly name: string;
      readonly predicateType: string;
      readonly signers: readonly SignerMatcher[];
      readonly condition?: CompiledCondition;
      readonly maxAgeSeconds?: number;
    }
  | { readonly kind: 'transformation'; readonly id: 'transformation' }
  | {
      readonly kind: 'access';
      readonly id: `access:${AccessAction}`;
      readonly action: AccessAction;
      readonly identities: readonly IdentityMatcher[];
    };

export type RequirementKind = Requirement['kind'];

export interface BreakGlassSettings {
  readonly enabled: boolean;
  /** The role a grant must carry. */
  readonly role: string;
  /** Cap on a grant's lifetime under this policy. */
  readonly maxTtlSeconds: number;
  /** Who may hold the role under this policy; any holder when absent. */
  readonly requesters?: readonly IdentityMatcher[];
}

export interface ModelPolicy {
  readonly kind: 'ModelPolicy';
  readonly name: string;
  readonly source: DocumentSource;
  readonly description?: string;
  readonly repositories: readonly NameMatcher[];
  readonly environments: readonly NameMatcher[];
  readonly mode: 'audit' | 'enforce';
  /** With mode enforce: audit before this instant, enforce from it. */
  readonly enforceFrom?: Date;
  readonly requirements: readonly Requirement[];
  readonly breakGlass: BreakGlassSettings;
}

/** Repository / environment / digest scope of an exception or a break-glass grant. */
export interface Scope {
  readonly repositories: readonly NameMatcher[];
  readonly environments: readonly NameMatcher[];
  /** Only these artifacts, when present. */
  readonly digests?: readonly ArtifactDigest[];
}

export interface PolicyException {
  readonly kind: 'PolicyException';
  readonly name: string;
  readonly source: DocumentSource;
  readonly policy: string;
  readonly requirements: readonly string[];
  readonly scope: Scope;
  readonly owner: string;
  readonly justification: string;
  readonly ticket: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

export interface BreakGlassGrant {
  readonly kind: 'BreakGlassGrant';
  readonly name: string;
  readonly source: DocumentSource;
  readonly incident: string;
  readonly requestedBy: { readonly subject: string; readonly issuer?: string };
  readonly role: string;
  readonly scope: Scope;
  readonly reason: string;
  readonly grantedAt: Date;
  readonly expiresAt: Date;
}

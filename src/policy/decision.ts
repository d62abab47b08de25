import type { PolicyAction } from './api-version.js';
import type { RequirementKind } from './model.js';

/**
 * What `evaluate` returns: a verdict, every requirement's outcome, one sentence for the on-call
 * engineer and what to do. Instants are RFC 3339 strings so decisions log and serialise as-is.
 */
export type DecisionOutcome = 'allow' | 'allow-with-violations' | 'allow-by-break-glass' | 'deny';

export type RequirementStatus = 'satisfied' | 'violated' | 'waived' | 'not-applicable';

/** Machine-readable reason for a requirement's outcome. Stable: callers may switch on it. */
export type OutcomeCode =
  | 'SATISFIED'
  | 'NOT_APPLICABLE'
  | 'NO_POLICY'
  | 'REFERENCE_NOT_PINNED'
  | 'SIGNATURES_MISSING'
  | 'SIGNATURES_INSUFFICIENT'
  | 'ATTESTATION_MISSING'
  | 'ATTESTATION_SIGNER_NOT_ALLOWED'
  | 'ATTESTATION_TOO_OLD'
  | 'ATTESTATION_UNDATED'
  | 'ATTESTATION_FROM_FUTURE'
  | 'ATTESTATION_PREDICATE_INVALID'
  | 'CONDITION_FALSE'
  | 'CONDITION_ERROR'
  | 'CONDITION_LIMIT'
  | 'TRANSFORMATION_BROKEN'
  | 'TRANSFORMATION_UNKNOWN'
  | 'IDENTITY_MISSING'
  | 'IDENTITY_NOT_ALLOWED';

export interface RequirementOutcome {
  readonly policy: string;
  /** `digest`, `signatures:<name>`, `attestation:<name>`, `transformation`, `access:<action>`. */
  readonly requirement: string;
  readonly kind: RequirementKind | 'coverage';
  readonly status: RequirementStatus;
  /** Whether a violation of it denies now (the policy's effective mode is enforce). */
  readonly enforced: boolean;
  readonly code: OutcomeCode;
  readonly reason: string;
  readonly remediation?: string;
  /** The exception that waived it. */
  readonly waivedBy?: string;
  readonly evidence?: Readonly<Record<string, unknown>>;
}

export interface PolicyOutcome {
  readonly name: string;
  readonly source: string;
  /** The mode in force at the evaluation time. */
  readonly mode: 'audit' | 'enforce';
  readonly configuredMode: 'audit' | 'enforce';
  readonly enforceFrom?: string;
  readonly requirements: readonly RequirementOutcome[];
}

/** An exception in scope of this decision, with its age (for the exception half-life metric). */
export interface ExceptionUse {
  readonly name: string;
  readonly policy: string;
  readonly requirements: readonly string[];
  readonly owner: string;
  readonly ticket: string;
  readonly justification: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly ageSeconds: number;
  /** `applied`: it waived a violation; `unused`: nothing to waive; else why it did not apply. */
  readonly state: 'applied' | 'unused' | 'expired' | 'not-yet-valid';
}

export interface BreakGlassUse {
  readonly grant: string;
  readonly incident: string;
  readonly requestedBy: string;
  readonly role: string;
  readonly grantedAt: string;
  /** The grant's expiry after the policy's cap. */
  readonly expiresAt: string;
  /** The policies whose denial it let through. */
  readonly policies: readonly string[];
}

export interface Decision {
  readonly outcome: DecisionOutcome;
  readonly allowed: boolean;
  /** True for break-glass decisions: the incident needs post-incident review. */
  readonly reviewRequired: boolean;
  /** One sentence for a tired on-call engineer. */
  readonly reason: string;
  /** What to do about it. */
  readonly remediation: string;
  readonly artifact: {
    readonly digest: string;
    readonly repository: string;
    readonly environment: string;
    readonly reference: string;
    readonly action: PolicyAction;
    readonly identity?: string;
  };
  readonly evaluatedAt: string;
  readonly policies: readonly PolicyOutcome[];
  /** Violated requirements that were not waived, enforced first. */
  readonly violations: readonly RequirementOutcome[];
  readonly exceptions: readonly ExceptionUse[];
  readonly breakGlass: readonly BreakGlassUse[];
  /** Things worth knowing that did not change the outcome (expired grants, ignored signatures). */
  readonly notes: readonly string[];
}

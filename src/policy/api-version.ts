/**
 * The one place the policy document format is versioned (STYLE.md §11). A new, incompatible
 * shape gets a new apiVersion here; readers refuse versions they do not know.
 */
export const POLICY_API_VERSION = 'cairn.dev/v1alpha1';

/** Every document kind a policy directory may hold. */
export const POLICY_KINDS = [
  'ModelPolicy',
  'PolicyException',
  'BreakGlassGrant',
  'PolicyTest',
] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

/** Actions a gate asks about. `verify` is a plain check with no requesting identity needed. */
export const POLICY_ACTIONS = ['verify', 'promote', 'deploy', 'retrieve'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/** Actions whose callers a policy can restrict (`spec.access`). */
export const ACCESS_ACTIONS = ['promote', 'deploy', 'retrieve'] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];

import { compilePattern, matchPattern } from '../../policy/index.js';
import { DEFAULT_ENVIRONMENTS, type EnvironmentConfig } from '../../registry/index.js';
import type { Actor, Role, RoleBinding } from '../../store/index.js';

/**
 * Authorization as a pure function (STYLE.md §6): the caller's role bindings in, a decision
 * with a code and a reason out. No I/O, no clock. Identities match exactly (issuer and subject
 * equal, never a pattern); repositories match the binding's anchored glob (`*` one path
 * segment, `**` any number, src/policy's matcher); environments match by name or `*`.
 */

export type AccessAction =
  'read' | 'push' | 'sign' | 'promote' | 'deploy' | 'retrieve' | 'admin' | 'break-glass';

export interface AccessQuery {
  readonly action: AccessAction;
  /** Omitted for server-wide actions (the audit trail): then only a `**` binding counts. */
  readonly repository?: string;
  /** Omitted for actions not tied to an environment (blob uploads, repository metadata). */
  readonly environment?: string;
}

export type AccessDenialReason =
  /** No binding of the identity grants a role that allows the action here. */
  | 'no-role'
  /** Push to a promotion-only environment: refused for everyone, admin included. */
  | 'promotion-only'
  /** The environment is not configured (fail closed). */
  | 'environment-unknown';

export type AccessDecision =
  | {
      readonly allowed: true;
      readonly action: AccessAction;
      /** The binding that allowed it (for the audit trail). */
      readonly binding: RoleBinding;
    }
  | {
      readonly allowed: false;
      readonly action: AccessAction;
      readonly code: 'ACCESS_DENIED' | 'PUSH_TO_PROTECTED_ENVIRONMENT';
      readonly reason: AccessDenialReason;
      /** Roles any one of which (bound for this repository and environment) would allow it. */
      readonly roles: readonly Role[];
    };

const READ_ROLES: readonly Role[] = ['reader', 'pusher', 'signer', 'promoter', 'deployer', 'admin'];

/**
 * Which roles allow an action in an environment. `admin` allows everything except
 * break-glass (break-glass is a separate, deliberate grant) and a push where pushes are
 * impossible. Retrieval from a protected environment needs `deployer` (a workload identity).
 */
export function rolesForAction(
  action: AccessAction,
  environment: EnvironmentConfig | undefined,
): readonly Role[] {
  switch (action) {
    case 'read':
      return READ_ROLES;
    case 'push':
      return ['pusher', 'admin'];
    case 'sign':
      return ['signer', 'admin'];
    case 'promote':
      return ['promoter', 'admin'];
    case 'deploy':
      return ['deployer', 'admin'];
    case 'retrieve':
      return environment?.protected === true ? ['deployer', 'admin'] : READ_ROLES;
    case 'admin':
      return ['admin'];
    case 'break-glass':
      return ['break-glass'];
  }
}

function sameIdentity(a: Actor, b: Actor): boolean {
  return a.issuer === b.issuer && a.subject === b.subject;
}

function repositoryMatches(pattern: string, repository: string | undefined): boolean {
  if (repository === undefined) return pattern === '**';
  return matchPattern(compilePattern(pattern), repository);
}

function environmentMatches(bound: string, environment: string | undefined): boolean {
  return environment === undefined || bound === '*' || bound === environment;
}

/** Decides whether `identity`, holding `bindings`, may do `query`. */
export function authorize(
  identity: Actor,
  bindings: readonly RoleBinding[],
  query: AccessQuery,
  environments: readonly EnvironmentConfig[] = DEFAULT_ENVIRONMENTS,
): AccessDecision {
  const { action } = query;
  const environment =
    query.environment === undefined
      ? undefined
      : environments.find((e) => e.name === query.environment);
  const roles = rolesForAction(action, environment);
  if (query.environment !== undefined && environment === undefined) {
    return { allowed: false, action, code: 'ACCESS_DENIED', reason: 'environment-unknown', roles };
  }
  if (action === 'push' && environment?.promotionOnly === true) {
    return {
      allowed: false,
      action,
      code: 'PUSH_TO_PROTECTED_ENVIRONMENT',
      reason: 'promotion-only',
      roles: [],
    };
  }
  const binding = bindings.find(
    (b) =>
      sameIdentity(b.subject, identity) &&
      roles.includes(b.role) &&
      environmentMatches(b.environment, query.environment) &&
      repositoryMatches(b.repository, query.repository),
  );
  return binding === undefined
    ? { allowed: false, action, code: 'ACCESS_DENIED', reason: 'no-role', roles }
    : { allowed: true, action, binding };
}

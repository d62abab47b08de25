export { POLICY_API_VERSION, POLICY_KINDS, POLICY_ACTIONS, ACCESS_ACTIONS } from './api-version.js';
export { POLICY_LIMITS, CEL_LIMITS, FACT_LIMITS } from './limits.js';
export { evaluate, effectiveMode, exceptionAgeSeconds } from './evaluate.js';
export { compileCondition, runCondition, CONDITION_VARIABLES } from './cel.js';
export { parsePolicyDocument, parseFacts } from './schema.js';
export { parsePolicyFile, assemblePolicySet, loadPolicySet } from './set.js';
export { factsFromJSON, factsFromBytes } from './facts-input.js';
export { factsFromEvidence, trustRootNames } from './facts-builder.js';
export { runPolicyTests } from './testing.js';
export { preparePredicate } from './predicate.js';
export { describeIssue } from './issues.js';
export { compilePattern, matchPattern } from './glob.js';
export { parseInstant, parseDuration, formatInstant, formatDuration } from './time.js';

export type { PolicyKind, PolicyAction, AccessAction } from './api-version.js';
export type {
  ArtifactFacts,
  AttestationFacts,
  JsonValue,
  ReferenceFacts,
  RequestFacts,
  RequesterIdentity,
  SignatureFacts,
  TransformationFacts,
} from './facts.js';
export type {
  BreakGlassGrant,
  BreakGlassSettings,
  IdentityMatcher,
  ModelPolicy,
  NameMatcher,
  PolicyException,
  Requirement,
  RequirementKind,
  Scope,
  SignatureRule,
  SignerMatcher,
} from './model.js';
export type {
  BreakGlassUse,
  Decision,
  DecisionOutcome,
  ExceptionUse,
  OutcomeCode,
  PolicyOutcome,
  RequirementOutcome,
  RequirementStatus,
} from './decision.js';
export type {
  CompiledCondition,
  ConditionInput,
  ConditionProblem,
  ConditionResult,
} from './cel.js';
export type { GateContext, VerifiedEvidence } from './facts-builder.js';
export type { PolicyDocument, PolicyTestCase } from './schema.js';
export type { PolicySet, PolicySourceText } from './set.js';
export type { PolicyTestResult } from './testing.js';
export type { PolicyIssue } from './issues.js';
export type { Pattern } from './glob.js';
export type { PredicateShape, PreparedPredicate } from './predicate.js';

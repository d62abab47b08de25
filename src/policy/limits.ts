/**
 * Limits that keep a hostile policy or hostile facts from hanging or exhausting a gate.
 * Policies are data that many people can edit; a gate must answer in milliseconds whatever they
 * write. Every limit here is documented in docs/policy.md ("Limits").
 */
export const POLICY_LIMITS = {
  /** One policy file (YAML or JSON), checked before parsing. */
  maxFileBytes: 256 * 1024,
  /** Documents (`---`-separated) in one file. */
  maxDocumentsPerFile: 100,
  /** YAML flow nesting (`[` / `{`) and block nesting (indentation + indicators on one line). */
  maxFlowDepth: 64,
  maxBlockDepth: 128,
  /** YAML aliases per document (billion-laughs guard; the yaml default is 100). */
  maxAliases: 50,
  /** Names: policies, requirements, exceptions, grants, tests. */
  maxNameLength: 63,
  /** Free-text strings (justification, reason, description). */
  maxTextLength: 4096,
  /** Identities, issuers, predicate types, repository patterns, subjects. */
  maxIdentifierLength: 1024,
  /** List sizes in a policy document. */
  maxListItems: 256,
  /** Wildcards in one glob pattern. */
  maxPatternWildcards: 16,
  /** Exceptions expire within this many days of their creation. */
  maxExceptionDays: 365,
  /** Break-glass grants: hours, not days. A policy may lower the cap, never raise it. */
  maxBreakGlassHours: 24,
  defaultBreakGlassHours: 4,
} as const;

/** Limits on CEL conditions, checked when a policy is loaded (before any evaluation). */
export const CEL_LIMITS = {
  /** Characters in one condition. Also bounds string literals. */
  maxExpressionLength: 4096,
  /** Passed to the CEL library's parser. */
  maxAstNodes: 1000,
  maxDepth: 32,
  maxListElements: 256,
  maxMapEntries: 256,
  maxCallArguments: 16,
  /**
   * Estimated iterations over collections that are not metered at run time (literal lists,
   * results of split/map/filter), multiplied through nesting. Collections read from the facts are
   * assumed to hold `assumedInputItems` elements for the estimate and are metered at run time.
   */
  maxEstimatedIterations: 100_000,
  assumedInputItems: 10_000,
  /** `split` of a string can yield one element per character. */
  assumedSplitItems: 64 * 1024,
  /**
   * Run-time budget per evaluation: one unit per value read from the predicate, one per key
   * listed, plus one per 256 characters of every string read.
   */
  readBudget: 100_000,
  stringUnitChars: 256,
  /**
   * A condition `a && b && …` with at most this many parts is evaluated part by part (parts
   * shared between policies run once per decision); each part has the full read budget.
   */
  maxConjuncts: 4,
} as const;

/** Limits on facts (what verification established), checked before any condition runs. */
export const FACT_LIMITS = {
  /** A facts JSON file (`cairn policy eval --facts`). */
  maxFactsFileBytes: 8 * 1024 * 1024,
  maxSignatures: 64,
  maxAttestations: 256,
  /** One predicate: nesting depth, array/object sizes, string length, approximate total size. */
  maxPredicateDepth: 32,
  maxPredicateItems: 10_000,
  maxPredicateStringLength: 1024 * 1024,
  maxPredicateBytes: 1024 * 1024,
} as const;

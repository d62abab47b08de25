import type { AccessAction } from './api-version.js';
import {
  runCondition,
  type CompiledCondition,
  type ConditionInput,
  type ConditionResult,
} from './cel.js';
import type {
  BreakGlassUse,
  Decision,
  ExceptionUse,
  OutcomeCode,
  PolicyOutcome,
  RequirementOutcome,
} from './decision.js';
import type { ArtifactFacts, AttestationFacts, SignatureFacts } from './facts.js';
import type {
  BreakGlassGrant,
  IdentityMatcher,
  ModelPolicy,
  NameMatcher,
  PolicyException,
  Requirement,
  Scope,
  SignerMatcher,
} from './model.js';
import { preparePredicate, type PreparedPredicate } from './predicate.js';
import {
  assignDistinctSigners,
  describeIdentityMatcher,
  describeSigner,
  describeSignerMatcher,
  distinctSignerKey,
  matchIdentity,
  matchName,
  matchSigner,
  type SignerView,
} from './signers.js';
import { formatDuration, formatInstant } from './time.js';

/** Attestations dated this far in the future are still accepted (signer clock skew). */
const CLOCK_SKEW_SECONDS = 300;

/**
 * The one decision engine (issue 5): evaluates verified facts against every policy that covers
 * the artifact's repository and environment, at the instant `now`. Pure: no I/O, no clock, no
 * randomness; the same inputs give the same decision.
 *
 * - Every matching policy applies (their requirements add up); no matching policy is a deny.
 * - A policy's mode at `now`: `audit`, or `enforce` (audit before `enforceFrom`).
 * - A violated requirement is waived by an exception naming it, in scope, with
 *   createdAt ≤ now < expiresAt.
 * - Enforced violations deny, unless every denying policy has a break-glass grant in scope, with
 *   the policy's role (and requester, if listed), and grantedAt ≤ now < min(expiresAt,
 *   grantedAt + the policy's cap): then the decision is allow-by-break-glass, flagged for review.
 * - Audit-mode violations allow with violations.
 */
export function evaluate(
  facts: ArtifactFacts,
  policies: readonly ModelPolicy[],
  exceptions: readonly PolicyException[],
  grants: readonly BreakGlassGrant[],
  now: Date,
): Decision {
  const artifact = artifactSummary(facts);
  const applicable = policies.filter(
    (p) =>
      matchesAny(p.repositories, facts.repository) && matchesAny(p.environments, facts.environment),
  );
  const notes: string[] = [];
  const ignored = facts.signatures.filter((s) => s.digest !== facts.digest).length;
  if (ignored > 0) {
    notes.push(`${plural(ignored, 'signature')} over other digests were ignored`);
  }
  if (applicable.length === 0) return noPolicy(facts, artifact, now, notes);

  const exceptionUses = new Map<PolicyException, ExceptionUse['state']>();
  const ctx = decisionContext(facts, now);
  const policyOutcomes: PolicyOutcome[] = applicable.map((policy) => {
    const mode = effectiveMode(policy, now);
    const inScope = exceptions.filter(
      (e) => e.policy === policy.name && scopeCovers(e.scope, facts),
    );
    for (const e of inScope)
      if (!exceptionUses.has(e)) exceptionUses.set(e, exceptionState(e, now));
    const requirements = policy.requirements.map((req) =>
      applyExceptions(
        checkRequirement(req, policy, facts, now, mode === 'enforce', ctx),
        inScope,
        now,
        exceptionUses,
      ),
    );
    return {
      name: policy.name,
      source: policy.source,
      mode,
      configuredMode: policy.mode,
      ...(policy.enforceFrom === undefined
        ? {}
        : { enforceFrom: formatInstant(policy.enforceFrom) }),
      requirements,
    };
  });

  const enforced: RequirementOutcome[] = [];
  const audited: RequirementOutcome[] = [];
  const waived: RequirementOutcome[] = [];
  let count = 0;
  for (const p of policyOutcomes) {
    for (const r of p.requirements) {
      if (r.status !== 'not-applicable') count++;
      if (r.status === 'waived') waived.push(r);
      else if (r.status === 'violated') (r.enforced ? enforced : audited).push(r);
    }
  }
  const exceptionList = [...exceptionUses].map(([e, state]) => exceptionUse(e, state, now));
  const base = {
    artifact,
    evaluatedAt: formatInstant(now),
    policies: policyOutcomes,
    violations: [...enforced, ...audited],
    exceptions: exceptionList,
  };

  if (enforced.length > 0) {
    const denying = applicable.filter((p) => enforced.some((v) => v.policy === p.name));
    const glass = breakGlassFor(denying, grants, facts, now, notes);
    const first = enforced[0]!;
    const more =
      enforced.length > 1 ? ` (${plural(enforced.length - 1, 'more requirement')} not met)` : '';
    if (glass !== undefined) {
      const g = glass[0]!;
      return {
        ...base,
        outcome: 'allow-by-break-glass',
        allowed: true,
        reviewRequired: true,
        reason: `Allowed by break-glass grant ${g.grant} for incident ${g.incident}, although ${lowerFirst(first.reason).replace(/\.$/, '')}${more}; this needs post-incident review.`,
        remediation: `Fix it before the grant expires at ${g.expiresAt}: ${first.remediation ?? 'see the violations'}`,
        breakGlass: glass,
        notes,
      };
    }
    return {
      ...base,
      outcome: 'deny',
      allowed: false,
      reviewRequired: false,
      reason: `Denied: ${lowerFirst(first.reason)}${more}`,
      remediation: first.remediation ?? 'See the violations.',
      breakGlass: [],
      notes,
    };
  }

  const waiver =
    waived.length === 0
      ? ''
      : `, with ${plural(waived.length, 'requirement')} waived by exception ${[...new Set(waived.map((w) => w.waivedBy))].join(', ')}`;
  if (audited.length > 0) {
    const first = audited[0]!;
    const when = policyOutcomes.find((p) => p.name === first.policy)?.enforceFrom;
    return {
      ...base,
      outcome: 'allow-with-violations',
      allowed: true,
      reviewRequired: false,
      reason: `Allowed in audit mode with ${plural(audited.length, 'violation')}${waiver}: ${first.reason}${when === undefined ? '' : ` Policy ${first.policy} enforces from ${when}.`}`,
      remediation: first.remediation ?? 'See the violations.',
      breakGlass: [],
      notes,
    };
  }
  const nextExpiry = exceptionList
    .filter((e) => e.state === 'applied')
    .map((e) => e.expiresAt)
    .sort()[0];
  return {
    ...base,
    outcome: 'allow',
    allowed: true,
    reviewRequired: false,
    reason: `Allowed: ${artifact.repository}@${shortDigest(artifact.digest)} meets ${count === 0 ? 'policy' : count === 1 ? 'the one requirement of' : `all ${count} requirements of`} ${policyOutcomes.map((p) => p.name).join(', ')}${waiver}.`,
    remediation:
      nextExpiry === undefined
        ? 'Nothing to do.'
        : `Nothing to do now; fix the waived requirements before the exception expires at ${nextExpiry}.`,
    breakGlass: [],
    notes,
  };
}

/** `enforce` from `enforceFrom` on (inclusive), `audit` before it and under mode audit. */
export function effectiveMode(policy: ModelPolicy, now: Date): 'audit' | 'enforce' {
  switch (policy.mode) {
    case 'audit':
      return 'audit';
    case 'enforce':
      return policy.enforceFrom !== undefined && now.getTime() < policy.enforceFrom.getTime()
        ? 'audit'
        : 'enforce';
  }
}

/** Seconds since the exception was created: the input of the exception half-life metric. */
export function exceptionAgeSeconds(exception: PolicyException, now: Date): number {
  return Math.max(0, Math.floor((now.getTime() - exception.createdAt.getTime()) / 1000));
}

// ── coverage ────────────────────────────────────────────────────────────────────────────

function matchesAny(matchers: readonly NameMatcher[], value: string): boolean {
  return matchers.some((m) => matchName(m, value));
}

function scopeCovers(scope: Scope, facts: ArtifactFacts): boolean {
  return (
    matchesAny(scope.repositories, facts.repository) &&
    matchesAny(scope.environments, facts.environment) &&
    (scope.digests === undefined || scope.digests.includes(facts.digest))
  );
}

function noPolicy(
  facts: ArtifactFacts,
  artifact: Decision['artifact'],
  now: Date,
  notes: string[],
): Decision {
  const outcome: RequirementOutcome = {
    policy: '(none)',
    requirement: 'coverage',
    kind: 'coverage',
    status: 'violated',
    enforced: true,
    code: 'NO_POLICY',
    reason: `No policy covers repository ${facts.repository} in environment ${facts.environment}, and Cairn fails closed.`,
    remediation: `Add a ModelPolicy whose spec.match lists ${facts.repository} (or a pattern covering it) and ${facts.environment}.`,
  };
  return {
    outcome: 'deny',
    allowed: false,
    reviewRequired: false,
    reason: `Denied: ${lowerFirst(outcome.reason)}`,
    remediation: outcome.remediation!,
    artifact,
    evaluatedAt: formatInstant(now),
    policies: [],
    violations: [outcome],
    exceptions: [],
    breakGlass: [],
    notes,
  };
}

// ── exceptions ──────────────────────────────────────────────────────────────────────────

function exceptionState(e: PolicyException, now: Date): ExceptionUse['state'] {
  if (now.getTime() < e.createdAt.getTime()) return 'not-yet-valid';
  if (now.getTime() >= e.expiresAt.getTime()) return 'expired';
  return 'unused';
}

function applyExceptions(
  outcome: RequirementOutcome,
  inScope: readonly PolicyException[],
  now: Date,
  uses: Map<PolicyException, ExceptionUse['state']>,
): RequirementOutcome {
  if (outcome.status !== 'violated') return outcome;
  const naming = inScope.filter((e) => e.requirements.includes(outcome.requirement));
  const valid = naming.find((e) => exceptionState(e, now) === 'unused');
  if (valid !== undefined) {
    uses.set(valid, 'applied');
    return {
      ...outcome,
      status: 'waived',
      waivedBy: valid.name,
      reason: `${outcome.reason} Waived by exception ${valid.name} (${valid.ticket}, owner ${valid.owner}) until ${formatInstant(valid.expiresAt)}.`,
    };
  }
  const expired = naming.find((e) => exceptionState(e, now) === 'expired');
  if (expired !== undefined) {
    return {
      ...outcome,
      reason: `${outcome.reason} Exception ${expired.name} expired at ${formatInstant(expired.expiresAt)}.`,
      remediation:
        `${outcome.remediation ?? ''} Or renew exception ${expired.name} (${expired.ticket}) with a new, reviewed PolicyException.`.trim(),
    };
  }
  const early = naming.find((e) => exceptionState(e, now) === 'not-yet-valid');
  if (early !== undefined) {
    return {
      ...outcome,
      reason: `${outcome.reason} Exception ${early.name} applies only from ${formatInstant(early.createdAt)}.`,
    };
  }
  return outcome;
}

function exceptionUse(e: PolicyException, state: ExceptionUse['state'], now: Date): ExceptionUse {
  return {
    name: e.name,
    policy: e.policy,
    requirements: e.requirements,
    owner: e.owner,
    ticket: e.ticket,
    justification: e.justification,
    createdAt: formatInstant(e.createdAt),
    expiresAt: formatInstant(e.expiresAt),
    ageSeconds: exceptionAgeSeconds(e, now),
    state,
  };
}

// ── break-glass ─────────────────────────────────────────────────────────────────────────

/** A grant for every denying policy, or undefined (with notes saying why grants did not apply). */
function breakGlassFor(
  denying: readonly ModelPolicy[],
  grants: readonly BreakGlassGrant[],
  facts: ArtifactFacts,
  now: Date,
  notes: string[],
): BreakGlassUse[] | undefined {
  const inScope = grants.filter((g) => scopeCovers(g.scope, facts));
  if (inScope.length === 0) return undefined;
  const uses: BreakGlassUse[] = [];
  for (const policy of denying) {
    const bg = policy.breakGlass;
    let chosen: { grant: BreakGlassGrant; expiresAt: Date } | undefined;
    for (const g of inScope) {
      const capped = new Date(
        Math.min(g.expiresAt.getTime(), g.grantedAt.getTime() + bg.maxTtlSeconds * 1000),
      );
      const why = !bg.enabled
        ? `policy ${policy.name} does not allow break-glass`
        : g.role !== bg.role
          ? `policy ${policy.name} requires role ${bg.role}, the grant has ${g.role}`
          : bg.requesters !== undefined &&
              !bg.requesters.some((m) => matchIdentity(m, g.requestedBy))
            ? `${g.requestedBy.subject} may not request break-glass under policy ${policy.name}`
            : now.getTime() < g.grantedAt.getTime()
              ? `it starts at ${formatInstant(g.grantedAt)}`
              : now.getTime() >= capped.getTime()
                ? `it expired at ${formatInstant(capped)}${capped.getTime() < g.expiresAt.getTime() ? ` (policy ${policy.name} caps grants at ${formatDuration(bg.maxTtlSeconds)})` : ''}`
                : undefined;
      if (why !== undefined) {
        const note = `Break-glass grant ${g.name} (incident ${g.incident}) did not apply: ${why}.`;
        if (!notes.includes(note)) notes.push(note);
        continue;
      }
      if (chosen === undefined || capped.getTime() > chosen.expiresAt.getTime()) {
        chosen = { grant: g, expiresAt: capped };
      }
    }
    if (chosen === undefined) return undefined;
    const existing = uses.findIndex((u) => u.grant === chosen.grant.name);
    if (existing >= 0) {
      const u = uses[existing]!;
      uses[existing] = { ...u, policies: [...u.policies, policy.name] };
    } else {
      uses.push({
        grant: chosen.grant.name,
        incident: chosen.grant.incident,
        requestedBy: chosen.grant.requestedBy.subject,
        role: chosen.grant.role,
        grantedAt: formatInstant(chosen.grant.grantedAt),
        expiresAt: formatInstant(chosen.expiresAt),
        policies: [policy.name],
      });
    }
  }
  return uses;
}

// ── requirements ────────────────────────────────────────────────────────────────────────

interface Verdict {
  readonly status: 'satisfied' | 'violated' | 'not-applicable';
  readonly code: OutcomeCode;
  readonly reason: string;
  readonly remediation?: string;
  readonly evidence?: Readonly<Record<string, unknown>>;
}

function checkRequirement(
  req: Requirement,
  policy: ModelPolicy,
  facts: ArtifactFacts,
  now: Date,
  enforced: boolean,
  ctx: DecisionContext,
): RequirementOutcome {
  const verdict = verdictFor(req, policy, facts, now, ctx);
  const outcome: Mutable<RequirementOutcome> = {
    policy: policy.name,
    requirement: req.id,
    kind: req.kind,
    status: verdict.status,
    enforced,
    code: verdict.code,
    reason: verdict.reason,
  };
  if (verdict.remediation !== undefined) outcome.remediation = verdict.remediation;
  if (verdict.evidence !== undefined) outcome.evidence = verdict.evidence;
  return outcome;
}

function verdictFor(
  req: Requirement,
  policy: ModelPolicy,
  facts: ArtifactFacts,
  now: Date,
  ctx: DecisionContext,
): Verdict {
  switch (req.kind) {
    case 'digest':
      return facts.reference.kind === 'digest' ? DIGEST_OK : digestVerdict(policy, facts);
    case 'signatures':
      return sharedVerdict(ctx.signatureVerdicts, req.signers, ruleKey(req.rule), () =>
        signaturesVerdict(req, policy, ctx),
      );
    case 'attestation':
      return attestationVerdict(req, policy, facts, now, ctx);
    case 'transformation':
      return (ctx.transformation ??= transformationVerdict(policy, facts)).status === 'violated'
        ? transformationVerdict(policy, facts)
        : ctx.transformation;
    case 'access':
      return sharedVerdict(ctx.accessVerdicts, req.identities, req.action, () =>
        accessVerdict(req.action, req.identities, policy, facts),
      );
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A verdict that does not name the policy (satisfied or not applicable) depends only on the
 * requirement's content and the decision's facts, so policies sharing a matcher list (interned
 * when policies load) and rule share it within one decision. Violations name their policy and
 * requirement and are always built anew.
 */
function sharedVerdict<K extends object>(
  cache: Map<K, Map<string, Verdict>>,
  list: K,
  variant: string,
  build: () => Verdict,
): Verdict {
  let byVariant = cache.get(list);
  const known = byVariant?.get(variant);
  if (known !== undefined) return known;
  const verdict = build();
  if (verdict.status !== 'violated') {
    if (byVariant === undefined) {
      byVariant = new Map();
      cache.set(list, byVariant);
    }
    byVariant.set(variant, verdict);
  }
  return verdict;
}

function ruleKey(rule: Extract<Requirement, { kind: 'signatures' }>['rule']): string {
  switch (rule.kind) {
    case 'anyOf':
    case 'allOf':
      return rule.kind;
    case 'threshold':
      return `threshold:${rule.count}`;
  }
}

// The verdict builders below assign optional fields instead of spreading: they run for every
// requirement of every policy in every decision.
function ok(reason: string, evidence?: Readonly<Record<string, unknown>>): Verdict {
  const v: Mutable<Verdict> = { status: 'satisfied', code: 'SATISFIED', reason };
  if (evidence !== undefined) v.evidence = evidence;
  return v;
}

function violated(
  code: OutcomeCode,
  reason: string,
  remediation: string,
  evidence?: Readonly<Record<string, unknown>>,
): Verdict {
  const v: Mutable<Verdict> = { status: 'violated', code, reason, remediation };
  if (evidence !== undefined) v.evidence = evidence;
  return v;
}

const DIGEST_OK = ok('The model was referenced by digest.');

function digestVerdict(policy: ModelPolicy, facts: ArtifactFacts): Verdict {
  const ref = facts.reference;
  switch (ref.kind) {
    case 'digest':
      return ok('The model was referenced by digest.');
    case 'tag':
      return violated(
        'REFERENCE_NOT_PINNED',
        `${facts.repository} was referenced by the mutable tag "${ref.tag}", but policy ${policy.name} requires a digest reference in ${facts.environment}.`,
        `Reference it by digest: ${facts.repository}@${facts.digest}.`,
        { tag: ref.tag },
      );
  }
}

function signaturesVerdict(
  req: Extract<Requirement, { kind: 'signatures' }>,
  policy: ModelPolicy,
  ctx: DecisionContext,
): Verdict {
  const all = ctx.signers;
  const approved = all.filter((s) => signerAllowed(ctx, req.signers, s.view));
  const names = (list: readonly { view: SignerView }[]) => list.map((s) => describeSigner(s.view));
  const allowed = () => summarise(req.signers.map(describeSignerMatcher));
  const evidence = { distinctSigners: names(all), approvedSigners: names(approved) };
  const subject = ctx.subject;
  const rule = req.rule;
  switch (rule.kind) {
    case 'anyOf':
    case 'threshold': {
      const need = rule.kind === 'anyOf' ? 1 : rule.count;
      if (approved.length >= need) {
        return ok(
          `Signed by ${plural(approved.length, 'approved signer')}: ${summarise(names(approved))}.`,
          evidence,
        );
      }
      if (approved.length === 0) {
        return violated(
          'SIGNATURES_MISSING',
          all.length === 0
            ? `${subject} has no verified signature, but policy ${policy.name} (${req.id}) requires ${need === 1 ? 'one' : need} from ${allowed()}.`
            : `${subject} is signed only by ${summarise(names(all))}, none of whom policy ${policy.name} (${req.id}) approves.`,
          `Have ${need === 1 ? 'one' : need} of these sign it: ${allowed()}.`,
          evidence,
        );
      }
      const unused = req.signers.filter((m) => !approved.some((s) => matchSigner(m, s.view)));
      const candidates =
        unused.length > 0 ? summarise(unused.map(describeSignerMatcher)) : allowed();
      return violated(
        'SIGNATURES_INSUFFICIENT',
        `${subject} has ${approved.length} distinct approved ${approved.length === 1 ? 'signer' : 'signers'} (${summarise(names(approved))}), but policy ${policy.name} (${req.id}) requires ${need}.`,
        `Have ${plural(need - approved.length, 'more distinct signer')} sign it: ${candidates}.`,
        evidence,
      );
    }
    case 'allOf': {
      const { unassigned } = assignDistinctSigners(req.signers, approved);
      if (unassigned.length === 0) {
        return ok(`Signed by every required signer: ${summarise(names(approved))}.`, evidence);
      }
      const missing = summarise(unassigned.map((i) => describeSignerMatcher(req.signers[i]!)));
      return violated(
        approved.length === 0 ? 'SIGNATURES_MISSING' : 'SIGNATURES_INSUFFICIENT',
        `${subject} lacks a signature from ${missing}, which policy ${policy.name} (${req.id}) requires besides the others.`,
        `Have ${missing} sign it (each required signer must be a different identity).`,
        evidence,
      );
    }
  }
}

/** What every requirement of one decision shares, computed once. */
interface DecisionContext {
  readonly subject: string;
  readonly facts: ArtifactFacts;
  readonly now: Date;
  /** Distinct signers of signatures over the artifact's digest. */
  readonly signers: readonly { readonly key: string; readonly view: SignerView }[];
  /** By predicate type: how many there are, and those about this digest, newest first. */
  readonly attestations: ReadonlyMap<
    string,
    { readonly total: number; readonly candidates: readonly Candidate[] }
  >;
  /** Whether a (shared) matcher list allows a signer. */
  readonly allowed: Map<readonly SignerMatcher[], Map<SignerView, boolean>>;
  readonly signatureVerdicts: Map<readonly SignerMatcher[], Map<string, Verdict>>;
  readonly accessVerdicts: Map<readonly IdentityMatcher[], Map<string, Verdict>>;
  transformation?: Verdict;
}

/**
 * An attestation about the artifact's digest, with what requirements read from it: fixed for
 * the decision (the facts and `now` are), so each part is computed once, on first use.
 */
interface Candidate {
  readonly att: AttestationFacts;
  readonly view: SignerView;
  /** `(by key 3f5a…c1, 2025-09-28T00:00:00Z)`, as reasons describe it. */
  label?: string;
  /** ` (3d old)`, ` (undated)` or nothing (dated in the future). */
  age?: string;
  input?: ConditionInput;
  /** Condition (and `&&` part) results on this attestation. */
  readonly results: Map<CompiledCondition, ConditionResult>;
}

function signerAllowed(
  ctx: DecisionContext,
  signers: readonly SignerMatcher[],
  view: SignerView,
): boolean {
  let byView = ctx.allowed.get(signers);
  if (byView === undefined) {
    byView = new Map();
    ctx.allowed.set(signers, byView);
  }
  let allowed = byView.get(view);
  if (allowed === undefined) {
    allowed = signers.some((m) => matchSigner(m, view));
    byView.set(view, allowed);
  }
  return allowed;
}

function candidateLabel(c: Candidate): string {
  return (c.label ??= `(by ${describeSigner({ facts: c.att.signer })}, ${dated(c.att)})`);
}

function candidateAge(c: Candidate, ageSeconds: number | undefined): string {
  return (c.age ??= ageNote(ageSeconds));
}

function conditionInput(
  ctx: DecisionContext,
  c: Candidate,
  predicate: PreparedPredicate & { ok: true },
): ConditionInput {
  const facts = ctx.facts;
  return (c.input ??= {
    predicate: predicate.value,
    shape: predicate.shape,
    predicateType: c.att.predicateType,
    issuedAt: c.att.issuedAt ?? UNDATED,
    signer: signerVariables(c.view),
    artifact: {
      digest: facts.digest,
      repository: facts.repository,
      environment: facts.environment,
    },
    now: ctx.now,
  });
}

function signerView(signed: SignatureFacts | AttestationFacts): SignerView {
  const { trustRootSigner, trustRootPrincipal } = signed;
  if (trustRootSigner === undefined) return { facts: signed.signer };
  return trustRootPrincipal === undefined || trustRootPrincipal === trustRootSigner
    ? { facts: signed.signer, trustRootSigner }
    : { facts: signed.signer, trustRootSigner, trustRootPrincipal };
}

function decisionContext(facts: ArtifactFacts, now: Date): DecisionContext {
  const distinct = new Map<string, SignerView>();
  for (const s of facts.signatures) {
    if (s.digest !== facts.digest) continue;
    const view = signerView(s);
    const key = distinctSignerKey(view);
    if (!distinct.has(key)) distinct.set(key, view);
  }
  const byType = new Map<string, { total: number; candidates: Candidate[] }>();
  for (const att of facts.attestations) {
    let entry = byType.get(att.predicateType);
    if (entry === undefined) {
      entry = { total: 0, candidates: [] };
      byType.set(att.predicateType, entry);
    }
    entry.total++;
    if (att.digest === facts.digest) {
      entry.candidates.push({ att, view: signerView(att), results: new Map() });
    }
  }
  // Newest first, so reasons speak about the most recent attempt.
  for (const entry of byType.values()) {
    entry.candidates.sort((a, b) => issuedTime(b.att) - issuedTime(a.att));
  }
  return {
    subject: `${facts.repository}@${shortDigest(facts.digest)}`,
    facts,
    now,
    signers: [...distinct].map(([key, view]) => ({ key, view })),
    attestations: byType,
    allowed: new Map(),
    signatureVerdicts: new Map(),
    accessVerdicts: new Map(),
  };
}

function memo(c: Candidate, condition: CompiledCondition, input: ConditionInput): ConditionResult {
  let result = c.results.get(condition);
  if (result === undefined) {
    result = runCondition(condition, input);
    c.results.set(condition, result);
  }
  return result;
}

/**
 * A condition's result on one attestation, remembered for the decision: a result depends only on
 * the condition and the attestation (the artifact and `now` are fixed), and policy sets repeat
 * conditions. A condition split into `&&` parts runs part by part (each part remembered, so a
 * part many policies share runs once) and combines them as CEL does: false if any part is false,
 * else the first error or limit, else true.
 */
function conditionResult(
  condition: CompiledCondition,
  c: Candidate,
  input: ConditionInput,
): ConditionResult {
  const parts = condition.conjuncts;
  if (parts === undefined) return memo(c, condition, input);
  let failure: ConditionResult | undefined;
  for (const part of parts) {
    const result = memo(c, part, input);
    if (result.kind === 'false') return result;
    if (result.kind !== 'true') failure ??= result;
  }
  return failure ?? TRUE;
}

const TRUE: ConditionResult = { kind: 'true' };

const NONE = { total: 0, candidates: [] } as const;

type AttestationStage =
  | {
      readonly stage: 0;
      readonly code: 'ATTESTATION_SIGNER_NOT_ALLOWED';
      readonly att: AttestationFacts;
    }
  | {
      readonly stage: 1;
      readonly code: 'ATTESTATION_TOO_OLD' | 'ATTESTATION_FROM_FUTURE' | 'ATTESTATION_UNDATED';
      readonly att: AttestationFacts;
    }
  | {
      readonly stage: 2;
      readonly code:
        'ATTESTATION_PREDICATE_INVALID' | 'CONDITION_FALSE' | 'CONDITION_ERROR' | 'CONDITION_LIMIT';
      readonly att: AttestationFacts;
      readonly detail: string;
    };

/** The furthest stage an attestation reached (reasons speak about the closest miss). */
function further(best: AttestationStage | undefined, s: AttestationStage): AttestationStage {
  return best === undefined || s.stage > best.stage ? s : best;
}

function allowedSigners(signers: readonly SignerMatcher[]): string {
  return summarise(signers.map(describeSignerMatcher));
}

function attestationVerdict(
  req: Extract<Requirement, { kind: 'attestation' }>,
  policy: ModelPolicy,
  facts: ArtifactFacts,
  now: Date,
  ctx: DecisionContext,
): Verdict {
  const subject = ctx.subject;
  const ofType = ctx.attestations.get(req.predicateType) ?? NONE;
  const candidates = ofType.candidates;
  if (candidates.length === 0) {
    const elsewhere =
      ofType.total > 0
        ? ` (${plural(ofType.total, 'attestation')} of that type ${ofType.total === 1 ? 'is' : 'are'} about other digests)`
        : '';
    return violated(
      'ATTESTATION_MISSING',
      `${subject} has no ${req.predicateType} attestation${elsewhere}, but policy ${policy.name} requires one (${req.id}) signed by ${allowedSigners(req.signers)}.`,
      `Produce and attest ${req.name} (${req.predicateType}) for ${facts.digest}, signed by ${allowedSigners(req.signers)}.`,
    );
  }
  let best: AttestationStage | undefined;
  for (const c of candidates) {
    const att = c.att;
    if (!signerAllowed(ctx, req.signers, c.view)) {
      best = further(best, { stage: 0, code: 'ATTESTATION_SIGNER_NOT_ALLOWED', att });
      continue;
    }
    const ageSeconds =
      att.issuedAt === undefined ? undefined : (now.getTime() - att.issuedAt.getTime()) / 1000;
    if (ageSeconds === undefined) {
      if (req.maxAgeSeconds !== undefined) {
        // Fail closed: nothing verified says when it was made, so it cannot be shown fresh.
        best = further(best, { stage: 1, code: 'ATTESTATION_UNDATED', att });
        continue;
      }
    } else if (ageSeconds < -CLOCK_SKEW_SECONDS) {
      best = further(best, { stage: 1, code: 'ATTESTATION_FROM_FUTURE', att });
      continue;
    }
    if (
      req.maxAgeSeconds !== undefined &&
      ageSeconds !== undefined &&
      ageSeconds > req.maxAgeSeconds
    ) {
      best = further(best, { stage: 1, code: 'ATTESTATION_TOO_OLD', att });
      continue;
    }
    if (req.condition === undefined) {
      // describeAttestation, capitalised: "The <name> attestation (by …, …)".
      return ok(
        `The ${req.name} attestation ${candidateLabel(c)} is present${candidateAge(c, ageSeconds)}.`,
      );
    }
    const prepared = preparePredicate(att.predicate);
    if (!prepared.ok) {
      best = further(best, {
        stage: 2,
        code: 'ATTESTATION_PREDICATE_INVALID',
        att,
        detail: prepared.problem,
      });
      continue;
    }
    const result = conditionResult(req.condition, c, conditionInput(ctx, c, prepared));
    switch (result.kind) {
      case 'true':
        return ok(
          `The ${req.name} attestation ${candidateLabel(c)} meets \`${clip(req.condition.source)}\`${candidateAge(c, ageSeconds)}.`,
        );
      case 'false':
        best = further(best, { stage: 2, code: 'CONDITION_FALSE', att, detail: '' });
        break;
      case 'error':
        best = further(best, { stage: 2, code: 'CONDITION_ERROR', att, detail: result.message });
        break;
      case 'limit':
        best = further(best, { stage: 2, code: 'CONDITION_LIMIT', att, detail: result.message });
        break;
    }
  }
  return attestationFailure(best!, req, policy, subject, allowedSigners(req.signers), now);
}

function attestationFailure(
  best: AttestationStage,
  req: Extract<Requirement, { kind: 'attestation' }>,
  policy: ModelPolicy,
  subject: string,
  allowed: string,
  now: Date,
): Verdict {
  const what = `${subject}'s ${req.name} attestation (by ${describeSigner({ facts: best.att.signer })}, ${dated(best.att)})`;
  const evidence = {
    signer: describeSigner({ facts: best.att.signer }),
    issuedAt: dated(best.att),
  };
  const cond = req.condition === undefined ? '' : clip(req.condition.source);
  switch (best.code) {
    case 'ATTESTATION_SIGNER_NOT_ALLOWED':
      return violated(
        best.code,
        `${subject}'s ${req.predicateType} attestation is signed by ${evidence.signer}, whom policy ${policy.name} (${req.id}) does not allow.`,
        `Have ${allowed} produce and sign the ${req.name} attestation.`,
        evidence,
      );
    case 'ATTESTATION_TOO_OLD': {
      const age = formatDuration((now.getTime() - issuedTime(best.att)) / 1000);
      return violated(
        best.code,
        `${subject}'s newest ${req.name} attestation is ${age} old, but policy ${policy.name} (${req.id}) accepts at most ${formatDuration(req.maxAgeSeconds ?? 0)}.`,
        `Run ${req.name} again on ${subject} and attest the fresh result.`,
        evidence,
      );
    }
    case 'ATTESTATION_UNDATED':
      return violated(
        best.code,
        `${subject}'s ${req.name} attestation carries no verified time (no transparency-log entry, no signed finish time), so it cannot be shown to be within the ${formatDuration(req.maxAgeSeconds ?? 0)} that policy ${policy.name} (${req.id}) accepts.`,
        `Attest ${req.name} again with a signed time (keyless signing logs it; provenance and transformation attestations carry finishedOn).`,
        evidence,
      );
    case 'ATTESTATION_FROM_FUTURE':
      return violated(
        best.code,
        `${subject}'s ${req.name} attestation is dated ${evidence.issuedAt}, after the evaluation time ${formatInstant(now)}.`,
        `Check the attesting system's clock and attest again.`,
        evidence,
      );
    case 'ATTESTATION_PREDICATE_INVALID':
      return violated(
        best.code,
        `${what} cannot be evaluated: ${best.detail}.`,
        `Attest ${req.name} with a predicate within Cairn's limits (docs/policy.md, "Limits").`,
        evidence,
      );
    case 'CONDITION_FALSE':
      return violated(
        best.code,
        `${what} does not meet policy ${policy.name}'s condition \`${cond}\` (${req.id}).`,
        `Fix what the condition checks, run ${req.name} again and attest the result; or ask the owner of policy ${policy.name} for an exception to ${req.id}.`,
        evidence,
      );
    case 'CONDITION_ERROR':
      return violated(
        best.code,
        `Policy ${policy.name}'s condition \`${cond}\` could not be evaluated on ${what}: ${best.detail}.`,
        `Check that the predicate has the fields the condition reads (guard optional ones with has()).`,
        evidence,
      );
    case 'CONDITION_LIMIT':
      return violated(
        best.code,
        `Policy ${policy.name}'s condition \`${cond}\` was stopped on ${what}: ${best.detail}.`,
        `Simplify the condition (fewer nested macros over large lists) or reduce the predicate; see docs/policy.md, "Limits".`,
        evidence,
      );
  }
}

function transformationVerdict(policy: ModelPolicy, facts: ArtifactFacts): Verdict {
  const t = facts.transformation;
  switch (t.status) {
    case 'original':
      return ok('The model is not derived from another artifact.');
    case 'continuous':
      return ok(
        `The model derives from ${shortDigest(t.parent)} through ${plural(t.steps, 'verified step')}.`,
      );
    case 'broken':
      return violated(
        'TRANSFORMATION_BROKEN',
        `The transformation chain${t.parent === undefined ? '' : ` from ${shortDigest(t.parent)}`} is broken (${t.reason}), and policy ${policy.name} requires continuity.`,
        'Attest every transformation step (conversion, quantisation, fine-tuning) from the signed parent, or put the derived model through review and sign it as an original.',
      );
    case 'unknown':
      return violated(
        'TRANSFORMATION_UNKNOWN',
        `Nobody established whether the model is original or derived, and policy ${policy.name} requires transformation continuity.`,
        "Evaluate with the model's lineage attestations so its transformation chain can be checked.",
      );
  }
}

function accessVerdict(
  action: AccessAction,
  identities: Extract<Requirement, { kind: 'access' }>['identities'],
  policy: ModelPolicy,
  facts: ArtifactFacts,
): Verdict {
  if (facts.request.action !== action) {
    return {
      status: 'not-applicable',
      code: 'NOT_APPLICABLE',
      reason: `The request is to ${facts.request.action}, not to ${action}.`,
    };
  }
  const allowed = () => summarise(identities.map(describeIdentityMatcher));
  const who = facts.request.identity;
  if (who === undefined) {
    return violated(
      'IDENTITY_MISSING',
      `The ${action} request carries no authenticated identity, but policy ${policy.name} limits who may ${action} in ${facts.environment}.`,
      `Authenticate as one of: ${allowed()}.`,
    );
  }
  const name = who.issuer === undefined ? who.subject : `${who.subject} (${who.issuer})`;
  if (identities.some((m) => matchIdentity(m, who))) {
    return ok(`${name} may ${action} in ${facts.environment}.`);
  }
  return violated(
    'IDENTITY_NOT_ALLOWED',
    `${name} may not ${action} ${facts.repository} in ${facts.environment} under policy ${policy.name}.`,
    `Ask one of these to ${action} it, or ask the owner of policy ${policy.name} to add you: ${allowed()}.`,
  );
}

// ── wording ─────────────────────────────────────────────────────────────────────────────

function artifactSummary(facts: ArtifactFacts): Decision['artifact'] {
  const who = facts.request.identity;
  return {
    digest: facts.digest,
    repository: facts.repository,
    environment: facts.environment,
    reference:
      facts.reference.kind === 'digest'
        ? `${facts.repository}@${facts.digest}`
        : `${facts.repository}:${facts.reference.tag}`,
    action: facts.request.action,
    ...(who === undefined ? {} : { identity: who.subject }),
  };
}

function signerVariables(view: SignerView): Record<string, string> {
  const f = view.facts;
  const common =
    view.trustRootSigner === undefined ? {} : { trustRootSigner: view.trustRootSigner };
  switch (f.kind) {
    case 'key':
      return { ...common, kind: 'key', hint: f.hint };
    case 'certificate':
      return { ...common, kind: 'certificate', subject: f.subject, issuer: f.issuer };
    case 'keyless':
      return { ...common, kind: 'keyless', identity: f.identity, issuer: f.issuer };
  }
}

/** What CEL sees as `issuedAt` for an undated attestation: the epoch, so freshness checks fail. */
const UNDATED = new Date(0);

function issuedTime(att: AttestationFacts): number {
  return att.issuedAt?.getTime() ?? 0;
}

function dated(att: AttestationFacts): string {
  return att.issuedAt === undefined ? 'undated' : formatInstant(att.issuedAt);
}

function ageNote(ageSeconds: number | undefined): string {
  if (ageSeconds === undefined) return ' (undated)';
  return ageSeconds >= 0 ? ` (${formatDuration(ageSeconds)} old)` : '';
}

export function shortDigest(digest: string): string {
  return digest.length > 19 ? `${digest.slice(0, 19)}…` : digest;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function summarise(items: readonly string[]): string {
  if (items.length <= 3) return items.join(', ');
  return `${items.slice(0, 3).join(', ')} and ${items.length - 3} more`;
}

const clipped = new Map<string, string>();

/** A condition on one line, shortened for reasons (cached: conditions repeat). */
function clip(source: string): string {
  let text = clipped.get(source);
  if (text === undefined) {
    const flat = source.replace(/\s+/g, ' ').trim();
    text = flat.length > 120 ? `${flat.slice(0, 117)}...` : flat;
    if (clipped.size >= 4096) clipped.clear();
    clipped.set(source, text);
  }
  return text;
}

function lowerFirst(s: string): string {
  return s.length > 0 && /^[A-Z][a-z]/.test(s) ? `${s[0]!.toLowerCase()}${s.slice(1)}` : s;
}

import { z } from 'zod';
import { isArtifactDigest, type ArtifactDigest } from '../digest/index.js';
import { KEY_TYPES } from '../keys/index.js';
import { ACCESS_ACTIONS, POLICY_ACTIONS, POLICY_API_VERSION, POLICY_KINDS } from './api-version.js';
import { compileCondition } from './cel.js';
import type { ArtifactFacts, AttestationFacts, JsonValue, SignatureFacts } from './facts.js';
import { compilePattern, isPattern, wildcardCount } from './glob.js';
import { formatPath, type PolicyIssue } from './issues.js';
import { FACT_LIMITS, POLICY_LIMITS } from './limits.js';
import type {
  BreakGlassGrant,
  IdentityMatcher,
  ModelPolicy,
  NameMatcher,
  PolicyException,
  Requirement,
  Scope,
  SignatureRule,
  SignerMatcher,
} from './model.js';
import { preparePredicate } from './predicate.js';
import { parseDuration, parseInstant } from './time.js';

/**
 * Schemas for policy documents and facts (STYLE.md §3): strict objects (a misspelt key is an
 * error, never silently ignored), every bad field reported with its path, then narrowed into the
 * model types. Cross-field rules run even when other fields are bad (`when: always`), so one
 * pass lists everything.
 */

const always = { when: () => true };

// ── scalars ─────────────────────────────────────────────────────────────────────────────

const NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;
const name = z
  .string()
  .regex(
    NAME,
    'must be 1–63 lowercase letters, digits, ".", "_" or "-", starting and ending with a letter or digit',
  );
const text = z.string().trim().min(1, 'must not be empty').max(POLICY_LIMITS.maxTextLength);
const identifier = z
  .string()
  .min(1, 'must not be empty')
  .max(POLICY_LIMITS.maxIdentifierLength)
  .refine((s) => !hasControlCharacter(s), 'must not contain control characters');

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
const digest = z
  .string()
  .refine((s): s is ArtifactDigest => isArtifactDigest(s), 'must be sha256:<64 lowercase hex>');

function list<T extends z.ZodType>(item: T) {
  return z.array(item).max(POLICY_LIMITS.maxListItems);
}

const instant = z.string().transform((s, ctx) => {
  const date = parseInstant(s);
  if (date === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be an RFC 3339 timestamp with an offset, e.g. 2025-09-01T00:00:00Z',
    });
    return z.NEVER;
  }
  return date;
});

const duration = z.string().transform((s, ctx) => {
  const seconds = parseDuration(s);
  if (seconds === undefined || seconds === 0) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be a positive duration such as 30d, 4h, 90m or 1d12h',
    });
    return z.NEVER;
  }
  return seconds;
});

/** Repository and environment names: exact unless they contain `*` (then an anchored glob). */
const scopePattern = z
  .string()
  .regex(
    /^[A-Za-z0-9._*-]+(\/[A-Za-z0-9._*-]+)*$/,
    'must be a name like team/model, where * matches within one path segment and ** across segments',
  )
  .max(POLICY_LIMITS.maxIdentifierLength)
  .refine(
    (s) => wildcardCount(s) <= POLICY_LIMITS.maxPatternWildcards,
    `may have at most ${POLICY_LIMITS.maxPatternWildcards} wildcards`,
  )
  .transform((s): NameMatcher => nameMatcher(s));

function nameMatcher(s: string): NameMatcher {
  return isPattern(s)
    ? { kind: 'pattern', pattern: compilePattern(s) }
    : { kind: 'exact', value: s };
}

const identityPattern = identifier
  .refine((s) => isPattern(s), 'is a pattern without a wildcard; use `identity` for an exact match')
  .refine(
    (s) => wildcardCount(s) <= POLICY_LIMITS.maxPatternWildcards,
    `may have at most ${POLICY_LIMITS.maxPatternWildcards} wildcards`,
  );

function exactlyOne(keys: readonly string[], what: string) {
  return (value: unknown, ctx: z.RefinementCtx) => {
    if (value === null || typeof value !== 'object') return;
    const present = keys.filter((k) => (value as Record<string, unknown>)[k] !== undefined);
    if (present.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          present.length === 0
            ? `${what} needs one of ${keys.join(', ')}`
            : `${what} takes only one of ${keys.join(', ')}, got ${present.join(' and ')}`,
      });
    }
  };
}

// ── matchers ────────────────────────────────────────────────────────────────────────────

const signerMatcher = z
  .strictObject({
    key: z.optional(hex64),
    certificate: z.optional(
      z
        .strictObject({
          fingerprint: z.optional(hex64),
          subject: z.optional(identifier),
          root: z.optional(hex64),
        })
        .superRefine((v, ctx) => {
          if (v.fingerprint === undefined && v.subject === undefined) {
            ctx.addIssue({ code: 'custom', message: 'needs fingerprint or subject' });
          }
        }, always),
    ),
    keyless: z.optional(
      z
        .strictObject({
          issuer: identifier,
          identity: z.optional(identifier),
          identityPattern: z.optional(identityPattern),
        })
        .superRefine(exactlyOne(['identity', 'identityPattern'], 'a keyless signer'), always),
    ),
    trustRoot: z.optional(name),
  })
  .superRefine(exactlyOne(['key', 'certificate', 'keyless', 'trustRoot'], 'a signer'), always)
  .transform((v): SignerMatcher => {
    if (v.key !== undefined) return { kind: 'key', hint: v.key };
    if (v.certificate !== undefined) {
      const c = v.certificate;
      return {
        kind: 'certificate',
        ...(c.fingerprint === undefined ? {} : { fingerprint: c.fingerprint }),
        ...(c.subject === undefined ? {} : { subject: c.subject }),
        ...(c.root === undefined ? {} : { root: c.root }),
      };
    }
    if (v.keyless !== undefined) {
      const k = v.keyless;
      return {
        kind: 'keyless',
        issuer: k.issuer,
        identity:
          k.identity !== undefined
            ? { kind: 'exact', value: k.identity }
            : { kind: 'pattern', pattern: compilePattern(k.identityPattern ?? '') },
      };
    }
    return { kind: 'trust-root', name: v.trustRoot ?? '' };
  });

const identityMatcher = z
  .strictObject({
    identity: z.optional(identifier),
    identityPattern: z.optional(identityPattern),
    issuer: z.optional(identifier),
  })
  .superRefine(exactlyOne(['identity', 'identityPattern'], 'an identity'), always)
  .transform((v): IdentityMatcher => ({
    identity:
      v.identity !== undefined
        ? { kind: 'exact', value: v.identity }
        : { kind: 'pattern', pattern: compilePattern(v.identityPattern ?? '') },
    ...(v.issuer === undefined ? {} : { issuer: v.issuer }),
  }));

const signers = list(signerMatcher).min(1, 'must list at least one signer');

/**
 * Matcher lists are immutable values; equal lists written in many policies (an organisation's
 * baseline copied into each) become one object, so a decision can remember what a list matched
 * once for all the policies that share it (`evaluate`). Bounded: cleared when full.
 */
const sharedLists = new Map<string, readonly unknown[]>();
const MAX_SHARED_LISTS = 4096;

function shared<T extends SignerMatcher | IdentityMatcher>(list: readonly T[]): readonly T[] {
  // A pattern is known by its source; its compiled form follows from it.
  const key = JSON.stringify(list, (k, v: unknown) =>
    k === 'items' || k === 'prefix' || k === 'suffix' ? undefined : v,
  );
  const known = sharedLists.get(key);
  if (known !== undefined) return known as readonly T[];
  if (sharedLists.size >= MAX_SHARED_LISTS) sharedLists.clear();
  sharedLists.set(key, list);
  return list;
}

// ── ModelPolicy ─────────────────────────────────────────────────────────────────────────

const condition = z
  .string()
  .max(1024 * 1024)
  .transform((source, ctx) => {
    const compiled = compileCondition(source);
    if (!compiled.ok) {
      ctx.addIssue({
        code: 'custom',
        message: compiled.problem.message,
        params: { cairn: compiled.problem.code },
      });
      return z.NEVER;
    }
    return compiled.condition;
  });

const signatureRule = z
  .strictObject({
    name,
    anyOf: z.optional(signers),
    allOf: z.optional(signers),
    threshold: z.optional(z.int().min(1).max(64)),
    signers: z.optional(signers),
  })
  .superRefine(exactlyOne(['anyOf', 'allOf', 'threshold'], 'a signature rule'), always)
  .superRefine((v, ctx) => {
    if (v === null || typeof v !== 'object') return;
    if (v.threshold !== undefined && v.signers === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['signers'],
        message: 'threshold needs a signers list',
      });
    }
    if (v.threshold === undefined && v.signers !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['signers'],
        message: 'signers goes with threshold; use anyOf or allOf otherwise',
      });
    }
  }, always)
  .transform((v): Extract<Requirement, { kind: 'signatures' }> => {
    const rule: SignatureRule =
      v.anyOf !== undefined
        ? { kind: 'anyOf' }
        : v.allOf !== undefined
          ? { kind: 'allOf' }
          : { kind: 'threshold', count: v.threshold ?? 1 };
    return {
      kind: 'signatures',
      id: `signatures:${v.name}`,
      name: v.name,
      rule,
      signers: shared(v.anyOf ?? v.allOf ?? v.signers ?? []),
    };
  });

const attestationRule = z
  .strictObject({
    name,
    predicateType: identifier,
    signers,
    condition: z.optional(condition),
    maxAge: z.optional(duration),
  })
  .transform((v): Extract<Requirement, { kind: 'attestation' }> => ({
    kind: 'attestation',
    id: `attestation:${v.name}`,
    name: v.name,
    predicateType: v.predicateType,
    signers: shared(v.signers),
    ...(v.condition === undefined ? {} : { condition: v.condition }),
    ...(v.maxAge === undefined ? {} : { maxAgeSeconds: v.maxAge }),
  }));

const metadata = z.strictObject({ name, description: z.optional(text) });

function uniqueNames(items: readonly unknown[] | undefined, field: string, ctx: z.RefinementCtx) {
  const seen = new Set<string>();
  (items ?? []).forEach((item, i) => {
    const n =
      item !== null && typeof item === 'object' ? (item as { name?: unknown }).name : undefined;
    if (typeof n !== 'string') return;
    if (seen.has(n)) {
      ctx.addIssue({ code: 'custom', path: [field, i, 'name'], message: `${n} is used twice` });
    }
    seen.add(n);
  });
}

const policySpec = z
  .strictObject({
    match: z.strictObject({
      repositories: list(scopePattern).min(1, 'must list at least one repository'),
      environments: list(scopePattern).min(1, 'must list at least one environment'),
    }),
    mode: z.enum(['audit', 'enforce']),
    enforceFrom: z.optional(instant),
    requireDigest: z.optional(z.boolean()),
    signatures: z.optional(list(signatureRule)),
    attestations: z.optional(list(attestationRule)),
    transformation: z.optional(z.strictObject({ requireContinuity: z.boolean() })),
    access: z.optional(
      z.strictObject({
        promote: z.optional(list(identityMatcher).min(1)),
        deploy: z.optional(list(identityMatcher).min(1)),
        retrieve: z.optional(list(identityMatcher).min(1)),
      }),
    ),
    breakGlass: z.optional(
      z.strictObject({
        enabled: z.optional(z.boolean()),
        role: z.optional(name),
        maxTTL: z.optional(
          duration.refine(
            (s) => s <= POLICY_LIMITS.maxBreakGlassHours * 3600,
            `must be at most ${POLICY_LIMITS.maxBreakGlassHours}h: break-glass lasts hours, not days`,
          ),
        ),
        requesters: z.optional(list(identityMatcher).min(1)),
      }),
    ),
  })
  .superRefine((v, ctx) => {
    if (v === null || typeof v !== 'object') return;
    const raw = v as unknown as Record<string, unknown>;
    if (raw['mode'] === 'audit' && raw['enforceFrom'] !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['enforceFrom'],
        message:
          'enforceFrom goes with mode: enforce (audit until that instant, enforce from it); with mode: audit the policy never enforces',
      });
    }
    uniqueNames(raw['signatures'] as unknown[] | undefined, 'signatures', ctx);
    uniqueNames(raw['attestations'] as unknown[] | undefined, 'attestations', ctx);
  }, always);

const policyDocument = z.strictObject({
  apiVersion: z.literal(POLICY_API_VERSION),
  kind: z.literal('ModelPolicy'),
  metadata,
  spec: policySpec,
});

function toPolicy(doc: z.output<typeof policyDocument>, source: string): ModelPolicy {
  const s = doc.spec;
  const requirements: Requirement[] = [];
  if (s.requireDigest === true) requirements.push({ kind: 'digest', id: 'digest' });
  requirements.push(...(s.signatures ?? []), ...(s.attestations ?? []));
  if (s.transformation?.requireContinuity === true) {
    requirements.push({ kind: 'transformation', id: 'transformation' });
  }
  for (const action of ACCESS_ACTIONS) {
    const identities = s.access?.[action];
    if (identities !== undefined) {
      requirements.push({
        kind: 'access',
        id: `access:${action}`,
        action,
        identities: shared(identities),
      });
    }
  }
  const bg = s.breakGlass;
  return {
    kind: 'ModelPolicy',
    name: doc.metadata.name,
    source,
    ...(doc.metadata.description === undefined ? {} : { description: doc.metadata.description }),
    repositories: s.match.repositories,
    environments: s.match.environments,
    mode: s.mode,
    ...(s.enforceFrom === undefined ? {} : { enforceFrom: s.enforceFrom }),
    requirements,
    breakGlass: {
      enabled: bg?.enabled ?? true,
      role: bg?.role ?? 'break-glass',
      maxTtlSeconds: bg?.maxTTL ?? POLICY_LIMITS.defaultBreakGlassHours * 3600,
      ...(bg?.requesters === undefined ? {} : { requesters: bg.requesters }),
    },
  };
}

// ── PolicyException and BreakGlassGrant ─────────────────────────────────────────────────

const REQUIREMENT_ID =
  /^(digest|transformation|(signatures|attestation):[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?|access:(promote|deploy|retrieve))$/;

const scope = z
  .strictObject({
    repositories: list(scopePattern).min(1, 'must list at least one repository'),
    environments: list(scopePattern).min(1, 'must list at least one environment'),
    digests: z.optional(list(digest).min(1)),
  })
  .transform((v): Scope => ({
    repositories: v.repositories,
    environments: v.environments,
    ...(v.digests === undefined ? {} : { digests: v.digests }),
  }));

function validWindow(
  from: string,
  to: string,
  maxSeconds: number,
  tooLong: string,
): (v: unknown, ctx: z.RefinementCtx) => void {
  return (v, ctx) => {
    if (v === null || typeof v !== 'object') return;
    const a = (v as Record<string, unknown>)[from];
    const b = (v as Record<string, unknown>)[to];
    if (!(a instanceof Date) || !(b instanceof Date)) return;
    if (b.getTime() <= a.getTime()) {
      ctx.addIssue({ code: 'custom', path: [to], message: `must be after ${from}` });
    } else if (b.getTime() - a.getTime() > maxSeconds * 1000) {
      ctx.addIssue({ code: 'custom', path: [to], message: tooLong });
    }
  };
}

const exceptionDocument = z.strictObject({
  apiVersion: z.literal(POLICY_API_VERSION),
  kind: z.literal('PolicyException'),
  metadata,
  spec: z
    .strictObject({
      policy: name,
      requirements: list(
        z
          .string()
          .regex(
            REQUIREMENT_ID,
            'must be a requirement id: digest, transformation, signatures:<name> or attestation:<name>',
          )
          .refine(
            (s) => !s.startsWith('access:'),
            'access rules cannot be waived by an exception; use a break-glass grant in an emergency',
          ),
      ).min(1, 'must name at least one requirement'),
      scope,
      owner: identifier,
      justification: text,
      ticket: identifier,
      createdAt: instant,
      expiresAt: instant,
    })
    .superRefine(
      validWindow(
        'createdAt',
        'expiresAt',
        POLICY_LIMITS.maxExceptionDays * 86400,
        `must be within ${POLICY_LIMITS.maxExceptionDays} days of createdAt; renew an exception with a new, reviewed document instead`,
      ),
      always,
    ),
});

const grantDocument = z.strictObject({
  apiVersion: z.literal(POLICY_API_VERSION),
  kind: z.literal('BreakGlassGrant'),
  metadata,
  spec: z
    .strictObject({
      incident: identifier,
      requestedBy: z.strictObject({ subject: identifier, issuer: z.optional(identifier) }),
      role: name,
      scope,
      reason: text,
      grantedAt: instant,
      expiresAt: instant,
    })
    .superRefine(
      validWindow(
        'grantedAt',
        'expiresAt',
        POLICY_LIMITS.maxBreakGlassHours * 3600,
        `must be within ${POLICY_LIMITS.maxBreakGlassHours}h of grantedAt: break-glass lasts hours, not days`,
      ),
      always,
    ),
});

function toException(doc: z.output<typeof exceptionDocument>, source: string): PolicyException {
  const s = doc.spec;
  return {
    kind: 'PolicyException',
    name: doc.metadata.name,
    source,
    policy: s.policy,
    requirements: s.requirements,
    scope: s.scope,
    owner: s.owner,
    justification: s.justification,
    ticket: s.ticket,
    createdAt: s.createdAt,
    expiresAt: s.expiresAt,
  };
}

function toGrant(doc: z.output<typeof grantDocument>, source: string): BreakGlassGrant {
  const s = doc.spec;
  return {
    kind: 'BreakGlassGrant',
    name: doc.metadata.name,
    source,
    incident: s.incident,
    requestedBy: {
      subject: s.requestedBy.subject,
      ...(s.requestedBy.issuer === undefined ? {} : { issuer: s.requestedBy.issuer }),
    },
    role: s.role,
    scope: s.scope,
    reason: s.reason,
    grantedAt: s.grantedAt,
    expiresAt: s.expiresAt,
  };
}

// ── facts ───────────────────────────────────────────────────────────────────────────────

const factString = z.string().min(1).max(POLICY_LIMITS.maxIdentifierLength);

const signerFacts = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('key'), keyType: z.enum(KEY_TYPES), hint: hex64 }),
  z.strictObject({
    kind: z.literal('certificate'),
    keyType: z.enum(KEY_TYPES),
    subject: factString,
    issuer: factString,
    serialNumber: factString,
    chainFingerprints: z.array(hex64).min(1).max(16),
  }),
  z.strictObject({
    kind: z.literal('keyless'),
    identity: factString,
    issuer: factString,
    certificateFingerprint: hex64,
    integratedTime: z.optional(factString),
    logIndex: z.optional(factString),
  }),
]);

const signatureFacts = z.strictObject({
  signer: signerFacts,
  digest,
  trustRootSigner: z.optional(factString),
  trustRootPrincipal: z.optional(factString),
});

const attestationFacts = z.strictObject({
  predicateType: factString,
  digest,
  signer: signerFacts,
  trustRootSigner: z.optional(factString),
  trustRootPrincipal: z.optional(factString),
  issuedAt: z.optional(instant),
  predicate: z.unknown().superRefine((v, ctx) => {
    const prepared = preparePredicate(v as JsonValue);
    if (!prepared.ok) ctx.addIssue({ code: 'custom', message: prepared.problem });
  }),
});

const transformationFacts = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('original') }),
  z.strictObject({ status: z.literal('continuous'), parent: digest, steps: z.int().min(1) }),
  z.strictObject({
    status: z.literal('broken'),
    parent: z.optional(digest),
    reason: z.string().min(1).max(POLICY_LIMITS.maxTextLength),
  }),
  z.strictObject({ status: z.literal('unknown') }),
]);

const factsSchema = z.strictObject({
  digest,
  repository: factString,
  environment: factString,
  reference: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('digest') }),
    z.strictObject({ kind: z.literal('tag'), tag: factString }),
  ]),
  request: z.optional(
    z.strictObject({
      action: z.enum(POLICY_ACTIONS),
      identity: z.optional(z.strictObject({ subject: factString, issuer: z.optional(factString) })),
    }),
  ),
  signatures: z.optional(z.array(signatureFacts).max(FACT_LIMITS.maxSignatures)),
  attestations: z.optional(z.array(attestationFacts).max(FACT_LIMITS.maxAttestations)),
  transformation: z.optional(transformationFacts),
});

function trustRootNames(v: {
  readonly trustRootSigner?: string | undefined;
  readonly trustRootPrincipal?: string | undefined;
}): { trustRootSigner?: string; trustRootPrincipal?: string } {
  return {
    ...(v.trustRootSigner === undefined ? {} : { trustRootSigner: v.trustRootSigner }),
    ...(v.trustRootPrincipal === undefined ? {} : { trustRootPrincipal: v.trustRootPrincipal }),
  };
}

function toFacts(v: z.output<typeof factsSchema>): ArtifactFacts {
  const identity = v.request?.identity;
  return {
    digest: v.digest,
    repository: v.repository,
    environment: v.environment,
    reference: v.reference,
    request: {
      action: v.request?.action ?? 'verify',
      ...(identity === undefined
        ? {}
        : {
            identity: {
              subject: identity.subject,
              ...(identity.issuer === undefined ? {} : { issuer: identity.issuer }),
            },
          }),
    },
    signatures: (v.signatures ?? []).map((s): SignatureFacts => ({
      signer: stripUndefined(s.signer),
      digest: s.digest,
      ...trustRootNames(s),
    })),
    attestations: (v.attestations ?? []).map((a): AttestationFacts => ({
      predicateType: a.predicateType,
      digest: a.digest,
      signer: stripUndefined(a.signer),
      ...trustRootNames(a),
      ...(a.issuedAt === undefined ? {} : { issuedAt: a.issuedAt }),
      predicate: a.predicate as JsonValue,
    })),
    transformation:
      v.transformation === undefined ? { status: 'unknown' } : stripUndefined(v.transformation),
  };
}

/** zod writes absent optionals as missing keys already; this narrows the type for exactOptional. */
function stripUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

function zodIssues(
  error: z.ZodError,
  prefix: readonly PropertyKey[],
  source?: string,
): PolicyIssue[] {
  return error.issues.map((i) => {
    const cairn = (i as { params?: { cairn?: unknown } }).params?.cairn;
    return {
      code:
        cairn === 'POLICY_CEL_LIMIT' || cairn === 'POLICY_CEL_INVALID' ? cairn : 'POLICY_INVALID',
      ...(source === undefined ? {} : { source }),
      path: formatPath([...prefix, ...i.path]),
      message: i.message,
    };
  });
}

/** Facts from untrusted JSON: every bad field listed; predicates checked against FACT_LIMITS. */
export function parseFacts(
  value: unknown,
  prefix: readonly PropertyKey[] = [],
  source?: string,
): { readonly facts?: ArtifactFacts; readonly issues: readonly PolicyIssue[] } {
  const parsed = factsSchema.safeParse(value);
  if (!parsed.success) return { issues: zodIssues(parsed.error, prefix, source) };
  return { facts: toFacts(parsed.data), issues: [] };
}

// ── PolicyTest ──────────────────────────────────────────────────────────────────────────

const DECISION_OUTCOMES = [
  'allow',
  'allow-with-violations',
  'allow-by-break-glass',
  'deny',
] as const;
const REQUIREMENT_STATUSES = ['satisfied', 'violated', 'waived', 'not-applicable'] as const;

const testDocument = z.strictObject({
  apiVersion: z.literal(POLICY_API_VERSION),
  kind: z.literal('PolicyTest'),
  metadata,
  spec: z.strictObject({
    now: instant,
    facts: z.unknown(),
    documents: z.optional(z.array(z.unknown()).max(POLICY_LIMITS.maxListItems)),
    expect: z.strictObject({
      outcome: z.enum(DECISION_OUTCOMES),
      requirements: z.optional(
        z.record(
          z
            .string()
            .regex(/^[a-z0-9][a-z0-9._-]*\/[a-z:0-9._-]+$/, 'must be <policy>/<requirement id>'),
          z.enum(REQUIREMENT_STATUSES),
        ),
      ),
      reviewRequired: z.optional(z.boolean()),
    }),
  }),
});

export interface PolicyTestCase {
  readonly kind: 'PolicyTest';
  readonly name: string;
  readonly source: string;
  readonly description?: string;
  readonly now: Date;
  readonly facts: ArtifactFacts;
  /** Exceptions and grants that exist only for this case. */
  readonly exceptions: readonly PolicyException[];
  readonly grants: readonly BreakGlassGrant[];
  readonly expect: {
    readonly outcome: (typeof DECISION_OUTCOMES)[number];
    readonly requirements?: Readonly<Record<string, (typeof REQUIREMENT_STATUSES)[number]>>;
    readonly reviewRequired?: boolean;
  };
}

// ── documents ───────────────────────────────────────────────────────────────────────────

export type PolicyDocument = ModelPolicy | PolicyException | BreakGlassGrant | PolicyTestCase;

/**
 * One policy document from an untrusted value (a parsed YAML or JSON document): the header
 * (apiVersion, kind), then the kind's schema. Returns the document or every issue found.
 */
export function parsePolicyDocument(
  value: unknown,
  source: string,
  prefix: readonly PropertyKey[] = [],
  allowedKinds: readonly string[] = POLICY_KINDS,
): { readonly document?: PolicyDocument; readonly issues: readonly PolicyIssue[] } {
  const at = (path: PropertyKey[], message: string): PolicyIssue => ({
    code: 'POLICY_INVALID',
    source,
    path: formatPath([...prefix, ...path]),
    message,
  });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { issues: [at([], 'must be a mapping with apiVersion, kind, metadata and spec')] };
  }
  const header = value as Record<string, unknown>;
  const issues: PolicyIssue[] = [];
  if (header['apiVersion'] !== POLICY_API_VERSION) {
    issues.push(
      at(
        ['apiVersion'],
        `must be ${POLICY_API_VERSION}${typeof header['apiVersion'] === 'string' ? ` (got ${header['apiVersion']})` : ''}`,
      ),
    );
  }
  const kind = header['kind'];
  if (typeof kind !== 'string' || !allowedKinds.includes(kind)) {
    issues.push(at(['kind'], `must be one of ${allowedKinds.join(', ')}`));
    return { issues };
  }
  switch (kind as (typeof POLICY_KINDS)[number]) {
    case 'ModelPolicy': {
      const r = policyDocument.safeParse(value);
      return r.success
        ? { document: toPolicy(r.data, source), issues }
        : { issues: [...issues, ...zodIssues(r.error, prefix, source)] };
    }
    case 'PolicyException': {
      const r = exceptionDocument.safeParse(value);
      return r.success
        ? { document: toException(r.data, source), issues }
        : { issues: [...issues, ...zodIssues(r.error, prefix, source)] };
    }
    case 'BreakGlassGrant': {
      const r = grantDocument.safeParse(value);
      return r.success
        ? { document: toGrant(r.data, source), issues }
        : { issues: [...issues, ...zodIssues(r.error, prefix, source)] };
    }
    case 'PolicyTest':
      return parseTestDocument(value, source, prefix, issues);
  }
}

function parseTestDocument(
  value: unknown,
  source: string,
  prefix: readonly PropertyKey[],
  headerIssues: readonly PolicyIssue[],
): { readonly document?: PolicyDocument; readonly issues: readonly PolicyIssue[] } {
  const r = testDocument.safeParse(value);
  if (!r.success) return { issues: [...headerIssues, ...zodIssues(r.error, prefix, source)] };
  const issues = [...headerIssues];
  const facts = parseFacts(r.data.spec.facts, [...prefix, 'spec', 'facts'], source);
  issues.push(...facts.issues);
  const exceptions: PolicyException[] = [];
  const grants: BreakGlassGrant[] = [];
  (r.data.spec.documents ?? []).forEach((d, i) => {
    const inner = parsePolicyDocument(
      d,
      source,
      [...prefix, 'spec', 'documents', i],
      ['PolicyException', 'BreakGlassGrant'],
    );
    issues.push(...inner.issues);
    if (inner.document?.kind === 'PolicyException') exceptions.push(inner.document);
    if (inner.document?.kind === 'BreakGlassGrant') grants.push(inner.document);
  });
  if (facts.facts === undefined || issues.length > 0) return { issues };
  const e = r.data.spec.expect;
  return {
    document: {
      kind: 'PolicyTest',
      name: r.data.metadata.name,
      source,
      ...(r.data.metadata.description === undefined
        ? {}
        : { description: r.data.metadata.description }),
      now: r.data.spec.now,
      facts: facts.facts,
      exceptions,
      grants,
      expect: {
        outcome: e.outcome,
        ...(e.requirements === undefined ? {} : { requirements: e.requirements }),
        ...(e.reviewRequired === undefined ? {} : { reviewRequired: e.reviewRequired }),
      },
    },
    issues,
  };
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  evaluate,
  type ArtifactFacts,
  type AttestationFacts,
  type DecisionOutcome,
  type SignatureFacts,
} from '../../src/policy/index.js';
import {
  GH,
  NOW,
  SCAN,
  attestation,
  facts,
  grantYaml,
  exceptionYaml,
  hint,
  indent,
  keySigner,
  keylessSigner,
  load,
  policyYaml,
  signature,
} from './builders.js';

/**
 * Property (issue 5): adding a requirement to a policy never allows more. Decisions are ranked
 * allow > allow-with-violations > allow-by-break-glass > deny; the policy with the extra
 * requirement must never rank higher, whatever the facts, mode, exceptions and grants.
 */

const RANK: Record<DecisionOutcome, number> = {
  allow: 3,
  'allow-with-violations': 2,
  'allow-by-break-glass': 1,
  deny: 0,
};

const SIGNER_MATCHERS = [
  `{key: ${hint('a1')}}`,
  `{key: ${hint('b2')}}`,
  `{keyless: {issuer: "${GH}", identityPattern: "*@acme.com"}}`,
  `{keyless: {issuer: "${GH}", identity: alice@acme.com}}`,
  '{trustRoot: release}',
];

const SIGNATURES: SignatureFacts[] = [
  signature(keySigner('a1')),
  signature(keySigner('b2')),
  signature(keySigner('d4')),
  signature(keylessSigner('alice@acme.com')),
  signature(keylessSigner('bob@acme.com')),
  signature(keySigner('77'), { trustRootSigner: 'release' }),
];

const EVAL = 'https://example.com/evaluation/v1';
const ATTESTATIONS: AttestationFacts[] = [
  attestation({ findings: [] }),
  attestation({ findings: [{ severity: 'CRITICAL' }] }),
  attestation(
    { findings: [] },
    { signer: keySigner('d4'), issuedAt: new Date('2025-08-01T00:00:00Z') },
  ),
  attestation({ value: 0.95 }, { predicateType: EVAL }),
  attestation({ value: 0.5 }, { predicateType: EVAL, signer: keySigner('d4') }),
  attestation({ other: true }, { predicateType: EVAL }),
];

const subsetOf = <T>(items: readonly T[]) =>
  fc.array(fc.constantFrom(...items), { maxLength: items.length + 1 });

/** One requirement as YAML: its section and the list item (or scalar) under it. */
type RequirementYaml = { readonly section: string; readonly body: string };

const requirement: fc.Arbitrary<RequirementYaml> = fc.oneof(
  fc.constant({ section: 'requireDigest', body: 'true' }),
  fc.constant({ section: 'transformation', body: '{requireContinuity: true}' }),
  fc
    .record({
      rule: fc.constantFrom('anyOf', 'allOf', 'threshold'),
      signers: fc.uniqueArray(fc.constantFrom(...SIGNER_MATCHERS), { minLength: 1, maxLength: 3 }),
      count: fc.integer({ min: 1, max: 3 }),
    })
    .map(({ rule, signers, count }) => ({
      section: 'signatures',
      body:
        rule === 'threshold'
          ? `{name: NAME, threshold: ${count}, signers: [${signers.join(', ')}]}`
          : `{name: NAME, ${rule}: [${signers.join(', ')}]}`,
    })),
  fc
    .record({
      type: fc.constantFrom(SCAN, EVAL),
      signers: fc.uniqueArray(fc.constantFrom(`{key: ${hint('c3')}}`, `{key: ${hint('d4')}}`), {
        minLength: 1,
        maxLength: 2,
      }),
      condition: fc.constantFrom(
        undefined,
        '\'!predicate.findings.exists(f, f.severity == "CRITICAL")\'',
        "'predicate.value >= 0.9'",
        "'has(predicate.other) || predicate.value > 0.1'",
      ),
      maxAge: fc.constantFrom(undefined, '10d', '90d'),
    })
    .map(({ type, signers, condition, maxAge }) => ({
      section: 'attestations',
      body: `{name: NAME, predicateType: "${type}", signers: [${signers.join(', ')}]${condition === undefined ? '' : `, condition: ${condition}`}${maxAge === undefined ? '' : `, maxAge: ${maxAge}`}}`,
    })),
  fc.constantFrom('promote', 'deploy', 'retrieve').map((action) => ({
    section: 'access',
    body: `${action}: [{identity: deployer}]`,
  })),
);

function spec(mode: string, requirements: readonly RequirementYaml[]): string {
  const lines = [
    'match:',
    '  repositories: ["acme/*"]',
    '  environments: [production]',
    mode,
    'breakGlass: {maxTTL: 2h}',
  ];
  const sections = new Map<string, string[]>();
  const seen = new Set<string>();
  requirements.forEach((r, i) => {
    // Scalar and access entries appear once; later duplicates would be duplicate YAML keys.
    const key = r.section === 'access' ? `access:${r.body.split(':')[0]!}` : r.section;
    if (
      (r.section === 'requireDigest' || r.section === 'transformation' || r.section === 'access') &&
      seen.has(key)
    )
      return;
    seen.add(key);
    sections.set(r.section, [...(sections.get(r.section) ?? []), r.body.replace('NAME', `r${i}`)]);
  });
  for (const [section, bodies] of sections) {
    if (section === 'requireDigest' || section === 'transformation')
      lines.push(`${section}: ${bodies[0]!}`);
    else if (section === 'access') lines.push('access:', ...bodies.map((b) => `  ${b}`));
    else lines.push(`${section}:`, ...bodies.map((b) => `  - ${b}`));
  }
  return lines.join('\n');
}

const scenario = fc.record({
  mode: fc.constantFrom(
    'mode: enforce',
    'mode: audit',
    'mode: enforce\nenforceFrom: "2025-10-01T12:00:00Z"',
    'mode: enforce\nenforceFrom: "2025-10-01T12:00:01Z"',
  ),
  base: fc.array(requirement, { maxLength: 4 }),
  extra: requirement,
  other: fc.option(fc.array(requirement, { maxLength: 2 }), { nil: undefined }),
  signatures: subsetOf(SIGNATURES),
  attestations: subsetOf(ATTESTATIONS),
  tag: fc.boolean(),
  action: fc.constantFrom('verify', 'promote', 'deploy', 'retrieve'),
  identity: fc.constantFrom(undefined, 'deployer', 'intruder'),
  transformation: fc.constantFrom<ArtifactFacts['transformation']>(
    { status: 'original' },
    { status: 'unknown' },
  ),
  grant: fc.boolean(),
  waive: fc.boolean(),
});

test('adding a requirement never allows more', () => {
  const seen = new Set<DecisionOutcome>();
  fc.assert(
    fc.property(scenario, (s) => {
      const f = facts({
        reference: s.tag ? { kind: 'tag', tag: 'latest' } : { kind: 'digest' },
        request: {
          action: s.action,
          ...(s.identity === undefined ? {} : { identity: { subject: s.identity } }),
        },
        signatures: s.signatures,
        attestations: s.attestations,
        transformation: s.transformation,
      });
      const extraDocs: string[] = [];
      if (s.grant) extraDocs.push(grantYaml('bg', '2025-10-01T11:00:00Z', '2025-10-01T13:00:00Z'));
      const docsFor = (requirements: readonly RequirementYaml[]) => {
        const docs = [policyYaml('p', spec(s.mode, requirements))];
        if (s.other !== undefined) docs.push(policyYaml('q', spec('mode: enforce', s.other)));
        return docs;
      };
      // Waive the base policy's first requirement, when asked and when there is one: the same
      // exception before and after the extra requirement.
      // (Access rules cannot be waived.)
      const waived = s.waive
        ? load(...docsFor(s.base)).policies[0]!.requirements.find((r) => r.kind !== 'access')?.id
        : undefined;
      const decide = (requirements: readonly RequirementYaml[]) => {
        const docs = docsFor(requirements);
        const set = load(
          ...docs,
          ...extraDocs,
          ...(waived === undefined
            ? []
            : [exceptionYaml('e', [waived], '2025-09-01T00:00:00Z', '2025-11-01T00:00:00Z')]),
        );
        return evaluate(f, set.policies, set.exceptions, set.grants, NOW);
      };
      const before = decide(s.base);
      const after = decide([...s.base, s.extra]);
      seen.add(before.outcome).add(after.outcome);
      assert.ok(
        RANK[after.outcome] <= RANK[before.outcome],
        `${before.outcome} became ${after.outcome} after adding ${s.extra.section}: ${indent(s.extra.body)}\n${after.reason}`,
      );
    }),
    { numRuns: 150 },
  );
  // Guard against a vacuous property: the scenarios reach every kind of decision.
  assert.deepEqual([...seen].sort(), [
    'allow',
    'allow-by-break-glass',
    'allow-with-violations',
    'deny',
  ]);
});

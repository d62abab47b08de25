import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  evaluate,
  exceptionAgeSeconds,
  type ArtifactFacts,
  type AttestationFacts,
  type DecisionOutcome,
  type OutcomeCode,
  type RequirementStatus,
} from '../../src/policy/index.js';
import {
  DIGEST,
  GH,
  MATCH,
  NOW,
  OTHER_DIGEST,
  SCAN,
  attestation,
  certSigner,
  exceptionYaml,
  facts,
  grantYaml,
  hint,
  keySigner,
  keylessSigner,
  load,
  policyYaml,
  signature,
} from './builders.js';

interface Case {
  readonly name: string;
  /** The spec of policy `p` (MATCH is prepended). */
  readonly spec: string;
  readonly facts?: Partial<ArtifactFacts>;
  readonly now?: string;
  /** Exceptions and grants. */
  readonly docs?: readonly string[];
  readonly outcome: DecisionOutcome;
  /** The requirement whose outcome is checked, with its status and code. */
  readonly requirement?: string;
  readonly status?: RequirementStatus;
  readonly code?: OutcomeCode;
}

function run(c: Case) {
  // A case that sets its own mode replaces the default `mode: enforce`.
  const match = /^mode:/m.test(c.spec) ? MATCH.replace('mode: enforce', '') : MATCH;
  const set = load(policyYaml('p', `${match}\n${c.spec}`), ...(c.docs ?? []));
  const decision = evaluate(
    facts(c.facts),
    set.policies,
    set.exceptions,
    set.grants,
    c.now === undefined ? NOW : new Date(c.now),
  );
  return decision;
}

function check(c: Case): void {
  const decision = run(c);
  assert.equal(decision.outcome, c.outcome, decision.reason);
  assert.ok(decision.reason.length > 20 && decision.remediation.length > 5);
  if (c.requirement !== undefined) {
    const r = decision.policies[0]!.requirements.find((x) => x.requirement === c.requirement);
    assert.ok(r !== undefined, `no outcome for ${c.requirement}`);
    if (c.status !== undefined) assert.equal(r.status, c.status, r.reason);
    if (c.code !== undefined) assert.equal(r.code, c.code, r.reason);
    if (r.status === 'violated')
      assert.ok((r.remediation ?? '').length > 10, 'a violation says what to do');
  }
}

const SIGNED_BY_A1 = `signatures:
  - name: release
    anyOf:
      - key: ${hint('a1')}`;

const THRESHOLD_2 = `signatures:
  - name: two
    threshold: 2
    signers:
      - key: ${hint('a1')}
      - key: ${hint('b2')}
      - trustRoot: release-team
      - keyless: {issuer: "${GH}", identityPattern: "*@acme.com"}`;

const SCAN_RULE = (extra = '') => `attestations:
  - name: scan
    predicateType: ${SCAN}
    signers:
      - key: ${hint('c3')}
    condition: '!predicate.findings.exists(f, f.severity == "CRITICAL")'
${extra}`;

const clean = attestation({ findings: [{ id: 'CVE-1', severity: 'HIGH' }] });
const critical = attestation({ findings: [{ id: 'CVE-2', severity: 'CRITICAL' }] });

/** The same attestation with no verified time. */
function undated(att: AttestationFacts): AttestationFacts {
  const copy: { -readonly [K in keyof AttestationFacts]: AttestationFacts[K] } = { ...att };
  delete copy.issuedAt;
  return copy;
}

const cases: Record<string, Case[]> = {
  'digest pinning': [
    {
      name: 'digest reference',
      spec: 'requireDigest: true',
      outcome: 'allow',
      requirement: 'digest',
      status: 'satisfied',
    },
    {
      name: 'mutable tag',
      spec: 'requireDigest: true',
      facts: { reference: { kind: 'tag', tag: 'latest' } },
      outcome: 'deny',
      requirement: 'digest',
      code: 'REFERENCE_NOT_PINNED',
    },
    {
      name: 'not required',
      spec: 'requireDigest: false',
      facts: { reference: { kind: 'tag', tag: 'v1' } },
      outcome: 'allow',
    },
  ],
  'required signers': [
    {
      name: 'anyOf met',
      spec: SIGNED_BY_A1,
      outcome: 'allow',
      requirement: 'signatures:release',
      status: 'satisfied',
    },
    {
      name: 'anyOf, no signature',
      spec: SIGNED_BY_A1,
      facts: { signatures: [] },
      outcome: 'deny',
      code: 'SIGNATURES_MISSING',
      requirement: 'signatures:release',
    },
    {
      name: 'anyOf, unknown key',
      spec: SIGNED_BY_A1,
      facts: { signatures: [signature(keySigner('d4'))] },
      outcome: 'deny',
      requirement: 'signatures:release',
      code: 'SIGNATURES_MISSING',
    },
    {
      name: 'a signature over another digest does not count',
      spec: SIGNED_BY_A1,
      facts: { signatures: [signature(keySigner('a1'), { digest: OTHER_DIGEST })] },
      outcome: 'deny',
      requirement: 'signatures:release',
      code: 'SIGNATURES_MISSING',
    },
    {
      name: 'threshold met by two keys',
      spec: THRESHOLD_2,
      facts: { signatures: [signature(keySigner('a1')), signature(keySigner('b2'))] },
      outcome: 'allow',
    },
    {
      name: 'threshold: one key signing twice counts once',
      spec: THRESHOLD_2,
      facts: { signatures: [signature(keySigner('a1')), signature(keySigner('a1'))] },
      outcome: 'deny',
      requirement: 'signatures:two',
      code: 'SIGNATURES_INSUFFICIENT',
    },
    {
      name: 'threshold: two keys of one trust-root signer count once',
      spec: THRESHOLD_2,
      facts: {
        signatures: [
          signature(keySigner('11'), { trustRootSigner: 'release-team' }),
          signature(keySigner('22'), { trustRootSigner: 'release-team' }),
        ],
      },
      outcome: 'deny',
      code: 'SIGNATURES_INSUFFICIENT',
      requirement: 'signatures:two',
    },
    {
      name: 'threshold: one keyless identity with two certificates counts once',
      spec: THRESHOLD_2,
      facts: {
        signatures: [
          signature(keylessSigner('alice@acme.com', GH, '01')),
          signature(keylessSigner('alice@acme.com', GH, '02')),
        ],
      },
      outcome: 'deny',
      code: 'SIGNATURES_INSUFFICIENT',
      requirement: 'signatures:two',
    },
    {
      name: 'threshold: two identities under one pattern',
      spec: THRESHOLD_2,
      facts: {
        signatures: [
          signature(keylessSigner('alice@acme.com')),
          signature(keylessSigner('bob@acme.com')),
        ],
      },
      outcome: 'allow',
    },
    {
      name: 'allOf met',
      spec: `signatures:\n  - name: both\n    allOf:\n      - key: ${hint('a1')}\n      - key: ${hint('b2')}`,
      facts: { signatures: [signature(keySigner('a1')), signature(keySigner('b2'))] },
      outcome: 'allow',
    },
    {
      name: 'allOf missing one',
      spec: `signatures:\n  - name: both\n    allOf:\n      - key: ${hint('a1')}\n      - key: ${hint('b2')}`,
      outcome: 'deny',
      requirement: 'signatures:both',
      code: 'SIGNATURES_INSUFFICIENT',
    },
    {
      name: 'allOf: one signer cannot fill two entries',
      spec: `signatures:\n  - name: two-people\n    allOf:\n      - keyless: {issuer: "${GH}", identityPattern: "*@acme.com"}\n      - keyless: {issuer: "${GH}", identityPattern: "*@acme.com"}`,
      facts: { signatures: [signature(keylessSigner('alice@acme.com'))] },
      outcome: 'deny',
      requirement: 'signatures:two-people',
      code: 'SIGNATURES_INSUFFICIENT',
    },
    {
      name: 'certificate subject under a pinned root',
      spec: `signatures:\n  - name: corp\n    anyOf:\n      - certificate: {subject: "CN=release", root: ${hint('0f')}}`,
      facts: { signatures: [signature(certSigner('CN=release', '0e', '0f'))] },
      outcome: 'allow',
    },
    {
      name: 'certificate subject under another root',
      spec: `signatures:\n  - name: corp\n    anyOf:\n      - certificate: {subject: "CN=release", root: ${hint('0f')}}`,
      facts: { signatures: [signature(certSigner('CN=release', '0e', '0d'))] },
      outcome: 'deny',
      requirement: 'signatures:corp',
      code: 'SIGNATURES_MISSING',
    },
    {
      name: 'keyless identity is exact, not a prefix',
      spec: `signatures:\n  - name: ci\n    anyOf:\n      - keyless: {issuer: "${GH}", identity: "https://github.com/acme/m/.github/workflows/r.yml@refs/heads/main"}`,
      facts: {
        signatures: [
          signature(
            keylessSigner('https://github.com/acme/m/.github/workflows/r.yml@refs/heads/main-evil'),
          ),
        ],
      },
      outcome: 'deny',
      code: 'SIGNATURES_MISSING',
      requirement: 'signatures:ci',
    },
    {
      name: 'keyless pattern is anchored: no match inside a longer identity',
      spec: `signatures:\n  - name: ci\n    anyOf:\n      - keyless: {issuer: "${GH}", identityPattern: "https://github.com/acme/*"}`,
      facts: {
        signatures: [signature(keylessSigner('https://evil.example/https://github.com/acme/x'))],
      },
      outcome: 'deny',
      code: 'SIGNATURES_MISSING',
      requirement: 'signatures:ci',
    },
    {
      name: 'keyless pattern: * does not cross /',
      spec: `signatures:\n  - name: ci\n    anyOf:\n      - keyless: {issuer: "${GH}", identityPattern: "https://github.com/acme/*"}`,
      facts: { signatures: [signature(keylessSigner('https://github.com/acme/x/evil'))] },
      outcome: 'deny',
      code: 'SIGNATURES_MISSING',
      requirement: 'signatures:ci',
    },
    {
      name: 'keyless issuer must match exactly',
      spec: `signatures:\n  - name: ci\n    anyOf:\n      - keyless: {issuer: "${GH}", identity: alice@acme.com}`,
      facts: {
        signatures: [signature(keylessSigner('alice@acme.com', 'https://accounts.evil.example'))],
      },
      outcome: 'deny',
      code: 'SIGNATURES_MISSING',
      requirement: 'signatures:ci',
    },
    {
      name: 'trust-root signer by name',
      spec: `signatures:\n  - name: tr\n    anyOf:\n      - trustRoot: release-team`,
      facts: { signatures: [signature(keySigner('77'), { trustRootSigner: 'release-team' })] },
      outcome: 'allow',
    },
    {
      name: 'trust-root signer by the name its rotation line started with',
      spec: `signatures:\n  - name: tr\n    anyOf:\n      - trustRoot: release-team`,
      facts: {
        signatures: [
          signature(keySigner('78'), {
            trustRootSigner: 'release-team-2',
            trustRootPrincipal: 'release-team',
          }),
        ],
      },
      outcome: 'allow',
    },
    {
      name: 'threshold: a rotated key and its successor count once',
      spec: `signatures:\n  - name: two\n    threshold: 2\n    signers: [{trustRoot: release-team}, {trustRoot: release-team-2}]`,
      facts: {
        signatures: [
          signature(keySigner('11'), { trustRootSigner: 'release-team' }),
          signature(keySigner('22'), {
            trustRootSigner: 'release-team-2',
            trustRootPrincipal: 'release-team',
          }),
        ],
      },
      outcome: 'deny',
      code: 'SIGNATURES_INSUFFICIENT',
      requirement: 'signatures:two',
    },
  ],
  'required attestations': [
    {
      name: 'clean scan',
      spec: SCAN_RULE(),
      facts: { attestations: [clean] },
      outcome: 'allow',
      requirement: 'attestation:scan',
      status: 'satisfied',
    },
    {
      name: 'no attestation',
      spec: SCAN_RULE(),
      outcome: 'deny',
      requirement: 'attestation:scan',
      code: 'ATTESTATION_MISSING',
    },
    {
      name: 'attestation about another digest',
      spec: SCAN_RULE(),
      facts: { attestations: [{ ...clean, digest: OTHER_DIGEST }] },
      outcome: 'deny',
      requirement: 'attestation:scan',
      code: 'ATTESTATION_MISSING',
    },
    {
      name: 'signed by someone not allowed',
      spec: SCAN_RULE(),
      facts: { attestations: [{ ...clean, signer: keySigner('d4') }] },
      outcome: 'deny',
      requirement: 'attestation:scan',
      code: 'ATTESTATION_SIGNER_NOT_ALLOWED',
    },
    {
      name: 'critical finding',
      spec: SCAN_RULE(),
      facts: { attestations: [critical] },
      outcome: 'deny',
      requirement: 'attestation:scan',
      code: 'CONDITION_FALSE',
    },
    {
      name: 'condition reads a missing field',
      spec: SCAN_RULE(),
      facts: { attestations: [attestation({ results: [] })] },
      outcome: 'deny',
      requirement: 'attestation:scan',
      code: 'CONDITION_ERROR',
    },
    {
      name: 'a newer failing scan does not hide an older passing one',
      spec: SCAN_RULE(),
      facts: { attestations: [{ ...critical, issuedAt: new Date('2025-09-30T00:00:00Z') }, clean] },
      outcome: 'allow',
    },
    {
      name: 'maxAge: exactly 30 days old',
      spec: SCAN_RULE('    maxAge: 30d'),
      facts: { attestations: [{ ...clean, issuedAt: new Date('2025-09-01T12:00:00Z') }] },
      outcome: 'allow',
    },
    {
      name: 'maxAge: one second older',
      spec: SCAN_RULE('    maxAge: 30d'),
      facts: { attestations: [{ ...clean, issuedAt: new Date('2025-09-01T11:59:59Z') }] },
      outcome: 'deny',
      requirement: 'attestation:scan',
      code: 'ATTESTATION_TOO_OLD',
    },
    {
      name: 'dated slightly ahead (clock skew)',
      spec: SCAN_RULE(),
      facts: { attestations: [{ ...clean, issuedAt: new Date('2025-10-01T12:04:00Z') }] },
      outcome: 'allow',
    },
    {
      name: 'dated in the future',
      spec: SCAN_RULE(),
      facts: { attestations: [{ ...clean, issuedAt: new Date('2025-10-02T00:00:00Z') }] },
      outcome: 'deny',
      requirement: 'attestation:scan',
      code: 'ATTESTATION_FROM_FUTURE',
    },
    {
      name: 'undated (no log time, no signed time) with a maximum age',
      spec: SCAN_RULE('    maxAge: 30d'),
      facts: { attestations: [undated(clean)] },
      outcome: 'deny',
      requirement: 'attestation:scan',
      code: 'ATTESTATION_UNDATED',
    },
    {
      name: 'undated without a maximum age',
      spec: SCAN_RULE(),
      facts: { attestations: [undated(clean)] },
      outcome: 'allow',
    },
    {
      name: 'an undated attestation does not hide a dated one',
      spec: SCAN_RULE('    maxAge: 30d'),
      facts: { attestations: [undated(critical), clean] },
      outcome: 'allow',
    },
    {
      name: 'evaluation accuracy on a named dataset',
      spec: `attestations:
  - name: eval
    predicateType: https://example.com/evaluation/v1
    signers: [{key: ${hint('c3')}}]
    condition: 'predicate.results.exists(r, r.dataset == "holdout" && r.metric == "accuracy" && r.value >= 0.9)'`,
      facts: {
        attestations: [
          attestation(
            {
              results: [
                { dataset: 'other', metric: 'accuracy', value: 0.99 },
                { dataset: 'holdout', metric: 'accuracy', value: 0.89 },
              ],
            },
            { predicateType: 'https://example.com/evaluation/v1' },
          ),
        ],
      },
      outcome: 'deny',
      requirement: 'attestation:eval',
      code: 'CONDITION_FALSE',
    },
    {
      name: 'licence in an allow-list, with the other variables',
      spec: `attestations:
  - name: licence
    predicateType: https://example.com/license/v1
    signers: [{key: ${hint('c3')}}]
    condition: >-
      predicate.license in ["Apache-2.0", "MIT"] && predicateType.startsWith("https://example.com/")
      && signer.kind == "key" && signer.hint.startsWith("c3") && artifact.repository == "acme/llm"
      && artifact.digest == "${DIGEST}" && now - issuedAt < duration("240h")`,
      facts: {
        attestations: [
          attestation({ license: 'MIT' }, { predicateType: 'https://example.com/license/v1' }),
        ],
      },
      outcome: 'allow',
    },
    {
      name: 'an attestation without a condition is enough when present',
      spec: `attestations:\n  - name: sbom\n    predicateType: https://spdx.dev/Document\n    signers: [{key: ${hint('c3')}}]`,
      facts: { attestations: [attestation({}, { predicateType: 'https://spdx.dev/Document' })] },
      outcome: 'allow',
    },
  ],
  'transformation continuity': [
    { name: 'original', spec: 'transformation: {requireContinuity: true}', outcome: 'allow' },
    {
      name: 'continuous chain',
      spec: 'transformation: {requireContinuity: true}',
      facts: { transformation: { status: 'continuous', parent: OTHER_DIGEST, steps: 2 } },
      outcome: 'allow',
    },
    {
      name: 'broken chain',
      spec: 'transformation: {requireContinuity: true}',
      facts: {
        transformation: {
          status: 'broken',
          parent: OTHER_DIGEST,
          reason: 'the quantisation step is not attested',
        },
      },
      outcome: 'deny',
      requirement: 'transformation',
      code: 'TRANSFORMATION_BROKEN',
    },
    {
      name: 'unknown lineage fails closed',
      spec: 'transformation: {requireContinuity: true}',
      facts: { transformation: { status: 'unknown' } },
      outcome: 'deny',
      requirement: 'transformation',
      code: 'TRANSFORMATION_UNKNOWN',
    },
  ],
  'who may promote, deploy, retrieve': [
    {
      name: 'another action: not applicable',
      spec: 'access:\n  deploy: [{identity: deployer}]',
      facts: { request: { action: 'retrieve' } },
      outcome: 'allow',
      requirement: 'access:deploy',
      status: 'not-applicable',
    },
    {
      name: 'no identity',
      spec: 'access:\n  deploy: [{identity: deployer}]',
      facts: { request: { action: 'deploy' } },
      outcome: 'deny',
      requirement: 'access:deploy',
      code: 'IDENTITY_MISSING',
    },
    {
      name: 'identity not listed',
      spec: 'access:\n  deploy: [{identity: deployer}]',
      facts: { request: { action: 'deploy', identity: { subject: 'deployer2' } } },
      outcome: 'deny',
      requirement: 'access:deploy',
      code: 'IDENTITY_NOT_ALLOWED',
    },
    {
      name: 'listed identity with the wrong issuer',
      spec: 'access:\n  promote: [{identity: deployer, issuer: "https://kubernetes.default.svc"}]',
      facts: {
        request: {
          action: 'promote',
          identity: { subject: 'deployer', issuer: 'https://evil.example' },
        },
      },
      outcome: 'deny',
      requirement: 'access:promote',
      code: 'IDENTITY_NOT_ALLOWED',
    },
    {
      name: 'identities are compared exactly (case)',
      spec: 'access:\n  deploy: [{identity: deployer}]',
      facts: { request: { action: 'deploy', identity: { subject: 'Deployer' } } },
      outcome: 'deny',
      requirement: 'access:deploy',
      code: 'IDENTITY_NOT_ALLOWED',
    },
    {
      name: 'allowed to deploy is not allowed to promote',
      spec: 'access:\n  deploy: [{identity: deployer}]\n  promote: [{identity: release-bot}]',
      facts: { request: { action: 'promote', identity: { subject: 'deployer' } } },
      outcome: 'deny',
      requirement: 'access:promote',
      code: 'IDENTITY_NOT_ALLOWED',
    },
    {
      name: 'promote by the listed identity',
      spec: 'access:\n  deploy: [{identity: deployer}]\n  promote: [{identity: release-bot}]',
      facts: { request: { action: 'promote', identity: { subject: 'release-bot' } } },
      outcome: 'allow',
      requirement: 'access:promote',
      status: 'satisfied',
    },
    {
      name: 'retrieve without identity when retrieval is restricted',
      spec: 'access:\n  retrieve: [{identity: api}]',
      facts: { request: { action: 'retrieve' } },
      outcome: 'deny',
      requirement: 'access:retrieve',
      code: 'IDENTITY_MISSING',
    },
    {
      name: 'a plain verify is not an access request',
      spec: 'access:\n  retrieve: [{identity: api}]',
      facts: { request: { action: 'verify' } },
      outcome: 'allow',
      requirement: 'access:retrieve',
      status: 'not-applicable',
    },
    {
      name: 'identity pattern, asked for explicitly',
      spec: 'access:\n  retrieve: [{identityPattern: "system:serviceaccount:serving:*"}]',
      facts: {
        request: { action: 'retrieve', identity: { subject: 'system:serviceaccount:serving:api' } },
      },
      outcome: 'allow',
      requirement: 'access:retrieve',
      status: 'satisfied',
    },
  ],
  'mode and enforceFrom': [
    {
      name: 'audit mode records the violation',
      spec: `mode: audit\n${SIGNED_BY_A1}`,
      facts: { signatures: [] },
      outcome: 'allow-with-violations',
    },
    {
      name: 'the second before enforceFrom: audit',
      spec: `enforceFrom: "2025-10-01T12:00:00Z"\n${SIGNED_BY_A1}`,
      facts: { signatures: [] },
      now: '2025-10-01T11:59:59Z',
      outcome: 'allow-with-violations',
    },
    {
      name: 'the enforceFrom second: enforce',
      spec: `enforceFrom: "2025-10-01T12:00:00Z"\n${SIGNED_BY_A1}`,
      facts: { signatures: [] },
      now: '2025-10-01T12:00:00Z',
      outcome: 'deny',
    },
    {
      name: 'the second after enforceFrom: enforce',
      spec: `enforceFrom: "2025-10-01T12:00:00Z"\n${SIGNED_BY_A1}`,
      facts: { signatures: [] },
      now: '2025-10-01T12:00:01Z',
      outcome: 'deny',
    },
    {
      name: 'enforceFrom with an offset is the same instant',
      spec: `enforceFrom: "2025-10-01T14:00:00+02:00"\n${SIGNED_BY_A1}`,
      facts: { signatures: [] },
      now: '2025-10-01T11:59:59Z',
      outcome: 'allow-with-violations',
    },
  ],
  exceptions: [
    {
      name: 'in force',
      spec: SIGNED_BY_A1,
      facts: { signatures: [] },
      docs: [
        exceptionYaml(
          'exc',
          ['signatures:release'],
          '2025-09-01T00:00:00Z',
          '2025-11-01T00:00:00Z',
        ),
      ],
      outcome: 'allow',
      requirement: 'signatures:release',
      status: 'waived',
    },
    {
      name: 'the second before expiry',
      spec: SIGNED_BY_A1,
      facts: { signatures: [] },
      docs: [
        exceptionYaml(
          'exc',
          ['signatures:release'],
          '2025-09-01T00:00:00Z',
          '2025-10-01T12:00:00Z',
        ),
      ],
      now: '2025-10-01T11:59:59Z',
      outcome: 'allow',
    },
    {
      name: 'at expiry it stops applying',
      spec: SIGNED_BY_A1,
      facts: { signatures: [] },
      docs: [
        exceptionYaml(
          'exc',
          ['signatures:release'],
          '2025-09-01T00:00:00Z',
          '2025-10-01T12:00:00Z',
        ),
      ],
      outcome: 'deny',
      requirement: 'signatures:release',
      status: 'violated',
    },
    {
      name: 'the second after expiry',
      spec: SIGNED_BY_A1,
      facts: { signatures: [] },
      docs: [
        exceptionYaml(
          'exc',
          ['signatures:release'],
          '2025-09-01T00:00:00Z',
          '2025-10-01T12:00:00Z',
        ),
      ],
      now: '2025-10-01T12:00:01Z',
      outcome: 'deny',
    },
    {
      name: 'not yet valid',
      spec: SIGNED_BY_A1,
      facts: { signatures: [] },
      docs: [
        exceptionYaml(
          'exc',
          ['signatures:release'],
          '2025-10-02T00:00:00Z',
          '2025-10-03T00:00:00Z',
        ),
      ],
      outcome: 'deny',
    },
    {
      name: 'waives only the requirements it names',
      spec: `requireDigest: true\n${SIGNED_BY_A1}`,
      facts: { signatures: [], reference: { kind: 'tag', tag: 'latest' } },
      docs: [
        exceptionYaml(
          'exc',
          ['signatures:release'],
          '2025-09-01T00:00:00Z',
          '2025-11-01T00:00:00Z',
        ),
      ],
      outcome: 'deny',
      requirement: 'digest',
      status: 'violated',
    },
    {
      name: 'out of scope for another repository',
      spec: SIGNED_BY_A1,
      facts: { signatures: [] },
      docs: [
        exceptionYaml(
          'exc',
          ['signatures:release'],
          '2025-09-01T00:00:00Z',
          '2025-11-01T00:00:00Z',
        ).replace('repositories: [acme/llm]', 'repositories: [acme/other]'),
      ],
      outcome: 'deny',
    },
    {
      name: 'scoped to another digest',
      spec: SIGNED_BY_A1,
      facts: { signatures: [] },
      docs: [
        exceptionYaml(
          'exc',
          ['signatures:release'],
          '2025-09-01T00:00:00Z',
          '2025-11-01T00:00:00Z',
        ).replace(
          'environments: [production]',
          `environments: [production]\n    digests: ["${OTHER_DIGEST}"]`,
        ),
      ],
      outcome: 'deny',
    },
  ],
  'break-glass': [
    {
      name: 'a valid grant lets the deny through, flagged for review',
      spec: SIGNED_BY_A1,
      facts: { signatures: [] },
      docs: [grantYaml('bg', '2025-10-01T11:00:00Z', '2025-10-01T13:00:00Z')],
      outcome: 'allow-by-break-glass',
    },
    {
      name: 'past its own expiry',
      spec: SIGNED_BY_A1,
      facts: { signatures: [] },
      docs: [grantYaml('bg', '2025-10-01T09:00:00Z', '2025-10-01T12:00:00Z')],
      outcome: 'deny',
    },
    {
      name: 'the second before the policy cap',
      spec: `breakGlass: {maxTTL: 2h}\n${SIGNED_BY_A1}`,
      facts: { signatures: [] },
      docs: [grantYaml('bg', '2025-10-01T10:00:00Z', '2025-10-01T20:00:00Z')],
      now: '2025-10-01T11:59:59Z',
      outcome: 'allow-by-break-glass',
    },
    {
      name: 'past the policy cap (TTL capped in hours)',
      spec: `breakGlass: {maxTTL: 2h}\n${SIGNED_BY_A1}`,
      facts: { signatures: [] },
      docs: [grantYaml('bg', '2025-10-01T10:00:00Z', '2025-10-01T20:00:00Z')],
      outcome: 'deny',
    },
    {
      name: 'the second after the policy cap',
      spec: `breakGlass: {maxTTL: 2h}\n${SIGNED_BY_A1}`,
      facts: { signatures: [] },
      docs: [grantYaml('bg', '2025-10-01T10:00:00Z', '2025-10-01T20:00:00Z')],
      now: '2025-10-01T12:00:01Z',
      outcome: 'deny',
    },
    {
      name: 'the second before its own expiry',
      spec: SIGNED_BY_A1,
      facts: { signatures: [] },
      docs: [grantYaml('bg', '2025-10-01T11:00:00Z', '2025-10-01T13:00:00Z')],
      now: '2025-10-01T12:59:59Z',
      outcome: 'allow-by-break-glass',
    },
    {
      name: 'at its own expiry it stops applying',
      spec: SIGNED_BY_A1,
      facts: { signatures: [] },
      docs: [grantYaml('bg', '2025-10-01T11:00:00Z', '2025-10-01T13:00:00Z')],
      now: '2025-10-01T13:00:00Z',
      outcome: 'deny',
    },
    {
      name: 'before it is granted',
      spec: SIGNED_BY_A1,
      facts: { signatures: [] },
      docs: [grantYaml('bg', '2025-10-01T13:00:00Z', '2025-10-01T14:00:00Z')],
      outcome: 'deny',
    },
    {
      name: 'the wrong role',
      spec: SIGNED_BY_A1,
      facts: { signatures: [] },
      docs: [
        grantYaml('bg', '2025-10-01T11:00:00Z', '2025-10-01T13:00:00Z', { role: 'developer' }),
      ],
      outcome: 'deny',
    },
    {
      name: 'a requester the policy does not list',
      spec: `breakGlass: {requesters: [{identityPattern: "*@sre.acme.com"}]}\n${SIGNED_BY_A1}`,
      facts: { signatures: [] },
      docs: [grantYaml('bg', '2025-10-01T11:00:00Z', '2025-10-01T13:00:00Z')],
      outcome: 'deny',
    },
    {
      name: 'a policy that disables break-glass',
      spec: `breakGlass: {enabled: false}\n${SIGNED_BY_A1}`,
      facts: { signatures: [] },
      docs: [grantYaml('bg', '2025-10-01T11:00:00Z', '2025-10-01T13:00:00Z')],
      outcome: 'deny',
    },
    {
      name: 'a grant for another repository',
      spec: SIGNED_BY_A1,
      facts: { signatures: [] },
      docs: [
        grantYaml('bg', '2025-10-01T11:00:00Z', '2025-10-01T13:00:00Z', {
          repository: 'acme/other',
        }),
      ],
      outcome: 'deny',
    },
  ],
};

for (const [group, list] of Object.entries(cases)) {
  describe(group, () => {
    for (const c of list) test(c.name, () => check(c));
  });
}

describe('decisions', () => {
  test('no policy covers the artifact: deny (fail closed)', () => {
    const set = load(policyYaml('p', MATCH));
    const d = evaluate(facts({ repository: 'other/model' }), set.policies, [], [], NOW);
    assert.equal(d.outcome, 'deny');
    assert.equal(d.violations[0]!.code, 'NO_POLICY');
  });

  test('every matching policy applies', () => {
    const set = load(
      policyYaml('a', `${MATCH}\n${SIGNED_BY_A1}`),
      policyYaml(
        'b',
        `match:\n  repositories: ["acme/*"]\n  environments: ["*"]\nmode: enforce\nrequireDigest: true`,
      ),
      policyYaml(
        'c',
        `match:\n  repositories: ["other/*"]\n  environments: ["*"]\nmode: enforce\nrequireDigest: true`,
      ),
    );
    const d = evaluate(
      facts({ reference: { kind: 'tag', tag: 'latest' } }),
      set.policies,
      [],
      [],
      NOW,
    );
    assert.equal(d.outcome, 'deny');
    assert.deepEqual(
      d.policies.map((p) => p.name),
      ['a', 'b'],
    );
    assert.equal(d.violations.length, 1);
    assert.equal(d.violations[0]!.policy, 'b');
  });

  test('break-glass decisions carry the grant, the incident and a review flag', () => {
    const set = load(
      policyYaml('p', `${MATCH}\n${SIGNED_BY_A1}`),
      grantYaml('bg', '2025-10-01T11:00:00Z', '2025-10-01T13:00:00Z'),
    );
    const d = evaluate(facts({ signatures: [] }), set.policies, [], set.grants, NOW);
    assert.equal(d.outcome, 'allow-by-break-glass');
    assert.equal(d.allowed, true);
    assert.equal(d.reviewRequired, true);
    assert.deepEqual(d.breakGlass[0], {
      grant: 'bg',
      incident: 'INC-1',
      requestedBy: 'oncall@acme.com',
      role: 'break-glass',
      grantedAt: '2025-10-01T11:00:00Z',
      expiresAt: '2025-10-01T13:00:00Z',
      policies: ['p'],
    });
    assert.match(d.reason, /INC-1/);
  });

  test('an expired grant is noted, so on-call sees why it did not apply', () => {
    const set = load(
      policyYaml('p', `${MATCH}\n${SIGNED_BY_A1}`),
      grantYaml('bg', '2025-10-01T06:00:00Z', '2025-10-01T12:00:00Z'),
    );
    const d = evaluate(facts({ signatures: [] }), set.policies, [], set.grants, NOW);
    assert.equal(d.outcome, 'deny');
    assert.equal(d.reviewRequired, false);
    assert.ok(d.notes.some((n) => n.includes('bg') && n.includes('expired')));
  });

  test('break-glass does not change an audit-mode decision', () => {
    const set = load(
      policyYaml('p', `${MATCH.replace('enforce', 'audit')}\n${SIGNED_BY_A1}`),
      grantYaml('bg', '2025-10-01T11:00:00Z', '2025-10-01T13:00:00Z'),
    );
    const d = evaluate(facts({ signatures: [] }), set.policies, [], set.grants, NOW);
    assert.equal(d.outcome, 'allow-with-violations');
    assert.equal(d.reviewRequired, false);
  });

  test('exceptions report their age for the half-life metric, and their state', () => {
    const set = load(
      policyYaml('p', `${MATCH}\n${SIGNED_BY_A1}`),
      exceptionYaml('used', ['signatures:release'], '2025-09-01T12:00:00Z', '2025-11-01T00:00:00Z'),
      exceptionYaml('old', ['signatures:release'], '2025-06-01T00:00:00Z', '2025-07-01T00:00:00Z'),
    );
    const d = evaluate(facts({ signatures: [] }), set.policies, set.exceptions, [], NOW);
    assert.equal(d.outcome, 'allow');
    const byName = Object.fromEntries(d.exceptions.map((e) => [e.name, e]));
    assert.equal(byName['used']!.state, 'applied');
    assert.equal(byName['used']!.ageSeconds, 30 * 86400);
    assert.equal(byName['old']!.state, 'expired');
    assert.equal(exceptionAgeSeconds(set.exceptions[0]!, NOW), 30 * 86400);
  });

  test('an expired exception is named in the violation it no longer waives', () => {
    const set = load(
      policyYaml('p', `${MATCH}\n${SIGNED_BY_A1}`),
      exceptionYaml('exc', ['signatures:release'], '2025-06-01T00:00:00Z', '2025-07-01T00:00:00Z'),
    );
    const d = evaluate(facts({ signatures: [] }), set.policies, set.exceptions, [], NOW);
    assert.equal(d.outcome, 'deny');
    assert.match(d.violations[0]!.reason, /exc expired/);
    assert.match(d.remediation, /renew exception exc/i);
  });

  test('the same inputs give the same decision (no clock, no randomness)', () => {
    const set = load(policyYaml('p', `${MATCH}\n${SIGNED_BY_A1}\n${SCAN_RULE()}`));
    const f = facts({ attestations: [critical, clean] });
    const a = evaluate(f, set.policies, [], [], NOW);
    const b = evaluate(f, set.policies, [], [], NOW);
    assert.deepEqual(a, b);
    assert.equal(a.evaluatedAt, '2025-10-01T12:00:00Z');
  });

  test('signatures over other digests are noted', () => {
    const set = load(policyYaml('p', `${MATCH}\n${SIGNED_BY_A1}`));
    const d = evaluate(
      facts({
        signatures: [
          signature(keySigner('a1')),
          signature(keySigner('a1'), { digest: OTHER_DIGEST }),
        ],
      }),
      set.policies,
      [],
      [],
      NOW,
    );
    assert.equal(d.outcome, 'allow');
    assert.ok(d.notes.some((n) => n.includes('other digests')));
  });
});

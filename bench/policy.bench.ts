/**
 * Policy decision benchmark (issue 5): decisions per second and latency for a set of 100
 * policies, all covering the artifact, against an artifact with 10 attestations. Target: median
 * under 1 ms per decision.
 *
 *   npx tsc -p . && node dist/bench/policy.bench.js [--iterations=N] [--distinct|--unique] [--matching=N]
 *
 * By default every one of the 100 policies covers the artifact (the worst case) and policies
 * share their conditions (as copies of an organisation's baseline do). `--distinct` gives every
 * policy conditions of its own, each the shared baseline `&&` a clause of its own (the engine
 * evaluates `&&` parts separately, so the baseline runs once per decision); `--unique` gives
 * every policy conditions that share nothing with any other (`(baseline) || <its own clause>`):
 * 400 CEL evaluations per decision. `--matching=N` lets only N policies cover the artifact.
 *
 * Two runs: "warm" evaluates the same facts object again and again (predicates are prepared
 * once and cached); "fresh" gives every decision new facts objects, as a gate does, so the
 * predicate copy and limit check are paid each time. Takes a few seconds on one core.
 */
import { availableParallelism, loadavg } from 'node:os';
import type { ArtifactDigest } from '../src/digest/index.js';
import {
  POLICY_API_VERSION,
  evaluate,
  loadPolicySet,
  type ArtifactFacts,
  type AttestationFacts,
} from '../src/policy/index.js';

const arg = process.argv.find((a) => a.startsWith('--iterations='));
const ITERATIONS = arg === undefined ? 2000 : Number(arg.slice('--iterations='.length));
const POLICIES = 100;
/** `--distinct`: every policy's conditions differ (no condition is shared between policies). */
const DISTINCT = process.argv.includes('--distinct');
/** `--unique`: no condition, nor any `&&` part of one, is shared between policies. */
const UNIQUE = process.argv.includes('--unique');
const cond = (text: string, i: number) =>
  UNIQUE ? `(${text}) || ${i} < 0` : DISTINCT ? `${text} && ${i} >= 0` : text;
/** `--matching=N`: only N policies cover the artifact; the others cover other teams' repositories. */
const matchingArg = process.argv.find((a) => a.startsWith('--matching='));
const MATCHING =
  matchingArg === undefined ? POLICIES : Number(matchingArg.slice('--matching='.length));
const hex = (b: string) => b.repeat(32);
const DIGEST: ArtifactDigest = `sha256:${hex('e5')}`;
const GH = 'https://token.actions.githubusercontent.com';

const TYPES = [
  'https://cosign.sigstore.dev/attestation/vuln/v1',
  'https://example.com/evaluation/v1',
  'https://slsa.dev/provenance/v1',
  'https://example.com/license/v1',
  'https://spdx.dev/Document',
];

function policyYaml(i: number): string {
  return `apiVersion: ${POLICY_API_VERSION}
kind: ModelPolicy
metadata: {name: policy-${i}}
spec:
  match:
    repositories: [${i < MATCHING ? '"acme/*", ' : ''}"team-${i}/**"]
    environments: [production, "staging-*"]
  mode: enforce
  enforceFrom: "2025-01-01T00:00:00Z"
  requireDigest: true
  signatures:
    - name: release
      threshold: 2
      signers:
        - key: ${hex('a1')}
        - key: ${hex('b2')}
        - keyless: {issuer: "${GH}", identityPattern: "https://github.com/acme/*/.github/workflows/release.yml@refs/heads/main"}
  attestations:
    - name: scan
      predicateType: ${TYPES[0]}
      signers: [{key: ${hex('c3')}}]
      condition: '${cond('!predicate.scanner.result.findings.exists(f, f.severity == "CRITICAL")', i)}'
      maxAge: 30d
    - name: evaluation
      predicateType: ${TYPES[1]}
      signers: [{keyless: {issuer: "${GH}", identityPattern: "https://github.com/acme/*/.github/workflows/eval.yml@refs/heads/main"}}]
      condition: '${cond(`predicate.results.exists(r, r.dataset == "holdout-${i % 5}" && r.metric == "accuracy" && r.value >= 0.9)`, i)}'
    - name: provenance
      predicateType: ${TYPES[2]}
      signers: [{keyless: {issuer: "${GH}", identityPattern: "https://github.com/acme/*/.github/workflows/release.yml@refs/heads/main"}}]
      condition: '${cond('predicate.buildDefinition.externalParameters.workflow.repository.matchesGlob("https://github.com/acme/*")', i)}'
    - name: license
      predicateType: ${TYPES[3]}
      signers: [{key: ${hex('c3')}}]
      condition: '${cond('predicate.license in ["Apache-2.0", "MIT", "BSD-3-Clause"]', i)}'
  transformation: {requireContinuity: true}
  access:
    deploy: [{identity: "system:serviceaccount:serving:deployer", issuer: "https://kubernetes.default.svc"}]
`;
}

const keyless = (identity: string) => ({
  kind: 'keyless' as const,
  identity,
  issuer: GH,
  certificateFingerprint: hex('f0'),
});
const c3 = { kind: 'key' as const, keyType: 'ecdsa-p256' as const, hint: hex('c3') };

function attestations(): AttestationFacts[] {
  const issuedAt = new Date('2025-09-28T00:00:00Z');
  const findings = Array.from({ length: 40 }, (_, i) => ({
    id: `CVE-2025-${1000 + i}`,
    severity: i % 3 === 0 ? 'HIGH' : 'LOW',
  }));
  const list: AttestationFacts[] = [
    {
      predicateType: TYPES[0]!,
      digest: DIGEST,
      signer: c3,
      issuedAt,
      predicate: { scanner: { uri: 'pkg:x', result: { findings } } },
    },
    {
      predicateType: TYPES[1]!,
      digest: DIGEST,
      signer: keyless('https://github.com/acme/evals/.github/workflows/eval.yml@refs/heads/main'),
      issuedAt,
      predicate: {
        results: Array.from({ length: 5 }, (_, i) => ({
          dataset: `holdout-${i}`,
          metric: 'accuracy',
          value: 0.91 + i / 100,
        })),
      },
    },
    {
      predicateType: TYPES[2]!,
      digest: DIGEST,
      signer: keyless('https://github.com/acme/llm/.github/workflows/release.yml@refs/heads/main'),
      issuedAt,
      predicate: {
        buildDefinition: {
          buildType: 'https://actions.github.io/buildtypes/workflow/v1',
          externalParameters: {
            workflow: { repository: 'https://github.com/acme/llm', ref: 'refs/heads/main' },
          },
        },
      },
    },
    {
      predicateType: TYPES[3]!,
      digest: DIGEST,
      signer: c3,
      issuedAt,
      predicate: { license: 'Apache-2.0' },
    },
  ];
  // Six more: older scans (same type, so conditions run on several candidates), SBOMs, others.
  for (let i = 0; i < 6; i++) {
    list.push({
      predicateType: TYPES[i % 2 === 0 ? 0 : 4]!,
      digest: DIGEST,
      signer: c3,
      issuedAt: new Date(issuedAt.getTime() - (i + 1) * 86400_000),
      predicate: { scanner: { uri: 'pkg:x', result: { findings: findings.slice(0, 10) } } },
    });
  }
  return list;
}

function facts(): ArtifactFacts {
  return {
    digest: DIGEST,
    repository: 'acme/llm',
    environment: 'production',
    reference: { kind: 'digest' },
    request: {
      action: 'deploy',
      identity: {
        subject: 'system:serviceaccount:serving:deployer',
        issuer: 'https://kubernetes.default.svc',
      },
    },
    signatures: [
      { digest: DIGEST, signer: { kind: 'key', keyType: 'ecdsa-p256', hint: hex('a1') } },
      { digest: DIGEST, signer: { kind: 'key', keyType: 'ecdsa-p256', hint: hex('b2') } },
    ],
    attestations: attestations(),
    transformation: { status: 'original' },
  };
}

function measure(label: string, next: () => ArtifactFacts) {
  const set = loaded;
  const now = new Date('2025-10-01T12:00:00Z');
  for (let i = 0; i < 200; i++) evaluate(next(), set.policies, set.exceptions, set.grants, now);
  const times: number[] = [];
  const cpu: number[] = [];
  let outcome = '';
  for (let i = 0; i < ITERATIONS; i++) {
    const f = next();
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    outcome = evaluate(f, set.policies, set.exceptions, set.grants, now).outcome;
    times.push(performance.now() - start);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const total = times.reduce((a, b) => a + b, 0);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
  const row = {
    run: label,
    outcome,
    decisionsPerSecond: Math.round((ITERATIONS / total) * 1000),
    medianMs: Number(q(0.5).toFixed(3)),
    p90Ms: Number(q(0.9).toFixed(3)),
    p99Ms: Number(q(0.99).toFixed(3)),
    // CPU time per decision (this process, all threads): less sensitive than wall time to other
    // work on the machine.
    cpuMedianMs: Number(cpu[Math.floor(cpu.length / 2)]!.toFixed(3)),
  };
  console.log(
    `${label.padEnd(6)} ${row.outcome.padEnd(6)} ${String(row.decisionsPerSecond).padStart(7)} decisions/s   median ${row.medianMs.toFixed(3)} ms   p90 ${row.p90Ms.toFixed(3)} ms   p99 ${row.p99Ms.toFixed(3)} ms   cpu median ${row.cpuMedianMs.toFixed(3)} ms`,
  );
  return row;
}

const loadStart = performance.now();
const loaded = loadPolicySet([
  {
    source: 'bench.yaml',
    text: Array.from({ length: POLICIES }, (_, i) => policyYaml(i)).join('---\n'),
  },
]);
const loadMs = performance.now() - loadStart;
console.log(
  `${POLICIES} policies (${loaded.policies.reduce((n, p) => n + p.requirements.length, 0)} requirements, ${POLICIES * 4} CEL conditions, ${UNIQUE ? 'nothing shared' : DISTINCT ? 'distinct, sharing a baseline && part' : 'shared between policies'}; ${MATCHING} cover the artifact) loaded in ${loadMs.toFixed(0)} ms; artifact with ${attestations().length} attestations; ${ITERATIONS} decisions per run`,
);
const shared = facts();
const warm = measure('warm', () => shared);
const fresh = measure('fresh', () => facts());
const pass = warm.medianMs < 1 && fresh.medianMs < 1;
const [load1] = loadavg();
console.log(
  `target: median < 1 ms per decision — ${pass ? 'met' : 'NOT met'} (load average ${load1!.toFixed(2)} on ${availableParallelism()} cores)`,
);
console.log(
  JSON.stringify({
    policies: POLICIES,
    conditions: UNIQUE ? 'unique' : DISTINCT ? 'distinct' : 'shared',
    matching: MATCHING,
    attestations: 10,
    iterations: ITERATIONS,
    loadMs: Math.round(loadMs),
    loadAverage: load1,
    runs: [warm, fresh],
  }),
);

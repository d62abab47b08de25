import { serializeStatement, type JsonValue } from '../attest/index.js';
import type { Decision } from '../policy/index.js';
import type { BundleRecord, Sha256Digest } from '../store/index.js';

/** SLSA Verification Summary v1: the promotion decision as a signed attestation. */
export const SLSA_VERIFICATION_SUMMARY_V1 = 'https://slsa.dev/verification_summary/v1';
/** The verifier id Cairn's registry writes into its summaries. */
export const CAIRN_REGISTRY_VERIFIER = 'https://cairn.dev/registry/v1';

export interface PromotionSummaryInput {
  readonly repository: string;
  readonly digest: Sha256Digest;
  readonly from: string;
  readonly to: string;
  readonly decision: Decision;
  /** The bundles the decision was made over (their ids are sha256 of the bundle text). */
  readonly inputs: readonly BundleRecord[];
  readonly auditSeq: number;
}

/**
 * The in-toto statement bytes of a promotion decision: verifier, time, resource, the policies
 * evaluated, the input attestations by digest, PASSED (only allowed promotions are summarised)
 * and Cairn's own detail (outcome, environments, exceptions and break-glass used, audit seq).
 */
export function promotionSummaryStatement(input: PromotionSummaryInput): Buffer {
  const d = input.decision;
  const predicate: { [key: string]: JsonValue } = {
    verifier: { id: CAIRN_REGISTRY_VERIFIER },
    timeVerified: d.evaluatedAt,
    resourceUri: `cairn:${input.repository}@${input.digest}`,
    policy: { uri: `cairn:policy/${d.policies.map((p) => p.name).join(',')}` },
    inputAttestations: input.inputs.map((b) => ({
      uri: `cairn:bundle/${b.id}`,
      digest: { sha256: b.id.slice('sha256:'.length) },
    })),
    verificationResult: 'PASSED',
    verifiedLevels: [],
    cairn: {
      action: 'promote',
      from: input.from,
      to: input.to,
      outcome: d.outcome,
      reviewRequired: d.reviewRequired,
      auditSeq: input.auditSeq,
      exceptions: d.exceptions.filter((e) => e.state === 'applied').map((e) => e.name),
      breakGlass: d.breakGlass.map((b) => b.grant),
      violations: d.violations.map((v) => `${v.policy}:${v.requirement}`),
    },
  };
  return serializeStatement({
    digest: input.digest,
    subjectName: input.repository,
    predicateType: SLSA_VERIFICATION_SUMMARY_V1,
    predicate,
  });
}

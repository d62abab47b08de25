import {
  CAIRN_SCAN_V1,
  CAIRN_TRANSFORMATION_V1,
  SLSA_PROVENANCE_V1,
  attestationFacts as attestationView,
  type LineageResult,
  type VerifiedAttestation,
} from '../attest/index.js';
import type { ArtifactDigest } from '../digest/index.js';
import type { SignerFacts } from '../verify/index.js';
import type {
  ArtifactFacts,
  AttestationFacts,
  ReferenceFacts,
  RequestFacts,
  SignatureFacts,
  TransformationFacts,
} from './facts.js';

/**
 * What a gate verified about one artifact, before policy: the one place where verification
 * results become `ArtifactFacts` (pure; the caller did the I/O and the cryptography).
 */
export interface VerifiedEvidence {
  readonly digest: ArtifactDigest;
  /** Verified OMS signatures (those over other digests are kept and ignored by the engine). */
  readonly signatures: readonly SignatureFacts[];
  /** Attestations that verified for `digest` (`verifyAttestation`); refused ones are left out. */
  readonly attestations: readonly VerifiedAttestation[];
  /**
   * Verified signatures over parent artifacts, for transformation continuity: a derived model is
   * continuous when a verified transformation attestation names parents that all carry one.
   */
  readonly parentSignatures?: readonly {
    readonly digest: ArtifactDigest;
    readonly signer: SignerFacts;
  }[];
  /**
   * The artifact's lineage walked back to signed roots (`traceLineage` from `attest`, with the
   * same trust), when the gate has its ancestors' evidence: continuity beyond one step. When
   * given it decides continuity for a derived artifact instead of `parentSignatures`.
   */
  readonly lineage?: LineageResult;
}

/** Where and how the gate was asked. */
export interface GateContext {
  readonly repository: string;
  readonly environment: string;
  readonly reference: ReferenceFacts;
  readonly request: RequestFacts;
}

/** Stands for "no verified time" while `attestationFacts` picks a log time when there is one. */
const UNDATED = new Date(0);

/**
 * The facts every gate hands to `evaluate`, built from verified evidence only. Each attestation
 * keeps its signer and predicate; its `issuedAt` is the transparency-log integration time when
 * the bundle carries one, else the time its trusted signer signed into the predicate
 * (provenance `runDetails.metadata.finishedOn`, transformation `finishedOn`, scan `scannedAt`),
 * else absent — and an undated attestation never satisfies a maximum age.
 */
export function factsFromEvidence(evidence: VerifiedEvidence, gate: GateContext): ArtifactFacts {
  const attestations = evidence.attestations.map((v): AttestationFacts => {
    const view = attestationView(v, signedTime(v) ?? UNDATED);
    return {
      predicateType: view.predicateType,
      digest: view.digest,
      signer: view.signer,
      ...(v.trustedSigner === undefined ? {} : trustRootNames(v.trustedSigner)),
      predicate: view.predicate,
      ...(view.issuedAt === UNDATED ? {} : { issuedAt: view.issuedAt }),
    };
  });
  return {
    digest: evidence.digest,
    repository: gate.repository,
    environment: gate.environment,
    reference: gate.reference,
    request: gate.request,
    signatures: evidence.signatures,
    attestations,
    transformation: transformationOf(evidence),
  };
}

/**
 * The trust-root names a signature or attestation is counted and matched by, from the signer
 * entry trust-root verification matched (`TrustedSignatureFacts` from `keys`).
 */
export function trustRootNames(trusted: {
  readonly signerId: string;
  readonly principal: string;
}): { trustRootSigner: string; trustRootPrincipal?: string } {
  return trusted.principal === trusted.signerId
    ? { trustRootSigner: trusted.signerId }
    : { trustRootSigner: trusted.signerId, trustRootPrincipal: trusted.principal };
}

function field(value: unknown, ...path: string[]): unknown {
  let at = value;
  for (const key of path) {
    if (at === null || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = Object.hasOwn(at, key) ? (at as Record<string, unknown>)[key] : undefined;
  }
  return at;
}

/**
 * The time the attestation's signer put in the signed predicate, when its type has one: provenance
 * `runDetails.metadata.finishedOn`, transformation `finishedOn`, scan report `scannedAt`.
 */
function signedTime(v: VerifiedAttestation): Date | undefined {
  const text =
    v.predicateType === SLSA_PROVENANCE_V1
      ? field(v.predicate, 'runDetails', 'metadata', 'finishedOn')
      : v.predicateType === CAIRN_TRANSFORMATION_V1
        ? field(v.predicate, 'finishedOn')
        : v.predicateType === CAIRN_SCAN_V1
          ? field(v.predicate, 'scannedAt')
          : undefined;
  if (typeof text !== 'string') return undefined;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/**
 * Continuity from the verified attestations about this digest:
 * - a transformation attestation whose parents (materials) all have a verified signature →
 *   `continuous` (one verified step from a signed parent);
 * - transformation attestations, but a parent without a verified signature → `broken`;
 * - none, but verified provenance from a trusted builder → `original` (its builder vouches it
 *   was built, not derived);
 * - neither → `unknown`, which a continuity requirement treats as not continuous.
 * With a lineage walk (`evidence.lineage`), a derived artifact is `continuous` only when every
 * hop back to signed roots verified, and `broken` at the first hop that did not.
 */
function transformationOf(evidence: VerifiedEvidence): TransformationFacts {
  const about = evidence.attestations.filter((a) => a.digest === evidence.digest);
  const steps = about.filter((a) => a.predicateType === CAIRN_TRANSFORMATION_V1);
  const chain = evidence.lineage;
  if (chain !== undefined && chain.digest === evidence.digest) {
    const derived = chainContinuity(chain);
    if (derived !== undefined) return derived;
  }
  if (steps.length === 0) {
    return about.some((a) => a.predicateType === SLSA_PROVENANCE_V1)
      ? { status: 'original' }
      : { status: 'unknown' };
  }
  const signed = new Set((evidence.parentSignatures ?? []).map((s) => s.digest));
  let firstUnsigned: ArtifactDigest | undefined;
  for (const step of steps) {
    const parents = materials(step);
    const unsigned = parents.find((p) => !signed.has(p));
    if (parents.length > 0 && unsigned === undefined) {
      return { status: 'continuous', parent: parents[0]!, steps: 1 };
    }
    firstUnsigned ??= unsigned;
  }
  return firstUnsigned === undefined
    ? { status: 'broken', reason: 'the transformation attestation names no parent' }
    : {
        status: 'broken',
        parent: firstUnsigned,
        reason: `the parent ${firstUnsigned} has no verified signature`,
      };
}

/**
 * Continuity from a lineage walk, when it shows the artifact is derived (a verified
 * transformation about it, or a break the walk found): `continuous` when every path reaches
 * signed roots, with the number of transformation hops; `broken` with the walker's reason
 * otherwise. Undefined when the artifact is not derived (the walk says nothing more).
 */
function chainContinuity(chain: LineageResult): TransformationFacts | undefined {
  const start = chain.nodes[0];
  const parent = start?.parents[0];
  if (chain.error !== undefined) {
    return {
      status: 'broken',
      ...(parent === undefined ? {} : { parent }),
      reason: `${chain.error.code}: ${chain.error.message}`,
    };
  }
  if (start?.transformation === undefined || parent === undefined) return undefined;
  return {
    status: 'continuous',
    parent,
    steps: chain.nodes.filter((n) => n.transformation !== undefined).length,
  };
}

function materials(step: VerifiedAttestation): ArtifactDigest[] {
  const list = field(step.predicate, 'materials');
  if (!Array.isArray(list)) return [];
  return list
    .map((m) => field(m, 'digest'))
    .filter((d): d is ArtifactDigest => typeof d === 'string' && d.startsWith('sha256:'));
}

import type { ArtifactDigest } from '../digest/index.js';
import { VerificationError, isCairnError, type ErrorCode } from '../errors/index.js';
import type { VerifiedAttestation } from './attestation.js';
import { CAIRN_TRANSFORMATION_V1 } from './predicates.js';
import type { TransformationPredicate } from './transformation.js';
import type { BundleVerifier, VerifiedSignatureClaim } from './trusted.js';

/**
 * Lineage and chain verification: from an artifact back through transformation attestations
 * (materials → product) to signed roots. Every hop must be vouched for by its own signature or
 * a transformation attestation about its exact digest; a derived model carrying only its
 * parent's signature is CHAIN_HOP_UNSIGNED — the "signed once, trusted forever" failure.
 */

/** Most hops from the artifact to any root, and most artifacts in one walk. */
export const MAX_CHAIN_DEPTH = 32;
export const MAX_CHAIN_ARTIFACTS = 256;

/** A bundle found for an artifact, with what it claims (unverified; used only to route it). */
export interface EvidenceBundle {
  /** File it came from, for messages. */
  readonly source: string;
  /** 1-based line in an attestations file; absent for a signature file. */
  readonly line?: number;
  readonly bundle: Uint8Array;
  /** The predicate type the statement claims, when it could be read. */
  readonly claimedPredicateType?: string;
}

/** The signatures and attestations found for one artifact. */
export interface ArtifactEvidence {
  readonly signatures: readonly EvidenceBundle[];
  readonly attestations: readonly EvidenceBundle[];
}

/** Where ancestors are looked up by digest (a `--chain-store` directory, a registry, …). */
export interface ChainStore {
  find(digest: ArtifactDigest): ArtifactEvidence | undefined;
}

export interface LineageAttestation {
  readonly source: string;
  readonly line: number;
  readonly attestation: VerifiedAttestation;
}

export interface RefusedBundle {
  readonly source: string;
  readonly line?: number;
  readonly predicateType?: string;
  readonly code: ErrorCode;
  readonly message: string;
}

/** One artifact of the lineage and what was verified about it. */
export interface LineageNode {
  readonly digest: ArtifactDigest;
  /** Its own verified model signature, when it has one. */
  readonly signature?: VerifiedSignatureClaim & { readonly source: string };
  /** The verified transformation that produced it, when it is derived. */
  readonly transformation?: LineageAttestation & { readonly predicate: TransformationPredicate };
  /** Every attestation that verified for this digest (transformation included). */
  readonly attestations: readonly LineageAttestation[];
  /** Every bundle found for it that did not verify for it, with the code it was refused with. */
  readonly refused: readonly RefusedBundle[];
  /** Parent digests (the transformation's materials); empty for a root. */
  readonly parents: readonly ArtifactDigest[];
  /** Hops from the artifact the walk started at. */
  readonly depth: number;
}

export interface LineageResult {
  readonly digest: ArtifactDigest;
  /** The start first, then ancestors depth-first, each once. */
  readonly nodes: readonly LineageNode[];
  /** Why the chain does not reach signed roots; absent when every path does. */
  readonly error?: VerificationError;
}

/** Codes that mean "signed, but by someone not trusted for this" rather than "not signed". */
const TRUST_CODES: readonly ErrorCode[] = [
  'KEY_MISMATCH',
  'VERIFICATION_MATERIAL_MISMATCH',
  'CERT_CHAIN_INVALID',
  'CERT_USAGE_INVALID',
  'IDENTITY_MISMATCH',
  'SIGNER_UNTRUSTED',
  'SIGNER_REVOKED',
  'SIGNER_EXPIRED',
  'SIGNER_OUT_OF_SCOPE',
];

function refusal(b: EvidenceBundle, err: unknown): RefusedBundle {
  if (!isCairnError(err)) throw err;
  return {
    source: b.source,
    ...(b.line === undefined ? {} : { line: b.line }),
    ...(b.claimedPredicateType === undefined ? {} : { predicateType: b.claimedPredicateType }),
    code: err.code,
    message: err.message,
  };
}

interface Evaluated {
  readonly node: LineageNode;
  /** Digests that a signature found for this artifact verified for instead. */
  readonly signedOther: readonly ArtifactDigest[];
}

function evaluate(
  digest: ArtifactDigest,
  evidence: ArtifactEvidence,
  verifier: BundleVerifier,
  depth: number,
): Evaluated {
  const refused: RefusedBundle[] = [];
  const signedOther: ArtifactDigest[] = [];
  let signature: LineageNode['signature'];
  for (const b of evidence.signatures) {
    try {
      const v = verifier.signature(b.bundle);
      if (v.digest === digest) signature ??= { ...v, source: b.source };
      else {
        signedOther.push(v.digest);
        refused.push({
          source: b.source,
          predicateType: v.predicateType,
          code: 'ATTESTATION_SUBJECT_MISMATCH',
          message: `The signature is for ${v.digest}, not ${digest}`,
        });
      }
    } catch (err) {
      refused.push(refusal(b, err));
    }
  }
  const attestations: LineageAttestation[] = [];
  for (const b of evidence.attestations) {
    try {
      attestations.push({
        source: b.source,
        line: b.line ?? 0,
        attestation: verifier.attestation(b.bundle, digest),
      });
    } catch (err) {
      refused.push(refusal(b, err));
    }
  }
  const t = attestations.find((a) => a.attestation.predicateType === CAIRN_TRANSFORMATION_V1);
  const transformation =
    t === undefined
      ? undefined
      : { ...t, predicate: t.attestation.predicate as unknown as TransformationPredicate };
  const parents = transformation?.predicate.materials.map((m) => m.digest) ?? [];
  return {
    node: {
      digest,
      ...(signature === undefined ? {} : { signature }),
      ...(transformation === undefined ? {} : { transformation }),
      attestations,
      refused,
      parents: [...new Set(parents)],
      depth,
    },
    signedOther,
  };
}

/** Why an artifact with neither its own signature nor a verified transformation fails. */
function unvouched(e: Evaluated, isStart: boolean, child: ArtifactDigest | undefined) {
  const node = e.node;
  const relevant = node.refused.filter(
    (r) =>
      r.line === undefined ||
      r.predicateType === CAIRN_TRANSFORMATION_V1 ||
      r.predicateType === undefined,
  );
  const details = {
    digest: node.digest,
    ...(child === undefined ? {} : { child }),
    refused: relevant.map((r) => ({ ...r })),
  };
  const untrusted = relevant.filter((r) => TRUST_CODES.includes(r.code));
  if (untrusted.length > 0) {
    const first = untrusted[0]!;
    return new VerificationError(
      'CHAIN_HOP_UNTRUSTED',
      `${node.digest} is vouched for only by an untrusted or out-of-scope signer (${first.code} in ${first.source}${first.line === undefined ? '' : ` line ${first.line}`})`,
      { details },
    );
  }
  const otherDigests = [
    ...e.signedOther,
    ...relevant.filter((r) => r.code === 'ATTESTATION_SUBJECT_MISMATCH' && r.line !== undefined),
  ];
  if (!isStart && otherDigests.length > 0) {
    return new VerificationError(
      'CHAIN_DIGEST_MISMATCH',
      `The parent found for ${node.digest}${child === undefined ? '' : ` (material of ${child})`} is signed for another digest${e.signedOther.length > 0 ? ` (${e.signedOther.join(', ')})` : ''}`,
      { details: { ...details, signedFor: e.signedOther } },
    );
  }
  return new VerificationError(
    'CHAIN_HOP_UNSIGNED',
    e.signedOther.length > 0
      ? `${node.digest} carries a signature for ${e.signedOther.join(', ')} but none of its own, and no transformation attestation says how it was made from it`
      : `${node.digest} has no verified signature or transformation attestation of its own`,
    { details: { ...details, signedFor: e.signedOther } },
  );
}

/**
 * Walks the lineage of `digest` (its evidence given, ancestors from `store`), verifying every
 * bundle with `verifier`. Never throws for a broken chain: the walk stops at the first break and
 * reports it as `error`, with every node verified so far.
 */
export function traceLineage(
  digest: ArtifactDigest,
  evidence: ArtifactEvidence,
  store: ChainStore,
  verifier: BundleVerifier,
): LineageResult {
  const nodes: LineageNode[] = [];
  const done = new Set<ArtifactDigest>();
  const visit = (
    d: ArtifactDigest,
    ev: ArtifactEvidence,
    path: readonly ArtifactDigest[],
  ): VerificationError | undefined => {
    const child = path.at(-1);
    if (done.has(d)) return undefined;
    if (path.length > MAX_CHAIN_DEPTH || nodes.length >= MAX_CHAIN_ARTIFACTS) {
      return new VerificationError(
        'CHAIN_TOO_LONG',
        `The chain goes past ${MAX_CHAIN_DEPTH} hops or ${MAX_CHAIN_ARTIFACTS} artifacts`,
        { details: { digest: d, depth: path.length, artifacts: nodes.length } },
      );
    }
    const e = evaluate(d, ev, verifier, path.length);
    nodes.push(e.node);
    done.add(d);
    if (e.node.transformation === undefined) {
      return e.node.signature === undefined ? unvouched(e, path.length === 0, child) : undefined;
    }
    for (const parent of e.node.parents) {
      if (parent === d || path.includes(parent)) {
        return new VerificationError('CHAIN_CYCLE', `${parent} is named as its own ancestor`, {
          details: { digest: parent, path: [...path, d, parent] },
        });
      }
      const found = store.find(parent);
      if (found === undefined) {
        return new VerificationError(
          'CHAIN_PARENT_MISSING',
          `${d} was made from ${parent}, which the chain store does not hold`,
          {
            details: {
              digest: parent,
              child: d,
              transformation: {
                source: e.node.transformation.source,
                line: e.node.transformation.line,
              },
            },
          },
        );
      }
      const err = visit(parent, found, [...path, d]);
      if (err !== undefined) return err;
    }
    return undefined;
  };
  const error = visit(digest, evidence, []);
  return { digest, nodes, ...(error === undefined ? {} : { error }) };
}

/** `traceLineage`, throwing the break: the chain of `digest` reaches signed roots or fails. */
export function verifyChain(
  digest: ArtifactDigest,
  evidence: ArtifactEvidence,
  store: ChainStore,
  verifier: BundleVerifier,
): LineageResult {
  const result = traceLineage(digest, evidence, store, verifier);
  if (result.error !== undefined) throw result.error;
  return result;
}

import type { X509Certificate } from 'node:crypto';
import {
  CAIRN_TRANSFORMATION_V1,
  transformationFromJSON,
  verifierForTrustRoot,
  type ArtifactEvidence,
  type BundleVerifier,
  type VerifiedAttestation,
} from '../attest/index.js';
import { bundleFromJSON, statementFromPayload } from '../envelope/index.js';
import { UsageError, VerificationError, isCairnError } from '../errors/index.js';
import type { TrustRoot } from '../keys/index.js';
import { trustRootNames, type SignatureFacts } from '../policy/index.js';
import type { BundleRecord, Sha256Digest } from '../store/index.js';

/** What the server trusts when it re-verifies signatures and attestations. */
export interface RegistryTrust {
  /** The verified trust root: who may sign what. Without it no signature verifies. */
  readonly root?: TrustRoot;
  /**
   * CA roots for certificate-mode signers whose trust-root entry names none (an entry's own
   * roots always win: `trustsFromRoot` in the attest domain).
   */
  readonly certificateRoots?: readonly X509Certificate[];
}

/** A stored bundle that did not verify, and why (listed in the decision, never trusted). */
export interface RefusedBundle {
  readonly id: string;
  readonly kind: BundleRecord['kind'];
  readonly predicateType: string;
  readonly code: string;
  readonly message: string;
}

/** The stored bundles of one digest that verified, as the policy facts builder takes them. */
export interface VerifiedBundles {
  readonly signatures: readonly SignatureFacts[];
  readonly attestations: readonly VerifiedAttestation[];
  readonly refused: readonly RefusedBundle[];
}

/** Where a verification is asked: the trust-root scope (repository, environment) and time. */
export interface EvidenceScope {
  readonly repository: string;
  readonly environment: string;
  readonly at: Date;
}

/**
 * The one verifier the registry uses: the attest domain's trust-root verifier (signer listed,
 * not revoked, in its window, scoped to the repository, environment and predicate type; each
 * signer's own CA roots or keyless identity from the trust root). Without a trust root every
 * bundle is refused.
 */
export function registryVerifier(trust: RegistryTrust, scope: EvidenceScope): BundleVerifier {
  const root = trust.root;
  if (root === undefined) {
    const refuse = (): never => {
      throw new UsageError(
        'USAGE',
        'The server has no trust root, so no signature can be trusted',
        {
          hint: 'Start `cairn serve` with --trust-root FILE.',
        },
      );
    };
    return { signature: refuse, attestation: refuse };
  }
  return verifierForTrustRoot(root, {
    repository: scope.repository,
    environment: scope.environment,
    at: scope.at,
    ...(trust.certificateRoots === undefined ? {} : { certificateRoots: trust.certificateRoots }),
  });
}

/**
 * Re-verifies every stored bundle of `digest` for the repository and environment the gate
 * guards, at `at`. What verifies is kept (signatures with their trust-root names, so thresholds
 * count people, not keys); what does not is listed with its code.
 */
export function verifyEvidence(
  bundles: readonly BundleRecord[],
  trust: RegistryTrust,
  scope: EvidenceScope & { readonly digest: Sha256Digest },
): VerifiedBundles {
  const verifier = registryVerifier(trust, scope);
  const signatures: SignatureFacts[] = [];
  const attestations: VerifiedAttestation[] = [];
  const refused: RefusedBundle[] = [];
  for (const b of bundles) {
    try {
      const bytes = Buffer.from(b.bundle, 'utf8');
      if (b.kind === 'signature') {
        const verified = verifier.signature(bytes);
        if (verified.digest !== scope.digest) {
          throw new VerificationError(
            'SUBJECT_DIGEST_MISMATCH',
            `The signature is over ${verified.digest}, not ${scope.digest}`,
          );
        }
        signatures.push({
          signer: verified.signer,
          digest: verified.digest,
          ...(verified.trustedSigner === undefined ? {} : trustRootNames(verified.trustedSigner)),
        });
      } else {
        attestations.push(verifier.attestation(bytes, scope.digest));
      }
    } catch (err) {
      if (!isCairnError(err)) throw err;
      refused.push({
        id: b.id,
        kind: b.kind,
        predicateType: b.predicateType,
        code: err.code,
        message: err.message,
      });
    }
  }
  return { signatures, attestations, refused };
}

/** Stored bundles as the attest chain walker reads an artifact's evidence. */
export function chainEvidence(
  repository: string,
  bundles: readonly BundleRecord[],
): ArtifactEvidence {
  const entry = (b: BundleRecord) => ({
    source: `registry:${repository}/${b.id}`,
    bundle: Buffer.from(b.bundle, 'utf8'),
    claimedPredicateType: b.predicateType,
  });
  return {
    signatures: bundles.filter((b) => b.kind === 'signature').map(entry),
    attestations: bundles.filter((b) => b.kind === 'attestation').map(entry),
  };
}

/**
 * The parents the stored transformation attestations *claim* (read unverified: only to know
 * which ancestors' bundles to load for the chain walker, which verifies every one), with the
 * repositories to look in: the child's own, and the one a material's name names.
 */
export function claimedParents(
  repository: string,
  bundles: readonly BundleRecord[],
): { readonly digest: Sha256Digest; readonly name?: string }[] {
  const parents: { digest: Sha256Digest; name?: string }[] = [];
  for (const b of bundles) {
    if (b.kind !== 'attestation' || b.predicateType !== CAIRN_TRANSFORMATION_V1) continue;
    try {
      const statement = statementFromPayload(
        bundleFromJSON(Buffer.from(b.bundle, 'utf8')).dsseEnvelope.payload,
      );
      for (const m of transformationFromJSON(statement.predicate).materials) {
        parents.push({
          digest: m.digest,
          ...(m.name === undefined || m.name === repository ? {} : { name: m.name }),
        });
      }
    } catch (err) {
      if (!isCairnError(err)) throw err;
      // Unreadable: the walker refuses it on its own when it meets it.
    }
  }
  return parents;
}

/** Reasons for the audit trail: each refused bundle's code, prefixed by its kind. */
export function refusedReasons(refused: readonly RefusedBundle[]): string[] {
  return refused.map((r) => `${r.kind}:${r.code}`);
}

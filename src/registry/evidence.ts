import type { X509Certificate } from 'node:crypto';
import {
  verifierForTrustRoot,
  type BundleVerifier,
  type VerifiedAttestation,
} from '../attest/index.js';
import { UsageError, VerificationError, isCairnError } from '../errors/index.js';
import type { TrustRoot } from '../keys/index.js';
import { trustRootNames, type SignatureFacts } from '../policy/index.js';
import type { BundleRecord, Sha256Digest } from '../store/index.js';
import type { SignerFacts } from '../verify/index.js';

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
function verifierFor(trust: RegistryTrust, scope: EvidenceScope): BundleVerifier {
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
  const verifier = verifierFor(trust, scope);
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

/**
 * The verified signatures over `parent` among its stored bundles, checked in the scope where
 * the parent is stored (for transformation continuity: a derived model counts only when its
 * parent carries a trusted signature of its own).
 */
export function verifyParentSignatures(
  bundles: readonly BundleRecord[],
  trust: RegistryTrust,
  scope: EvidenceScope & { readonly digest: Sha256Digest },
): { readonly digest: Sha256Digest; readonly signer: SignerFacts }[] {
  return verifyEvidence(
    bundles.filter((b) => b.kind === 'signature'),
    trust,
    scope,
  ).signatures.map((s) => ({ digest: s.digest, signer: s.signer }));
}

/** Reasons for the audit trail: each refused bundle's code, prefixed by its kind. */
export function refusedReasons(refused: readonly RefusedBundle[]): string[] {
  return refused.map((r) => `${r.kind}:${r.code}`);
}

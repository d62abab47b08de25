import type { X509Certificate } from 'node:crypto';
import { attestationFacts, verifyAttestation } from '../attest/index.js';
import { UsageError, VerificationError, isCairnError } from '../errors/index.js';
import {
  loadEmbeddedSigstoreTrustedRoot,
  trustedKeyForHint,
  verifyAgainstTrustRoot,
  type TrustRoot,
} from '../keys/index.js';
import type { AttestationFacts, SignatureFacts } from '../policy/index.js';
import type { BundleRecord, Sha256Digest } from '../store/index.js';
import { inspectBundle, verifyBundle, type VerificationTrust } from '../verify/index.js';

/** What the server trusts when it re-verifies signatures and attestations. */
export interface RegistryTrust {
  /** The verified trust root: who may sign what. Without it no signature verifies. */
  readonly root?: TrustRoot;
  /** CA roots for certificate-mode bundles. */
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

export interface VerifiedEvidence {
  readonly signatures: readonly SignatureFacts[];
  readonly attestations: readonly AttestationFacts[];
  readonly refused: readonly RefusedBundle[];
}

/**
 * Re-verifies every stored bundle of `digest` against the trust root for the repository and
 * environment the gate guards, at `at`. What verifies becomes policy facts (with the trust-root
 * signer name, so thresholds count people, not keys); what does not is listed with its code.
 */
export function verifyEvidence(
  bundles: readonly BundleRecord[],
  trust: RegistryTrust,
  scope: {
    readonly repository: string;
    readonly environment: string;
    readonly digest: Sha256Digest;
    readonly at: Date;
  },
): VerifiedEvidence {
  const signatures: SignatureFacts[] = [];
  const attestations: AttestationFacts[] = [];
  const refused: RefusedBundle[] = [];
  for (const b of bundles) {
    try {
      const root = trust.root;
      if (root === undefined) {
        throw new UsageError(
          'USAGE',
          'The server has no trust root, so no signature can be trusted',
          {
            hint: 'Start `cairn serve` with --trust-root FILE.',
          },
        );
      }
      const bytes = Buffer.from(b.bundle, 'utf8');
      const verification = trustFor(bytes, root, trust);
      const check = { repository: scope.repository, environment: scope.environment, at: scope.at };
      if (b.kind === 'signature') {
        const verified = verifyBundle(bytes, verification);
        if (verified.digest !== scope.digest) {
          throw new VerificationError(
            'SUBJECT_DIGEST_MISMATCH',
            `The signature is over ${verified.digest}, not ${scope.digest}`,
          );
        }
        const signer = verifyAgainstTrustRoot(verified, root, check);
        signatures.push({
          signer: verified.signer,
          digest: verified.digest,
          trustRootSigner: signer.signerId,
        });
      } else {
        const verified = verifyAttestation(bytes, verification, scope.digest);
        const signer = verifyAgainstTrustRoot(verified, root, check);
        // The registry's receipt time is verified evidence the attestation existed by then.
        attestations.push({
          ...attestationFacts(verified, b.at),
          trustRootSigner: signer.signerId,
        });
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

/** The verification trust a bundle's claimed signer gets from the trust root. */
function trustFor(bytes: Buffer, root: TrustRoot, trust: RegistryTrust): VerificationTrust {
  const claims = inspectBundle(bytes);
  switch (claims.signer.kind) {
    case 'key':
      return { kind: 'key', publicKey: trustedKeyForHint(root, claims.signer.hint) };
    case 'certificate':
      if (trust.certificateRoots === undefined || trust.certificateRoots.length === 0) {
        throw new VerificationError(
          'CERT_CHAIN_INVALID',
          'The server trusts no certificate roots',
          {
            hint: 'Start `cairn serve` with --certificate-chain for certificate-mode signatures.',
          },
        );
      }
      return { kind: 'certificate', trustedRoots: trust.certificateRoots };
    case 'keyless': {
      const san = claims.signer.subjectAlternativeName;
      const entry = root.document.signers.find(
        // X509Certificate.subjectAltName reads `email:x` / `URI:x`; compared exactly.
        (s) =>
          s.identity.kind === 'keyless' &&
          [
            s.identity.identity,
            `email:${s.identity.identity}`,
            `URI:${s.identity.identity}`,
          ].includes(san ?? ''),
      );
      if (entry === undefined || entry.identity.kind !== 'keyless') {
        throw new VerificationError(
          'SIGNER_UNTRUSTED',
          'The keyless identity is not in the trust root',
        );
      }
      return {
        kind: 'keyless',
        identity: entry.identity.identity,
        issuer: entry.identity.issuer,
        trustedRoot: loadEmbeddedSigstoreTrustedRoot().trustedRoot,
      };
    }
  }
}

/** Reasons for the audit trail: each refused bundle's code, prefixed by its kind. */
export function refusedReasons(refused: readonly RefusedBundle[]): string[] {
  return refused.map((r) => `${r.kind}:${r.code}`);
}

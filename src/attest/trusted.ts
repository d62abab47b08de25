import type { X509Certificate } from 'node:crypto';
import type { ArtifactDigest } from '../digest/index.js';
import { UsageError, VerificationError, isCairnError } from '../errors/index.js';
import {
  loadEmbeddedSigstoreTrustedRoot,
  parseCertificates,
  trustedKeyForHint,
  verifyAgainstTrustRoot,
  type TrustRoot,
  type TrustedSignatureFacts,
} from '../keys/index.js';
import {
  inspectBundle,
  verifyBundle,
  type BundleClaims,
  type SignerFacts,
  type VerificationTrust,
} from '../verify/index.js';
import {
  verifyAttestation,
  type VerifiedAttestation,
  type VerifyAttestationOptions,
} from './attestation.js';

/** What a verified model signature (OMS bundle) establishes, read without the model's bytes. */
export interface VerifiedSignatureClaim {
  readonly digest: ArtifactDigest;
  readonly signer: SignerFacts;
  readonly predicateType: string;
  readonly trustedSigner?: TrustedSignatureFacts;
}

/**
 * How bundles are checked: with one trust (a key, CA roots or a keyless identity), or against a
 * trust root, where each bundle's signer must be listed and scoped to the bundle's predicate
 * type (and repository and environment). One role interface, so attestation lists, `--require`,
 * `--chain` and `lineage` check the same way in either mode.
 */
export interface BundleVerifier {
  /** A model signature bundle: the digest it vouches for, and who signed. Throws CairnError. */
  signature(bundle: Uint8Array): VerifiedSignatureClaim;
  /** An attestation bundle about `digest`. Throws CairnError. */
  attestation(bundle: Uint8Array, digest: ArtifactDigest): VerifiedAttestation;
}

export function isBundleVerifier(v: VerificationTrust | BundleVerifier): v is BundleVerifier {
  return !('kind' in v);
}

/** Every bundle checked with the one trust the caller gave. */
export function verifierForTrust(
  trust: VerificationTrust,
  options: VerifyAttestationOptions = {},
): BundleVerifier {
  return {
    signature: (bundle) => {
      const v = verifyBundle(bundle, trust);
      return { digest: v.digest, signer: v.signer, predicateType: v.predicateType };
    },
    attestation: (bundle, digest) => verifyAttestation(bundle, trust, digest, options),
  };
}

export interface TrustRootVerifierOptions extends VerifyAttestationOptions {
  readonly repository?: string;
  readonly environment?: string;
  /** Reference time for validity windows and revocation. */
  readonly at: Date;
  /** CA roots for certificate-mode signers whose trust root entry names none. */
  readonly certificateRoots?: readonly X509Certificate[];
}

/**
 * The trusts a bundle may verify under, from the trust root entry its claimed signer names
 * (a key hint, certificate subject and issuer, or keyless identity). Claims only pick the
 * entry; the signature is then verified with the entry's own material.
 */
export function trustsFromRoot(
  root: TrustRoot,
  claims: BundleClaims,
  certificateRoots: readonly X509Certificate[] | undefined,
): VerificationTrust[] {
  const signer = claims.signer;
  switch (signer.kind) {
    case 'key':
      return [{ kind: 'key', publicKey: trustedKeyForHint(root, signer.hint) }];
    case 'certificate': {
      const entry = root.document.signers.find(
        (s) =>
          s.identity.kind === 'certificate' &&
          s.identity.subject === signer.subject &&
          s.identity.issuer === signer.issuer,
      );
      if (entry === undefined || entry.identity.kind !== 'certificate') {
        throw new VerificationError(
          'SIGNER_UNTRUSTED',
          'The certificate subject and issuer are not in the trust root',
          { details: { subject: signer.subject, issuer: signer.issuer } },
        );
      }
      const pems = (entry.identity as { roots?: readonly string[] }).roots;
      const roots =
        pems === undefined
          ? certificateRoots
          : pems.flatMap((p) => parseCertificates(Buffer.from(p)));
      if (roots === undefined) {
        throw new UsageError(
          'USAGE',
          `Signer "${entry.id}" names no CA roots in the trust root: give them with --certificate-chain`,
        );
      }
      return [{ kind: 'certificate', trustedRoots: roots }];
    }
    case 'keyless': {
      const trusts: VerificationTrust[] = root.document.signers.flatMap((s) =>
        s.identity.kind === 'keyless' && s.identity.identity === signer.subjectAlternativeName
          ? [
              {
                kind: 'keyless' as const,
                identity: s.identity.identity,
                issuer: s.identity.issuer,
                trustedRoot: loadEmbeddedSigstoreTrustedRoot().trustedRoot,
              },
            ]
          : [],
      );
      if (trusts.length === 0) {
        throw new VerificationError(
          'SIGNER_UNTRUSTED',
          'The keyless identity is not in the trust root',
          { details: { identity: signer.subjectAlternativeName ?? null } },
        );
      }
      return trusts;
    }
  }
}

/** Tries each trust in turn; the first that verifies wins, else the last refusal. */
function firstVerified<T>(
  trusts: readonly VerificationTrust[],
  check: (t: VerificationTrust) => T,
): T {
  let last: unknown;
  for (const trust of trusts) {
    try {
      return check(trust);
    } catch (err) {
      if (!isCairnError(err)) throw err;
      last = err;
    }
  }
  throw last;
}

/**
 * Every bundle checked against a trust root: signer listed, not revoked, in its window, and
 * scoped to the repository, environment and — per bundle — the predicate type it signs. An
 * attestation by a signer not scoped to its predicate type is SIGNER_OUT_OF_SCOPE.
 */
export function verifierForTrustRoot(
  root: TrustRoot,
  options: TrustRootVerifierOptions,
): BundleVerifier {
  const scope = {
    ...(options.repository === undefined ? {} : { repository: options.repository }),
    ...(options.environment === undefined ? {} : { environment: options.environment }),
    at: options.at,
  };
  const check = (signer: SignerFacts, predicateType: string): TrustedSignatureFacts => {
    try {
      return verifyAgainstTrustRoot({ signer, predicateType }, root, scope);
    } catch (err) {
      if (!(err instanceof VerificationError) || err.code !== 'SIGNER_OUT_OF_SCOPE') throw err;
      const entry = err.details?.['signerId'];
      const scopes = root.document.signers.find((s) => s.id === entry)?.scopes;
      if (scopes === undefined || scopes.predicateTypes.includes(predicateType)) throw err;
      throw new VerificationError(err.code, err.message, {
        cause: err,
        hint: `Signer "${String(entry)}" may sign only ${scopes.predicateTypes.join(', ')}; a ${predicateType} statement needs a signer scoped to it (cairn trust add-signer --predicate-type ${predicateType}).`,
        details: { ...(err.details ?? {}), predicateType },
      });
    }
  };
  return {
    signature: (bundle) => {
      const trusts = trustsFromRoot(root, inspectBundle(bundle), options.certificateRoots);
      const v = firstVerified(trusts, (t) => verifyBundle(bundle, t));
      return {
        digest: v.digest,
        signer: v.signer,
        predicateType: v.predicateType,
        trustedSigner: check(v.signer, v.predicateType),
      };
    },
    attestation: (bundle, digest) => {
      const trusts = trustsFromRoot(root, inspectBundle(bundle), options.certificateRoots);
      const v = firstVerified(trusts, (t) => verifyAttestation(bundle, t, digest, options));
      return { ...v, trustedSigner: check(v.signer, v.predicateType) };
    },
  };
}

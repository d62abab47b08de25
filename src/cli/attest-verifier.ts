import { resolve } from 'node:path';
import { verifierForTrust, verifierForTrustRoot, type BundleVerifier } from '../attest/index.js';
import { UsageError, VerificationError } from '../errors/index.js';
import { parseCertificates } from '../keys/index.js';
import { MAX_CERT_BYTES, readSmallFile } from '../model/index.js';
import type { SignerFacts } from '../verify/index.js';
import type { Io } from './output.js';
import {
  loadTrustRootWithCheckpoint,
  verifyModelWithTrustRoot,
  type TrustRootVerification,
  type TrustRootVerifyFlags,
} from './trust.js';
import { trustFrom, type TrustFlags } from './trust-flags.js';

/** One trust (key, CA roots, identity) or a trust root, for every bundle a command checks. */
export interface VerifierFlags extends TrustFlags {
  readonly trustRoot?: string;
  readonly trustRootState?: string;
  readonly repository?: string;
  readonly environment?: string;
}

/**
 * The bundle verifier the flags ask for. With `--trust-root` each bundle's signer must be listed
 * and scoped to its predicate type (and `--repository`/`--environment`); `--certificate-chain`
 * then only supplies CA roots for certificate signers whose entry names none.
 */
export function bundleVerifierFrom(io: Io, flags: VerifierFlags, at = new Date()): BundleVerifier {
  if (flags.trustRoot === undefined) {
    if (flags.repository !== undefined || flags.environment !== undefined) {
      throw new UsageError('USAGE', '--repository and --environment need --trust-root');
    }
    return verifierForTrust(trustFrom(io, flags));
  }
  return trustRootVerifierFrom(io, { ...flags, trustRoot: flags.trustRoot }, at).verifier;
}

/** The trust-root bundle verifier, and the trust root version it checks against. */
export function trustRootVerifierFrom(
  io: Io,
  flags: VerifierFlags & { readonly trustRoot: string },
  at = new Date(),
): { verifier: BundleVerifier; version: number } {
  if (
    flags.publicKey !== undefined ||
    flags.identity !== undefined ||
    flags.identityProvider !== undefined
  ) {
    throw new UsageError('USAGE', '--trust-root replaces --public-key and --identity');
  }
  const { root } = loadTrustRootWithCheckpoint(io, flags.trustRoot, flags.trustRootState);
  const certificateRoots = flags.certificateChain?.flatMap((p) =>
    parseCertificates(readSmallFile(resolve(io.cwd, p), MAX_CERT_BYTES, 'Certificate file')),
  );
  const verifier = verifierForTrustRoot(root, {
    ...(flags.repository === undefined ? {} : { repository: flags.repository }),
    ...(flags.environment === undefined ? {} : { environment: flags.environment }),
    ...(certificateRoots === undefined ? {} : { certificateRoots }),
    at,
  });
  return { verifier, version: root.document.version };
}

/**
 * `verifyModelWithTrustRoot`, then the bundle verifier for the same trust root version: a trust
 * root file that changes between the two reads is TRUST_ROOT_ROLLBACK, so nothing is checked
 * against a version the model was not verified with.
 */
export async function verifyWithTrustRootVerifier(
  io: Io,
  model: string,
  flags: TrustRootVerifyFlags & VerifierFlags,
  at: Date,
): Promise<{ result: TrustRootVerification; verifier: BundleVerifier }> {
  const result = await verifyModelWithTrustRoot(io, model, flags, at);
  const { verifier, version } = trustRootVerifierFrom(io, flags, at);
  if (version !== result.trustRoot.version) {
    throw new VerificationError(
      'TRUST_ROOT_ROLLBACK',
      `The trust root changed while verifying (v${result.trustRoot.version}, then v${version})`,
      { details: { versions: [result.trustRoot.version, version] } },
    );
  }
  return { result, verifier };
}

/** A signer in one short phrase. */
export function signerText(s: SignerFacts): string {
  switch (s.kind) {
    case 'key':
      return `key ${s.hint.slice(0, 16)}…`;
    case 'certificate':
      return `certificate ${s.subject}`;
    case 'keyless':
      return `${s.identity} (${s.issuer})`;
  }
}

export { addVerifierOptions } from './options.js';

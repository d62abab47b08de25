import { resolve } from 'node:path';
import { UsageError } from '../errors/index.js';
import {
  loadEmbeddedSigstoreTrustedRoot,
  loadPublicKey,
  parseCertificates,
} from '../keys/index.js';
import { MAX_CERT_BYTES, MAX_KEY_BYTES, readSmallFile } from '../model/index.js';
import type { VerificationTrust } from '../verify/index.js';
import type { Io } from './output.js';

/** The trust-mode flags `verify` and `policy eval` share. */
export interface TrustFlags {
  readonly publicKey?: string;
  readonly certificateChain?: string[];
  readonly identity?: string;
  readonly identityProvider?: string;
}

/** Exactly one trust mode: a public key, trusted root certificates, or a keyless identity. */
export function trustFrom(io: Io, flags: TrustFlags): VerificationTrust {
  const modes = [
    flags.publicKey !== undefined,
    flags.certificateChain !== undefined,
    flags.identity !== undefined || flags.identityProvider !== undefined,
  ].filter(Boolean).length;
  if (modes !== 1) {
    throw new UsageError(
      'USAGE',
      'Give exactly one of --public-key, --certificate-chain, or --identity with --identity-provider',
    );
  }
  if (flags.publicKey !== undefined) {
    const pem = readSmallFile(resolve(io.cwd, flags.publicKey), MAX_KEY_BYTES, 'Public key');
    return { kind: 'key', publicKey: loadPublicKey(pem.toString('utf8')) };
  }
  if (flags.certificateChain !== undefined) {
    return {
      kind: 'certificate',
      trustedRoots: flags.certificateChain.flatMap((p) =>
        parseCertificates(readSmallFile(resolve(io.cwd, p), MAX_CERT_BYTES, 'Certificate file')),
      ),
    };
  }
  if (flags.identity === undefined || flags.identityProvider === undefined) {
    throw new UsageError(
      'USAGE',
      'Keyless verification needs both --identity and --identity-provider',
    );
  }
  return {
    kind: 'keyless',
    identity: flags.identity,
    issuer: flags.identityProvider,
    trustedRoot: loadEmbeddedSigstoreTrustedRoot().trustedRoot,
  };
}

export { addTrustOptions } from './options.js';

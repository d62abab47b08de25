import type { Command } from 'commander';
import { collect } from './inputs.js';

/**
 * Option declarations shared by several commands, kept apart from the code that reads them so
 * that building the program (help included) loads no verification code.
 */

/** Declares the trust-mode flags read by `trustFrom`, identically on every command that verifies. */
export function addTrustOptions(cmd: Command): Command {
  return cmd
    .option('--public-key <pem>', 'key mode: the signer public key (SPKI PEM)')
    .option(
      '--certificate-chain <pem>',
      'certificate mode: trusted root certificates (repeatable)',
      collect,
    )
    .option('--identity <san>', 'keyless mode: exact signer identity (email or URI)')
    .option('--identity-provider <url>', 'keyless mode: exact OIDC issuer URL');
}

/** `--trust-root`, `--trust-root-state`, `--repository`, `--environment` beside the trust flags. */
export function addVerifierOptions(cmd: Command): Command {
  return addTrustOptions(cmd)
    .option(
      '--trust-root <file>',
      'trust-root mode: each signer must be listed and scoped to the predicate type it signs',
    )
    .option('--trust-root-state <dir>', 'with --trust-root: where versions seen are remembered')
    .option('--repository <name>', 'with --trust-root: the repository checked for')
    .option('--environment <name>', 'with --trust-root: the environment checked for');
}

import type { Command } from 'commander';
import type { VerifyFlags } from './commands.js';
import { addScopeOptions } from './digest.js';
import { collect } from './inputs.js';
import { addTrustOptions } from './options.js';
import type { Io } from './output.js';

/**
 * `cairn verify` and `cairn inspect`, registered by the full program (`./index.ts`) and, alone,
 * by the light entry in `./main.ts`.
 */
export function registerVerifyCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  addScopeOptions(
    addTrustOptions(
      program
        .command('verify')
        .description(
          'verify a model against its signature; names every extra, missing and changed file',
        )
        .argument('<model>', 'model directory or file')
        .option(
          '--signature <path>',
          'the bundle (default: <model>/model.sig, or <file>.sig); repeatable with --trust-root',
          collect,
        ),
    )
      .option('--ignore-unsigned-files', 'tolerate files the signature does not name')
      .option(
        '--require <predicates>',
        'attestations that must verify for the signed digest: provenance, scan, transform, training, license, vsa (comma-separated)',
      )
      .option(
        '--policy <dir>',
        'evaluate the policies in DIR against the verified facts (with --repository, --environment)',
      )
      .option('--trust-root <file>', 'trust-root mode: the signer must be listed, in scope, valid')
      .option(
        '--threshold <n>',
        'with --trust-root: distinct trusted signers required among the --signature bundles',
      )
      .option(
        '--trust-root-state <dir>',
        'with --trust-root: where the highest trust root version seen is remembered (default CAIRN_STATE_DIR, else ~/.local/state/cairn)',
      )
      .option('--repository <name>', 'with --trust-root or --policy: the repository verified for')
      .option('--environment <name>', 'with --trust-root or --policy: the environment verified for')
      .option(
        '--parent-signature <bundle>',
        "with --policy: a derived model's parent signature, for transformation continuity (repeatable)",
        collect,
      )
      .option(
        '--chain',
        'verify through transformation attestations back to signed roots (each hop vouched for)',
      )
      .option(
        '--chain-store <dir>',
        "with --chain: directory of ancestors' signatures and attestations (repeatable)",
        collect,
      ),
  ).action(async (model: string, opts: VerifyFlags) =>
    setExit(await (await import('./commands.js')).verifyCommand(io, model, opts)),
  );
}

export function registerInspectCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  program
    .command('inspect')
    .description('show what a signature bundle claims, WITHOUT verifying it')
    .argument('<signature>', 'the bundle file')
    .option('--json', 'machine-readable output on stdout')
    .action(async (sig: string, opts: { json?: boolean }) =>
      setExit(await (await import('./commands.js')).inspectCommand(io, sig, opts)),
    );
}

import type { Command } from 'commander';
import { collect } from './inputs.js';
import type { LineageFlags } from './lineage.js';
import { addVerifierOptions } from './options.js';
import type { Io } from './output.js';

/** `cairn lineage`. */
export function registerLineageCommands(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  addVerifierOptions(
    program
      .command('lineage')
      .description(
        'show the verified lineage of a model or digest: data → training → transforms → this digest',
      )
      .argument('<model-or-digest>', 'model directory or file, or a digest in a --chain-store'),
  )
    .option(
      '--chain-store <dir>',
      "directory of ancestors' signatures and attestations (repeatable)",
      collect,
    )
    .option('--signature <path>', "the model's own signature (default: model.sig beside it)")
    .option('--json', 'machine-readable output on stdout')
    .action(async (target: string, opts: LineageFlags) =>
      setExit(await (await import('./lineage.js')).lineageCommand(io, target, opts)),
    );
}

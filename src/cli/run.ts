import { Command, CommanderError } from 'commander';
import { UsageError, toCairnError } from '../errors/index.js';
import { printError, printJson, type Io } from './output.js';

/**
 * What every entry of the CLI shares, kept free of heavy imports: `cairn digest` runs from here
 * and `./digest.js` alone (see `./main.ts`), without loading the signing, verification, policy
 * or registry code.
 */
export const VERSION = '0.1.0';

/** The reference accepts `--private_key` for `--private-key`; so do we (flag names only). */
export function normaliseFlags(args: readonly string[]): string[] {
  const end = args.indexOf('--');
  return args.map((a, i) => {
    if (!a.startsWith('--') || (end !== -1 && i >= end)) return a;
    const eq = a.indexOf('=');
    return eq === -1
      ? a.replaceAll('_', '-')
      : `${a.slice(0, eq).replaceAll('_', '-')}${a.slice(eq)}`;
  });
}

/** The top-level `cairn` command, before any subcommand is registered. */
export function newProgram(io: Io): Command {
  return new Command('cairn')
    .description(
      'Sign, verify and inspect ML model artifacts (OpenSSF Model Signing v1.0 compatible).',
    )
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
}

/**
 * Parses `args` (already normalised) with `program` and returns the exit code (DESIGN.md §5).
 * The one place errors become output: human text on stderr, or a JSON error object on stdout
 * under --json.
 */
export async function runProgram(
  program: Command,
  args: readonly string[],
  io: Io,
  exitCode: () => number,
): Promise<number> {
  const json = args.includes('--json');
  try {
    await program.parseAsync(args, { from: 'user' });
    return exitCode();
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      if (err.exitCode === 0) return 0;
      const usage = new UsageError('USAGE', err.message.replace(/^error: /, ''));
      if (json) printJson(io, { ok: false, error: usage.toJSON() });
      return usage.exitCode;
    }
    const e = toCairnError(err);
    if (json) printJson(io, { ok: false, error: e.toJSON() });
    else printError(io, e);
    if (e.code === 'INTERNAL' && io.env['CAIRN_DEBUG'] === '1' && err instanceof Error) {
      io.stderr.write(`${err.stack ?? ''}\n`);
    }
    return e.exitCode;
  }
}

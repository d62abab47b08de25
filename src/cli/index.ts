import type { Command } from 'commander';
import { registerAttestCommands } from './attest-register.js';
import { registerLineageCommands } from './lineage-register.js';
import { registerPolicyCommands } from './policy-register.js';
import { registerRegistryCommands } from './registry-commands.js';
import { registerScanCommands } from './scan-register.js';
import { registerTrustCommands } from './trust-register.js';
import { registerServeCommand } from './serve-register.js';
import { processIo, type Io } from './output.js';
import { registerDigestCommand } from './digest.js';
import { registerKeygenCommand, registerSignCommand } from './sign-register.js';
import { registerInspectCommand, registerVerifyCommand } from './verify-register.js';
import { newProgram, normaliseFlags, runProgram } from './run.js';

export { VERSION } from './run.js';

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = newProgram(io);

  registerKeygenCommand(program, io, setExit);
  registerDigestCommand(program, io, setExit);
  registerSignCommand(program, io, setExit);

  registerVerifyCommand(program, io, setExit);
  registerInspectCommand(program, io, setExit);

  program
    .command('demo')
    .description('build a small model, sign it, verify it, tamper with it and show the refusal')
    .option('--keep', 'keep the temporary directory')
    .option('--json', 'machine-readable output on stdout')
    .action(async (opts: { json?: boolean; keep?: boolean }) =>
      setExit(await (await import('./demo.js')).demoCommand(io, opts)),
    );

  registerScanCommands(program, io, setExit);
  registerPolicyCommands(program, io, setExit);
  registerTrustCommands(program, io, setExit);
  registerAttestCommands(program, io, setExit);
  registerLineageCommands(program, io, setExit);
  registerRegistryCommands(program, io, setExit);
  registerServeCommand(program, io, setExit);

  return program;
}

/**
 * Runs the full CLI and returns the exit code (DESIGN.md §5); `runProgram` turns errors into
 * output. The `cairn` binary enters through `./main.ts`, which serves `digest` without this
 * module's imports.
 */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const args = normaliseFlags(argv.slice(2));
  let exit = 0;
  const program = buildProgram(io, (code) => {
    exit = code;
  });
  return runProgram(program, args, io, () => exit);
}

import { registerDigestCommand } from './digest.js';
import { processIo, type Io } from './output.js';
import { newProgram, normaliseFlags, runProgram } from './run.js';

/**
 * The `cairn` binary's entry. `cairn digest …` is served by a program that registers only that
 * command, so it starts without importing the signing, verification, policy, scanning and
 * registry code (about 0.15 s of CPU and 15 MiB here); every other command line, help included,
 * goes to the full program in `./index.ts`. Both register `digest` through the same function.
 */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const args = normaliseFlags(argv.slice(2));
  if (args[0] === 'digest') {
    let exit = 0;
    const program = newProgram(io);
    registerDigestCommand(program, io, (code) => {
      exit = code;
    });
    return runProgram(program, args, io, () => exit);
  }
  const full = await import('./index.js');
  return full.main(argv, io);
}

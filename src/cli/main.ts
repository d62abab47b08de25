import type { Command } from 'commander';
import { registerDigestCommand } from './digest.js';
import { processIo, type Io } from './output.js';
import { newProgram, normaliseFlags, runProgram } from './run.js';

type Register = (program: Command, io: Io, setExit: (code: number) => void) => void;

/**
 * The commands served by a program that registers only that command, so that they start without
 * importing the other commands' declarations and code (policy, scanning, registry, …): `digest`
 * also without signing and verification (about 0.15 s of CPU and 15 MiB here), `sign` and
 * `keygen` without zod, which only parsing needs. Each is registered by the same function as in
 * the full program (`./index.ts`), so its options, help and behaviour are the same.
 */
const LIGHT: Readonly<Record<string, () => Promise<Register>>> = {
  digest: () => Promise.resolve(registerDigestCommand),
  keygen: async () => (await import('./sign-register.js')).registerKeygenCommand,
  sign: async () => (await import('./sign-register.js')).registerSignCommand,
  verify: async () => (await import('./verify-register.js')).registerVerifyCommand,
  inspect: async () => (await import('./verify-register.js')).registerInspectCommand,
};

/**
 * The `cairn` binary's entry: a command line naming one of the commands above (as its first
 * word) runs on a program holding only that command; every other one, help included, goes to the
 * full program in `./index.ts`.
 */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const args = normaliseFlags(argv.slice(2));
  const light = args[0] === undefined ? undefined : LIGHT[args[0]];
  if (light !== undefined && Object.hasOwn(LIGHT, args[0]!)) {
    let exit = 0;
    const program = newProgram(io);
    (await light())(program, io, (code) => {
      exit = code;
    });
    return runProgram(program, args, io, () => exit);
  }
  const full = await import('./index.js');
  return full.main(argv, io);
}

import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { isHashAlgorithm, type HashAlgorithm } from '../digest/index.js';
import { UsageError } from '../errors/index.js';
import { digestModel } from '../model/index.js';
import { collect, modelRelativeIgnorePaths, parsePositiveInt } from './inputs.js';
import { printJson, progressReporter, say, type Io } from './output.js';

/**
 * `cairn digest` and the flags every model-reading command shares. Kept apart from
 * `./commands.ts` so the digest entry (`./main.ts`) imports only what hashing needs.
 */

/** Flags every model-reading command shares, with the reference's names. */
export interface ScopeFlags {
  readonly ignorePaths?: string[];
  readonly ignoreGitPaths: boolean;
  readonly allowSymlinks?: boolean;
  readonly json?: boolean;
}

export interface HashFlags {
  readonly hash?: string;
  readonly shardSize?: string;
}

export function scope(io: Io, model: string, flags: ScopeFlags) {
  return {
    ignorePaths: modelRelativeIgnorePaths(io, model, flags.ignorePaths ?? []),
    ignoreGitPaths: flags.ignoreGitPaths,
    allowSymlinks: flags.allowSymlinks ?? false,
  };
}

export function hashing(flags: HashFlags): { hashType: HashAlgorithm; shardSize?: number } {
  const hashType = flags.hash ?? 'sha256';
  if (!isHashAlgorithm(hashType)) {
    throw new UsageError(
      'USAGE',
      `--hash must be sha256, blake2b or blake3, got ${JSON.stringify(hashType)}`,
    );
  }
  return flags.shardSize === undefined
    ? { hashType }
    : { hashType, shardSize: parsePositiveInt(flags.shardSize, '--shard-size') };
}

export function addScopeOptions(cmd: Command): Command {
  return cmd
    .option(
      '--ignore-paths <path>',
      'exclude a path (repeatable; relative to the model root or the current directory)',
      collect,
    )
    .option(
      '--ignore-git-paths',
      'exclude .git, .gitattributes, .github, .gitignore at the model root (default)',
      true,
    )
    .option('--no-ignore-git-paths', 'hash git files too')
    .option(
      '--allow-symlinks',
      'hash symlinks to files inside the model (never followed outside it)',
    )
    .option('--json', 'machine-readable output on stdout');
}

export function addHashOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--hash <algorithm>', 'hash algorithm')
        .choices(['sha256', 'blake2b', 'blake3'])
        .default('sha256'),
    )
    .option('--shard-size <bytes>', 'hash files in shards of this many bytes (shard mode)');
}

export function registerDigestCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  addHashOptions(
    addScopeOptions(
      program
        .command('digest')
        .description(
          'print the model root digest (sha256:<hex>), the same value as `model_signing digest`',
        )
        .argument('<model>', 'model directory or file')
        .option('--manifest', 'also list every resource with its digest, size and role'),
    ),
  ).action(async (model: string, opts: DigestFlags) =>
    setExit(await digestCommand(io, model, opts)),
  );
}

export interface DigestFlags extends ScopeFlags, HashFlags {
  readonly manifest?: boolean;
}

export async function digestCommand(io: Io, model: string, flags: DigestFlags): Promise<number> {
  const progress = progressReporter(io, !flags.json, 'hashing');
  try {
    const result = await digestModel(resolve(io.cwd, model), {
      ...scope(io, model, flags),
      ...hashing(flags),
      ...(progress.onProgress === undefined ? {} : { onProgress: progress.onProgress }),
    });
    progress.stop();
    const m = result.manifest;
    if (flags.json) {
      printJson(io, {
        ok: true,
        digest: result.digest,
        modelName: m.modelName,
        serialization: m.serialization,
        resourceCount: m.resources.length,
        ...(flags.manifest
          ? {
              resources: m.resources.map((r) => ({
                name: r.name,
                algorithm: r.algorithm,
                digest: r.digest.toString('hex'),
                size: r.size,
                role: r.role,
              })),
            }
          : {}),
      });
    } else {
      say(io, result.digest);
      if (flags.manifest) {
        for (const r of m.resources) {
          say(
            io,
            `${r.digest.toString('hex')}  ${String(r.size ?? '').padStart(12)}  ${r.role.padEnd(15)}  ${r.name}`,
          );
        }
      }
    }
    return 0;
  } finally {
    progress.stop();
  }
}

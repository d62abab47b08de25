import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';
import { mebibytes, type Io } from './output.js';

/**
 * Runs `task` over `items` with at most `limit` in flight; the first failure stops new tasks
 * from starting and is rethrown once the running ones have settled.
 */
export async function runPool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        await task(items[i]!, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.err;
}

export interface TransferProgress {
  add(bytes: number): void;
  stop(): void;
}

/**
 * A byte-count progress bar on stderr for uploads and downloads; silent when stderr is not a
 * terminal, under --json, or when there is too little to show.
 */
export function transferProgress(
  io: Io,
  enabled: boolean,
  label: string,
  totalBytes: number,
): TransferProgress {
  if (!enabled || io.stderr.isTTY !== true || totalBytes < 16 * 1024 * 1024) {
    return { add: () => undefined, stop: () => undefined };
  }
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
  const bar = new cliProgress.SingleBar(
    {
      stream: io.stderr,
      // Not `{total}`/`{value}`: cli-progress fills those itself (with bytes) over any payload.
      format: `${label} [{bar}] {percentage}% | {doneMiB}/{totalMiB} MiB | ETA {eta_formatted}`,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const totalMiB = mebibytes(totalBytes);
  let done = 0;
  bar.start(totalBytes, 0, { doneMiB: 0, totalMiB });
  return {
    add: (bytes) => {
      done += bytes;
      bar.update(done, { doneMiB: mebibytes(done), totalMiB });
    },
    stop: () => bar.stop(),
  };
}

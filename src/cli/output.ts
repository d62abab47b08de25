import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';
import type { CairnError } from '../errors/index.js';
import type { HashProgress } from '../manifest/index.js';

/** Where the CLI writes: machine output to stdout, human diagnostics to stderr. */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

export function printJson(io: Io, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function say(io: Io, line: string): void {
  io.stdout.write(`${line}\n`);
}

export function note(io: Io, line: string): void {
  io.stderr.write(`${line}\n`);
}

/** One error, for humans: code, message, hint, and the details that matter (mismatched files). */
export function printError(io: Io, err: CairnError): void {
  const lines = [`error[${err.code}]: ${err.message}`];
  const d = err.details;
  if (err.code === 'MODEL_MISMATCH' && d !== undefined) {
    for (const name of (d['extra'] as string[] | undefined) ?? []) lines.push(`  extra:   ${name}`);
    for (const name of (d['missing'] as string[] | undefined) ?? [])
      lines.push(`  missing: ${name}`);
    const changed =
      (d['changed'] as
        { name: string; expected: { digest: string }; actual: { digest: string } }[] | undefined) ??
      [];
    for (const c of changed) {
      lines.push(
        `  changed: ${c.name}`,
        `           expected ${c.expected.digest}`,
        `           actual   ${c.actual.digest}`,
      );
    }
  } else if (Array.isArray(d?.['issues'])) {
    for (const issue of d['issues'] as unknown[]) lines.push(`  ${formatIssue(issue)}`);
  }
  lines.push(`  hint: ${err.hint}`);
  io.stderr.write(`${lines.join('\n')}\n`);
}

function formatIssue(issue: unknown): string {
  if (typeof issue === 'string') return issue;
  if (issue !== null && typeof issue === 'object') {
    const o = issue as Record<string, unknown>;
    const path = Array.isArray(o['path'])
      ? o['path'].map((p) => String(p)).join('.')
      : typeof o['path'] === 'string'
        ? o['path']
        : '';
    const source = typeof o['source'] === 'string' ? `${o['source']}: ` : '';
    const message = typeof o['message'] === 'string' ? o['message'] : '';
    return `${source}${path || '(root)'}: ${message}`;
  }
  return String(issue);
}

/**
 * A progress bar on stderr for long hashing runs; silent when stderr is not a terminal or when
 * JSON output is requested, so pipelines and logs stay clean.
 */
export function progressReporter(
  io: Io,
  enabled: boolean,
  label: string,
): { onProgress?: (p: HashProgress) => void; stop: () => void } {
  if (!enabled || io.stderr.isTTY !== true) return { stop: () => undefined };
  let bar: CliProgress.SingleBar | undefined;
  // Not `{total}`/`{value}`: cli-progress fills those itself (with bytes) over any payload.
  const payload = (p: HashProgress) => ({
    doneMiB: mebibytes(p.bytesDone),
    totalMiB: mebibytes(p.bytesTotal),
    files: p.filesDone,
    filesTotal: p.filesTotal,
  });
  return {
    onProgress: (p) => {
      // Small models finish before a bar would help; start one only for real work.
      if (bar === undefined) {
        if (p.bytesTotal < 256 * 1024 * 1024 || p.bytesDone >= p.bytesTotal) return;
        // Loaded only when a bar is shown, to keep start-up small.
        const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
        bar = new cliProgress.SingleBar(
          {
            stream: io.stderr,
            format: `${label} [{bar}] {percentage}% | {doneMiB}/{totalMiB} MiB | {files}/{filesTotal} files | ETA {eta_formatted}`,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.bytesTotal, p.bytesDone, payload(p));
        return;
      }
      // The walk may still be finding files: the total grows until it is over.
      if (p.bytesTotal !== bar.getTotal()) bar.setTotal(p.bytesTotal);
      bar.update(p.bytesDone, payload(p));
    },
    stop: () => bar?.stop(),
  };
}

/** Whole MiB for progress displays. */
export function mebibytes(bytes: number): number {
  return Math.round(bytes / 1048576);
}

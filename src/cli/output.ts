import { randomUUID } from 'node:crypto';
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

/** What `printJson` writes a slice at a time: an array, or a `JsonArray`. */
interface Sliceable {
  readonly length: number;
  slice(from: number, to: number): readonly unknown[];
}

/**
 * An array for `printJson` that never exists whole: `length` items, made a slice at a time by
 * `slice` (tens of thousands of result objects are not built for one print). Anything else that
 * serialises it (`JSON.stringify`) gets the whole array from `toJSON`.
 */
export class JsonArray implements Sliceable {
  constructor(
    readonly length: number,
    readonly slice: (from: number, to: number) => readonly unknown[],
  ) {}

  toJSON(): readonly unknown[] {
    return this.slice(0, this.length);
  }
}

/** Top-level arrays at least this long are written a slice at a time (see `printJson`). */
const SLICED_ARRAY_MIN = 1024;
const SLICE_ITEMS = 512;

/**
 * Writes `value` as `JSON.stringify(value, null, 2)` and a newline, byte for byte. Long arrays
 * directly under a top-level object (a verification's resources, a scan's findings) are written
 * in slices, so tens of thousands of entries never exist as one string (a 60,000-file result is
 * ~12 MB of text, held twice while written).
 */
export function printJson(io: Io, value: unknown): void {
  const sliced = isPlainRecord(value)
    ? Object.keys(value).filter((k) => {
        const v = value[k];
        return (Array.isArray(v) || v instanceof JsonArray) && v.length >= SLICED_ARRAY_MIN;
      })
    : [];
  if (sliced.length === 0) {
    io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  const record = value as Record<string, unknown>;
  // Each long array is stood in for by a string no input can contain (a random marker).
  const marker = `\u0000cairn-json-slice:${randomUUID()}:`;
  const shell: Record<string, unknown> = { ...record };
  sliced.forEach((key, n) => (shell[key] = `${marker}${n}`));
  const text = JSON.stringify(shell, null, 2);
  let from = 0;
  sliced.forEach((key, n) => {
    const token = JSON.stringify(`${marker}${n}`);
    const at = text.indexOf(token, from);
    io.stdout.write(text.slice(from, at));
    writeArraySlices(io, record[key] as Sliceable);
    from = at + token.length;
  });
  io.stdout.write(`${text.slice(from)}\n`);
}

/** A non-empty array as `JSON.stringify` lays it out one level deep, a slice at a time. */
function writeArraySlices(io: Io, items: Sliceable): void {
  io.stdout.write('[\n');
  for (let at = 0; at < items.length; at += SLICE_ITEMS) {
    const slice = JSON.stringify(items.slice(at, at + SLICE_ITEMS), null, 2);
    // `[\n  a,\n  b\n]` → the items, two spaces deeper. JSON text has no raw newline in strings.
    const inner = slice.slice(2, -2).replace(/\n/g, '\n  ');
    io.stdout.write(`${at === 0 ? '' : ',\n'}  ${inner}`);
  }
  io.stdout.write('\n  ]');
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && !('toJSON' in value);
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

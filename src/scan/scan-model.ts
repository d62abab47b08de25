import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { UsageError } from '../errors/index.js';
import { buildScanReport } from './report.js';
import { DEFAULT_SCAN_LIMITS } from './rules.js';
import { scanSource, type FileScanResult } from './scan-file.js';
import { bufferSource, fileSource } from './source.js';
import type { ScanLimits, ScanModelOptions, ScanReport, Severity } from './types.js';
import { listModelFiles, type ModelEntry } from './walk.js';

/** A dotted Python name: `module.name`, each part an identifier. */
const GLOBAL_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;

/** Merges and checks limits; a bad value is a usage error, never a silent default. */
export function scanLimits(given: Partial<ScanLimits> = {}): ScanLimits {
  const out: Record<string, number> = { ...DEFAULT_SCAN_LIMITS };
  for (const [key, value] of Object.entries(given)) {
    if (!(key in DEFAULT_SCAN_LIMITS)) {
      throw new UsageError('USAGE', `Unknown scan limit ${JSON.stringify(key)}`);
    }
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new UsageError(
        'USAGE',
        `Scan limit ${key} must be a positive integer, got ${String(value)}`,
      );
    }
    out[key] = value;
  }
  return out as unknown as ScanLimits;
}

function extraSafe(names: readonly string[]): ReadonlySet<string> {
  for (const n of names) {
    if (!GLOBAL_NAME.test(n)) {
      throw new UsageError(
        'USAGE',
        `Allowed global ${JSON.stringify(n)} is not a dotted module.name`,
        {
          hint: 'Give exact names such as mypkg.layers.Block; wildcards are not accepted.',
        },
      );
    }
  }
  return new Set(names);
}

/**
 * Scans every file of a model (a directory or one file) and returns the report. Problems with the
 * model path itself (missing, unreadable, symlinks out of the root, unsafe names) are errors, as
 * for hashing; anything about a file's content, including a file that cannot be read, is a
 * finding. Pickles are disassembled, never loaded.
 */
export async function scanModel(
  modelPath: string,
  options: ScanModelOptions = {},
): Promise<ScanReport> {
  const limits = scanLimits(options.limits);
  const safe = extraSafe(options.allowGlobals ?? []);
  const unscannedSeverity: Severity = options.unscannedSeverity ?? 'high';
  const { modelName, files } = await listModelFiles(modelPath, {
    ignorePaths: options.ignorePaths ?? [],
    ignoreGitPaths: options.ignoreGitPaths ?? true,
    allowSymlinks: options.allowSymlinks ?? false,
    signal: options.signal,
  });
  const results: FileScanResult[] = [];
  for (const entry of files) {
    options.signal?.throwIfAborted();
    results.push(scanEntry(entry, limits, safe, unscannedSeverity));
    // Reads are synchronous; let other work run between files.
    await new Promise<void>((r) => setImmediate(r));
  }
  return buildScanReport(modelName, limits, results, options.scannedAt);
}

function scanEntry(
  entry: ModelEntry,
  limits: ScanLimits,
  extra: ReadonlySet<string>,
  unscannedSeverity: Severity,
): FileScanResult {
  const ctx = { path: entry.path, name: entry.name, limits, extraSafe: extra, unscannedSeverity };
  let fd: number;
  try {
    fd = openSync(entry.open, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    return unreadable(
      ctx,
      entry,
      `cannot open it (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.dev !== entry.dev || st.ino !== entry.ino) {
      return unreadable(ctx, entry, 'it was replaced between listing and opening');
    }
    return scanSource(fileSource(fd, 0, st.size), ctx);
  } catch (err) {
    return unreadable(
      ctx,
      entry,
      `reading failed (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  } finally {
    closeSync(fd);
  }
}

function unreadable(
  ctx: Parameters<typeof scanSource>[1],
  entry: ModelEntry,
  why: string,
): FileScanResult {
  const counts: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  counts[ctx.unscannedSeverity]++;
  return {
    file: { path: entry.path, size: entry.size, format: 'other', status: 'incomplete' },
    findings: [
      {
        kind: 'unscanned',
        rule: 'scan.unreadable',
        severity: ctx.unscannedSeverity,
        reason: 'unreadable',
        file: entry.path,
        detail: `the file could not be scanned: ${why}`,
      },
    ],
    counts,
  };
}

/** Scans bytes held in memory (an upload, a test) as if they were the file `name`. */
export function scanBytes(
  name: string,
  bytes: Buffer,
  options: Pick<ScanModelOptions, 'allowGlobals' | 'unscannedSeverity' | 'limits'> = {},
): ScanReport {
  const limits = scanLimits(options.limits);
  const ctx = {
    path: '.',
    name,
    limits,
    extraSafe: extraSafe(options.allowGlobals ?? []),
    unscannedSeverity: options.unscannedSeverity ?? 'high',
  };
  return buildScanReport(name, limits, [scanSource(bufferSource(bytes), ctx)]);
}

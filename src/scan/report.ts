import { z } from 'zod';
import { ValidationError } from '../errors/index.js';
import { compareCodePoints } from '../manifest/index.js';
import { SCAN_RULES_VERSION, severityAtLeast } from './rules.js';
import {
  FILE_FORMATS,
  FILE_STATUSES,
  SCAN_REPORT_VERSION,
  SEVERITIES,
  UNSCANNED_REASONS,
  type Finding,
  type ScanLimits,
  type ScanReport,
  type ScanSummary,
  type ScannedFile,
  type Severity,
} from './types.js';

/** Largest report read back (a predicate inside an attestation is read whole). */
export const MAX_SCAN_REPORT_FINDINGS = 1_000_000;

const severity = z.enum(SEVERITIES);
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const text = z.string().max(64 * 1024);

const findingBase = {
  rule: z.string().regex(/^[a-z0-9]+\.[a-z0-9-]+$/),
  severity,
  file: text,
  member: text.optional(),
  offset: count.optional(),
  detail: text,
};

const findingSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('callable'),
    ...findingBase,
    opcode: z.string().max(32),
    callable: text,
    module: text,
    name: text,
    occurrences: count,
    calls: count,
    args: z.array(text).max(16).optional(),
  }),
  z.strictObject({ kind: z.literal('format'), ...findingBase }),
  z.strictObject({
    kind: z.literal('unscanned'),
    ...findingBase,
    reason: z.enum(UNSCANNED_REASONS),
  }),
]);

const positive = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const reportSchema = z.strictObject({
  version: z.literal(SCAN_REPORT_VERSION),
  scanner: z.strictObject({ name: z.literal('cairn-scan'), rules: z.string().max(64) }),
  modelName: text,
  scannedAt: z.iso.datetime({ offset: true }).optional(),
  limits: z.strictObject({
    maxFileBytes: positive,
    maxInflateBytes: positive,
    maxPickleOps: positive,
    maxPickleDepth: positive,
    maxPickleMemo: positive,
    maxZipEntries: positive,
    maxFindingsPerFile: positive,
  }),
  files: z.array(
    z.strictObject({
      path: text,
      size: count,
      format: z.enum(FILE_FORMATS),
      status: z.enum(FILE_STATUSES),
      pickles: z.array(text).optional(),
    }),
  ),
  findings: z.array(findingSchema).max(MAX_SCAN_REPORT_FINDINGS),
  summary: z.strictObject({
    files: count,
    incompleteFiles: count,
    findings: z.strictObject({
      critical: count,
      high: count,
      medium: count,
      low: count,
      info: count,
    }),
    highest: severity.nullable(),
  }),
});

export interface ScanReportIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * Reads a scan report from untrusted JSON (an attestation predicate, a file): every bad field is
 * listed in `details.issues` of a SCAN_REPORT_INVALID error, and the summary must agree with the
 * findings and files it summarises.
 */
export function scanReportFromJSON(input: unknown): ScanReport {
  const parsed = reportSchema.safeParse(input);
  const issues: ScanReportIssue[] = parsed.success
    ? []
    : parsed.error.issues.map((i) => ({
        path:
          i.path
            .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
            .join('')
            .replace(/^\./, '') || '(root)',
        message: i.message,
      }));
  if (parsed.success) {
    const r = parsed.data as ScanReport;
    if (r.summary.files !== r.files.length) {
      issues.push({
        path: 'summary.files',
        message: `says ${r.summary.files}, the report lists ${r.files.length}`,
      });
    }
    const incomplete = r.files.filter((f) => f.status === 'incomplete').length;
    if (r.summary.incompleteFiles !== incomplete) {
      issues.push({
        path: 'summary.incompleteFiles',
        message: `says ${r.summary.incompleteFiles}, the files say ${incomplete}`,
      });
    }
    for (const s of SEVERITIES) {
      const listed = r.findings.filter((f) => f.severity === s).length;
      if (r.summary.findings[s] < listed) {
        issues.push({
          path: `summary.findings.${s}`,
          message: `counts ${r.summary.findings[s]}, fewer than the ${listed} listed`,
        });
      }
    }
    const highest = SEVERITIES.find((s) => r.summary.findings[s] > 0) ?? null;
    if (r.summary.highest !== highest) {
      issues.push({
        path: 'summary.highest',
        message: `is ${String(r.summary.highest)}, the counts say ${String(highest)}`,
      });
    }
    if (issues.length === 0) return r;
  }
  throw new ValidationError(
    'SCAN_REPORT_INVALID',
    `Not a valid scan report: ${issues
      .slice(0, 5)
      .map((i) => `${i.path}: ${i.message}`)
      .join('; ')}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`,
    { details: { issues } },
  );
}

/** Assembles a report from per-file results (already in manifest order). */
export function buildScanReport(
  modelName: string,
  limits: ScanLimits,
  results: readonly {
    readonly file: ScannedFile;
    readonly findings: readonly Finding[];
    readonly counts: Readonly<Record<Severity, number>>;
  }[],
  scannedAt?: Date,
): ScanReport {
  const totals: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const r of results) for (const s of SEVERITIES) totals[s] += r.counts[s];
  const order = new Map(results.map((r, i) => [r.file.path, i]));
  const findings = results
    .flatMap((r) => r.findings)
    .sort(
      (a, b) =>
        order.get(a.file)! - order.get(b.file)! ||
        compareCodePoints(a.member ?? '', b.member ?? '') ||
        (a.offset ?? -1) - (b.offset ?? -1) ||
        compareCodePoints(a.rule, b.rule),
    );
  const summary: ScanSummary = {
    files: results.length,
    incompleteFiles: results.filter((r) => r.file.status === 'incomplete').length,
    findings: totals,
    highest: SEVERITIES.find((s) => totals[s] > 0) ?? null,
  };
  return {
    version: SCAN_REPORT_VERSION,
    scanner: { name: 'cairn-scan', rules: SCAN_RULES_VERSION },
    modelName,
    ...(scannedAt === undefined ? {} : { scannedAt: scanTime(scannedAt) }),
    limits,
    files: results.map((r) => r.file),
    findings,
    summary,
  };
}

/** RFC 3339 UTC, whole seconds (as provenance records SOURCE_DATE_EPOCH). */
function scanTime(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}

/** Number of findings (listed or only counted) at or above `threshold`. */
export function countAtOrAbove(report: ScanReport, threshold: Severity): number {
  return SEVERITIES.filter((s) => severityAtLeast(s, threshold)).reduce(
    (n, s) => n + report.summary.findings[s],
    0,
  );
}

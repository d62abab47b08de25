import { SEVERITIES, type Finding, type ScanLimits, type Severity } from './types.js';

/**
 * Version of the rule set: the allow- and deny-lists and the checks. Bump it whenever a verdict on
 * the same bytes may change, so a scan attestation says which rules it was judged by.
 */
export const SCAN_RULES_VERSION = '2025.1';

export interface ScanRule {
  readonly kind: Finding['kind'];
  /** Default severity; callable rules take theirs from the deny list. */
  readonly severity: Severity;
  readonly summary: string;
}

const rule = (kind: Finding['kind'], severity: Severity, summary: string): ScanRule => ({
  kind,
  severity,
  summary,
});

/** Every rule a finding can carry. docs/scan.md lists each one (a test checks it). */
export const SCAN_RULES = {
  // ── pickle ──────────────────────────────────────────────────────────────────────────────
  'pickle.dangerous-callable': rule(
    'callable',
    'critical',
    'The pickle imports a callable that can run commands, execute code, load more pickles, open files or reach the network.',
  ),
  'pickle.unknown-callable': rule(
    'callable',
    'medium',
    'The pickle imports a callable that is neither on the safe list nor on the deny list.',
  ),
  'pickle.unresolved-callable': rule(
    'callable',
    'high',
    'STACK_GLOBAL takes its module or name from something other than a string constant, so the import cannot be known without running the pickle.',
  ),
  'pickle.extension-code': rule(
    'callable',
    'medium',
    'EXT1/EXT2/EXT4 imports through the copyreg extension registry, which a scanner cannot see.',
  ),
  'pickle.memo-abuse': rule(
    'format',
    'medium',
    'A memo index far beyond the entries stored: real picklers number memo slots from 0.',
  ),
  'pickle.trailing-data': rule(
    'format',
    'info',
    'Bytes follow the last pickle stream and are not another stream.',
  ),
  'pickle.malformed': rule(
    'unscanned',
    'high',
    'The pickle is truncated or invalid; the part after the fault was not scanned.',
  ),
  // ── archives ────────────────────────────────────────────────────────────────────────────
  'zip.malformed': rule(
    'unscanned',
    'high',
    'The zip central directory or a local header is missing, inconsistent or out of bounds.',
  ),
  'zip.bomb': rule(
    'unscanned',
    'high',
    'A zip entry declares or produces far more data than its compressed size allows for a model file.',
  ),
  'zip.duplicate-entry': rule(
    'format',
    'high',
    'Two zip entries have the same name; readers disagree on which one is loaded.',
  ),
  'zip.overlap': rule(
    'format',
    'high',
    'Zip entries share bytes (overlapping local headers or data), a zip-bomb and parser-confusion technique.',
  ),
  'zip.header-mismatch': rule(
    'format',
    'high',
    'A local file header names a different file than its central directory entry.',
  ),
  'zip.unsafe-name': rule(
    'format',
    'medium',
    'A zip entry name is absolute, has `..`, backslashes or control characters.',
  ),
  'zip.prepended-data': rule(
    'format',
    'medium',
    'Data precedes the first zip entry: the file is also something else to another reader.',
  ),
  'format.polyglot': rule(
    'format',
    'medium',
    'The file is a valid model format and also ends with a zip directory; loaders may disagree on what it is.',
  ),
  'format.unrecognised': rule(
    'format',
    'low',
    'The file name says pickle or PyTorch but the content is no format the scanner knows.',
  ),
  // ── safetensors ─────────────────────────────────────────────────────────────────────────
  'safetensors.header': rule(
    'format',
    'high',
    'The safetensors header is out of bounds, not JSON, or does not follow the schema.',
  ),
  'safetensors.duplicate-key': rule(
    'format',
    'high',
    'The safetensors header names a key twice; JSON readers disagree on which value wins.',
  ),
  'safetensors.size-mismatch': rule(
    'format',
    'high',
    "A tensor's byte range is not its dtype size times the product of its shape.",
  ),
  'safetensors.out-of-bounds': rule(
    'format',
    'high',
    'A tensor byte range ends beyond the data area.',
  ),
  'safetensors.overlap': rule('format', 'high', 'Two tensors share bytes.'),
  'safetensors.gap': rule('format', 'medium', 'Bytes between tensors belong to no tensor.'),
  'safetensors.trailing-data': rule(
    'format',
    'medium',
    'Bytes after the last tensor belong to no tensor (the reference loader refuses such files).',
  ),
  // ── GGUF ────────────────────────────────────────────────────────────────────────────────
  'gguf.header': rule(
    'format',
    'high',
    'The GGUF header, metadata or tensor table is malformed or out of bounds.',
  ),
  'gguf.version': rule('format', 'medium', 'The GGUF version is not one the scanner knows (2, 3).'),
  'gguf.tensor-type': rule(
    'format',
    'medium',
    'A GGUF tensor has a type number the scanner does not know.',
  ),
  // ── ONNX ────────────────────────────────────────────────────────────────────────────────
  'onnx.structure': rule(
    'format',
    'high',
    'The ONNX file is not a well-formed ModelProto (protobuf framing, field types, required fields).',
  ),
  'onnx.external-data-path': rule(
    'format',
    'high',
    'An initializer points at external data outside the model directory (absolute path or `..`).',
  ),
  // ── the scan itself ─────────────────────────────────────────────────────────────────────
  'scan.too-large': rule(
    'unscanned',
    'high',
    'Scanning the file would read or inflate more than the configured limit.',
  ),
  'scan.limit': rule(
    'unscanned',
    'high',
    'A scanner limit (opcodes, nesting, memo, entries) was reached before the end.',
  ),
  'scan.unreadable': rule('unscanned', 'high', 'The file could not be read.'),
  'scan.unsupported': rule(
    'unscanned',
    'high',
    'The content is compressed or encrypted in a way the scanner cannot open.',
  ),
  'scan.findings-truncated': rule(
    'format',
    'info',
    'More findings than the per-file limit; the worst are kept and all are counted.',
  ),
} as const satisfies Record<string, ScanRule>;

export type ScanRuleId = keyof typeof SCAN_RULES;

export const DEFAULT_SCAN_LIMITS: ScanLimits = {
  maxFileBytes: 4 * 1024 * 1024 * 1024,
  maxInflateBytes: 256 * 1024 * 1024,
  maxPickleOps: 20_000_000,
  maxPickleDepth: 10_000,
  maxPickleMemo: 10_000_000,
  maxZipEntries: 100_000,
  maxFindingsPerFile: 200,
};

const RANK: Readonly<Record<Severity, number>> = Object.fromEntries(
  SEVERITIES.map((s, i) => [s, SEVERITIES.length - i]),
) as Record<Severity, number>;

/** True when `severity` is at least as bad as `threshold`. */
export function severityAtLeast(severity: Severity, threshold: Severity): boolean {
  return RANK[severity] >= RANK[threshold];
}

/** Negative when `a` is worse than `b` (sorts worst first). */
export function compareSeverity(a: Severity, b: Severity): number {
  return RANK[b] - RANK[a];
}

export function isSeverity(value: string): value is Severity {
  return (SEVERITIES as readonly string[]).includes(value);
}

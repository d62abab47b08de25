/**
 * The scan report: what `cairn scan` found in a model, as plain JSON-serialisable data. It is
 * versioned because it becomes the predicate of a signed scan attestation; consumers read it back
 * through `scanReportFromJSON`, never by casting.
 */

/** Ordered from worst to least; `--fail-on` compares against this order. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** What kind of file the scanner recognised, by content first and name second. */
export const FILE_FORMATS = [
  'pickle',
  'pytorch-zip',
  'zip',
  'safetensors',
  'gguf',
  'onnx',
  'compressed-pickle',
  'unrecognised',
  'other',
] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

/**
 * `complete`: every part the scanner reads was read. `incomplete`: some part could not be scanned
 * (an `unscanned` finding says why). `not-inspected`: not a model format the scanner checks.
 */
export const FILE_STATUSES = ['complete', 'incomplete', 'not-inspected'] as const;
export type FileStatus = (typeof FILE_STATUSES)[number];

/** Why a file, archive member or stream could not be scanned (to the end). */
export const UNSCANNED_REASONS = [
  'too-large',
  'limit',
  'malformed',
  'truncated',
  'unreadable',
  'zip-bomb',
  'unsupported',
] as const;
export type UnscannedReason = (typeof UNSCANNED_REASONS)[number];

interface FindingBase {
  /** A rule id from `SCAN_RULES` (documented in docs/scan.md). */
  readonly rule: string;
  readonly severity: Severity;
  /** The file, relative to the model root, `/`-separated (`.` for a single-file model). */
  readonly file: string;
  /** The archive member (zip entry name) or decompressed stream the finding is in, if any. */
  readonly member?: string;
  /** Byte offset in the file, or in the (decompressed) member when `member` is set. */
  readonly offset?: number;
  /** One human sentence. */
  readonly detail: string;
}

/** A pickle imports a callable (GLOBAL, STACK_GLOBAL, INST) or an extension code (EXT1/2/4). */
export interface CallableFinding extends FindingBase {
  readonly kind: 'callable';
  /** The opcode that imported it: `GLOBAL`, `STACK_GLOBAL`, `INST`, `EXT1`, `EXT2`, `EXT4`. */
  readonly opcode: string;
  /** `module.name` as the unpickler would import it; `?` parts when unresolvable. */
  readonly callable: string;
  readonly module: string;
  readonly name: string;
  /** Times this callable was imported in the stream (the offset is the first). */
  readonly occurrences: number;
  /** Times the stream calls it (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST). */
  readonly calls: number;
  /** String arguments of the first call, shortened, when the walker could see them. */
  readonly args?: readonly string[];
}

/** A header or container that is malformed, inconsistent or suspicious. */
export interface FormatFinding extends FindingBase {
  readonly kind: 'format';
}

/** Something could not be scanned: never a pass. */
export interface UnscannedFinding extends FindingBase {
  readonly kind: 'unscanned';
  readonly reason: UnscannedReason;
}

export type Finding = CallableFinding | FormatFinding | UnscannedFinding;

export interface ScannedFile {
  readonly path: string;
  readonly size: number;
  readonly format: FileFormat;
  readonly status: FileStatus;
  /** Archive members (or decompressed streams) that were disassembled as pickles. */
  readonly pickles?: readonly string[];
}

/** The bounds the scan ran with, recorded so a reader knows what "complete" meant. */
export interface ScanLimits {
  /** Most bytes read from one file (headers, pickle streams, archive directories). */
  readonly maxFileBytes: number;
  /** Most bytes one decompression may produce (held in memory). */
  readonly maxInflateBytes: number;
  /** Most opcodes walked in one file's pickle streams. */
  readonly maxPickleOps: number;
  /** Deepest MARK nesting in a pickle. */
  readonly maxPickleDepth: number;
  /** Most memo entries in one pickle stream. */
  readonly maxPickleMemo: number;
  /** Most entries in one zip central directory. */
  readonly maxZipEntries: number;
  /** Most findings kept per file (the summary still counts every one). */
  readonly maxFindingsPerFile: number;
}

export interface ScanSummary {
  readonly files: number;
  /** Files with at least one unscanned part. */
  readonly incompleteFiles: number;
  /** Findings by severity, counting any dropped over `maxFindingsPerFile`. */
  readonly findings: Readonly<Record<Severity, number>>;
  /** The worst severity found, or null when there is no finding. */
  readonly highest: Severity | null;
}

export const SCAN_REPORT_VERSION = 1;

export interface ScanReport {
  readonly version: typeof SCAN_REPORT_VERSION;
  readonly scanner: {
    readonly name: 'cairn-scan';
    /** Version of the rule set (allow- and deny-lists, checks); bumps when verdicts may change. */
    readonly rules: string;
  };
  /** Basename of the scanned path (the OMS subject name). */
  readonly modelName: string;
  /**
   * When the scan ran (RFC 3339, whole seconds), when the caller gave it: signed into a scan
   * attestation, it dates the result for a policy's maximum age. Absent in older reports.
   */
  readonly scannedAt?: string;
  readonly limits: ScanLimits;
  /** Every file walked, in manifest order. */
  readonly files: readonly ScannedFile[];
  /** Sorted by file (manifest order), member, offset, rule. */
  readonly findings: readonly Finding[];
  readonly summary: ScanSummary;
}

export interface ScanModelOptions {
  /** Paths relative to the model root to skip (a directory skips its subtree). */
  readonly ignorePaths?: readonly string[];
  /** Default true: skip `.git`, `.gitattributes`, `.github`, `.gitignore` at the model root. */
  readonly ignoreGitPaths?: boolean;
  /** Default false: a symlink is an error. Links out of the model root are always refused. */
  readonly allowSymlinks?: boolean;
  /**
   * Extra `module.name` globals to treat as safe (exact names). They never override the deny
   * list: `os.system` stays critical whatever is allowed here.
   */
  readonly allowGlobals?: readonly string[];
  /** Severity of "could not scan" findings; default `high`. */
  readonly unscannedSeverity?: Severity;
  readonly limits?: Partial<ScanLimits>;
  readonly signal?: AbortSignal;
  /** Recorded as the report's `scannedAt` (the scanner reads no clock itself). */
  readonly scannedAt?: Date;
}

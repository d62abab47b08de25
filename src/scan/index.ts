export { scanModel, scanBytes, scanLimits } from './scan-model.js';
export { scanReportFromJSON, countAtOrAbove, MAX_SCAN_REPORT_FINDINGS } from './report.js';
export {
  SCAN_RULES,
  SCAN_RULES_VERSION,
  DEFAULT_SCAN_LIMITS,
  severityAtLeast,
  compareSeverity,
  isSeverity,
} from './rules.js';
export { SEVERITIES, FILE_FORMATS, SCAN_REPORT_VERSION } from './types.js';
export { walkPickles, looksLikeBinaryPickle } from './pickle.js';
export { judgeGlobal } from './pickle-globals.js';
export { bufferSource } from './source.js';

export type {
  Severity,
  FileFormat,
  FileStatus,
  UnscannedReason,
  Finding,
  CallableFinding,
  FormatFinding,
  UnscannedFinding,
  ScannedFile,
  ScanLimits,
  ScanSummary,
  ScanReport,
  ScanModelOptions,
} from './types.js';
export type { ScanRule, ScanRuleId } from './rules.js';
export type { ScanReportIssue } from './report.js';
export type {
  PickleWalk,
  PickleImport,
  PickleAnomaly,
  PickleOutcome,
  PickleLimits,
  WalkPickleOptions,
} from './pickle.js';
export type { GlobalVerdict } from './pickle-globals.js';
export type { ByteSource, ReadBudget } from './source.js';

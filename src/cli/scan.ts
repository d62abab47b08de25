import { resolve } from 'node:path';
import { sourceDateEpoch } from '../attest/index.js';
import { UsageError, VerificationError } from '../errors/index.js';
import {
  SEVERITIES,
  countAtOrAbove,
  scanModel,
  type Finding,
  type ScanReport,
  type Severity,
} from '../scan/index.js';
import { attestScanReport } from './attest.js';
import { modelRelativeIgnorePaths, parsePositiveInt } from './inputs.js';
import { printError, printJson, say, type Io } from './output.js';

export interface ScanFlags {
  readonly failOn: Severity;
  readonly unscannedSeverity: Severity;
  readonly maxFileBytes?: string;
  readonly maxInflateBytes?: string;
  readonly allowGlobal?: string[];
  readonly ignorePaths?: string[];
  readonly ignoreGitPaths: boolean;
  readonly allowSymlinks?: boolean;
  readonly json?: boolean;
  /** `--attest`: sign the report as a scan attestation (with the signer flags below). */
  readonly attest?: boolean;
  readonly privateKey?: string;
  readonly pkcs11Uri?: string;
  readonly passphraseFile?: string;
  readonly allowUnencryptedKey?: boolean;
}

export async function scanCommand(io: Io, model: string, flags: ScanFlags): Promise<number> {
  const signerGiven = flags.privateKey !== undefined || flags.pkcs11Uri !== undefined;
  if ((flags.attest ?? false) !== signerGiven) {
    throw new UsageError(
      'USAGE',
      flags.attest
        ? '--attest needs --private-key or --pkcs11-uri'
        : '--private-key and --pkcs11-uri only sign with --attest',
    );
  }
  const limits = {
    ...(flags.maxFileBytes === undefined
      ? {}
      : { maxFileBytes: parsePositiveInt(flags.maxFileBytes, '--max-file-bytes') }),
    ...(flags.maxInflateBytes === undefined
      ? {}
      : { maxInflateBytes: parsePositiveInt(flags.maxInflateBytes, '--max-inflate-bytes') }),
  };
  const report = await scanModel(resolve(io.cwd, model), {
    ignorePaths: modelRelativeIgnorePaths(io, model, flags.ignorePaths ?? []),
    ignoreGitPaths: flags.ignoreGitPaths,
    allowSymlinks: flags.allowSymlinks ?? false,
    allowGlobals: flags.allowGlobal ?? [],
    unscannedSeverity: flags.unscannedSeverity,
    limits,
    // Signed into a scan attestation, this dates the result for a policy's maxAge.
    scannedAt: sourceDateEpoch(io.env) ?? new Date(),
  });
  // The report is attested whatever it found: the attestation records the result, gates judge it.
  const attested = flags.attest ? await attestScanReport(io, model, report, flags) : undefined;
  const failing = countAtOrAbove(report, flags.failOn);
  const error =
    failing === 0
      ? undefined
      : new VerificationError(
          'SCAN_FINDINGS',
          `${failing} finding${failing === 1 ? '' : 's'} at or above ${flags.failOn} in ${report.modelName}`,
          { details: { failOn: flags.failOn, failing, summary: report.summary } },
        );
  if (flags.json) {
    printJson(io, {
      ok: error === undefined,
      failOn: flags.failOn,
      ...(error === undefined ? {} : { error: error.toJSON() }),
      ...(attested === undefined ? {} : { attestation: attested }),
      report,
    });
  } else {
    printReport(io, report, flags.failOn);
    if (attested !== undefined) {
      say(io, `Scan attested for ${attested.digest}: line ${attested.line} of ${attested.path}`);
    }
    if (error !== undefined) printError(io, error);
  }
  return error === undefined ? 0 : error.exitCode;
}

function printReport(io: Io, report: ScanReport, failOn: Severity): void {
  const formats = new Map<string, number>();
  for (const f of report.files) formats.set(f.format, (formats.get(f.format) ?? 0) + 1);
  const kinds = [...formats].map(([k, n]) => `${n} ${k}`).join(', ');
  say(
    io,
    `Scanned ${report.files.length} file${report.files.length === 1 ? '' : 's'} of ${report.modelName}${kinds === '' ? '' : ` (${kinds})`}`,
  );
  for (const f of report.findings) say(io, formatFinding(report, f));
  const s = report.summary;
  const total = SEVERITIES.reduce((n, k) => n + s.findings[k], 0);
  const counts = SEVERITIES.filter((k) => s.findings[k] > 0)
    .map((k) => `${s.findings[k]} ${k}`)
    .join(', ');
  say(
    io,
    total === 0
      ? `No findings (fail-on ${failOn}).`
      : `${total} finding${total === 1 ? '' : 's'}: ${counts}${s.incompleteFiles > 0 ? `; ${s.incompleteFiles} file${s.incompleteFiles === 1 ? '' : 's'} not fully scanned` : ''} (fail-on ${failOn}).`,
  );
}

function formatFinding(report: ScanReport, f: Finding): string {
  const file = f.file === '.' ? report.modelName : f.file;
  const where = `${file}${f.member === undefined ? '' : ` › ${f.member}`}${f.offset === undefined ? '' : ` @ ${f.offset}`}`;
  const what = f.kind === 'callable' ? `${f.opcode} ${f.callable}` : f.rule;
  return `${f.severity.toUpperCase().padEnd(8)}  ${where}  ${what}\n          ${f.kind === 'callable' ? `${f.rule}: ` : ''}${f.detail}`;
}

export { registerScanCommands } from './scan-register.js';

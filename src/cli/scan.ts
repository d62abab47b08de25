import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
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
import { collect, modelRelativeIgnorePaths, parsePositiveInt } from './inputs.js';
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

/** Adds `cairn scan` to the program. */
export function registerScanCommands(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  program
    .command('scan')
    .description(
      'scan model files without loading them: pickle imports (also inside PyTorch zips), safetensors, GGUF and ONNX headers',
    )
    .argument('<model>', 'model directory or file')
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 when a finding is at least this severe')
        .choices([...SEVERITIES])
        .default('high'),
    )
    .option(
      '--max-file-bytes <n>',
      'most bytes read from one file (headers, pickle streams, archive directories)',
    )
    .option('--max-inflate-bytes <n>', 'most bytes one decompression may produce')
    .option(
      '--allow-global <module.name>',
      'treat this exact pickle global as safe (repeatable; never overrides the deny list)',
      collect,
    )
    .addOption(
      new Option('--unscanned-severity <severity>', 'severity of "could not scan" findings')
        .choices([...SEVERITIES])
        .default('high'),
    )
    .option(
      '--ignore-paths <path>',
      'skip a path (repeatable; relative to the model root)',
      collect,
    )
    .option(
      '--ignore-git-paths',
      'skip .git, .gitattributes, .github, .gitignore at the model root (default)',
      true,
    )
    .option('--no-ignore-git-paths', 'scan git files too')
    .option('--allow-symlinks', 'scan symlinks to files inside the model (never outside it)')
    .option('--json', 'machine-readable output on stdout')
    .option(
      '--attest',
      'sign the report as a scan attestation appended to model.att.jsonl (needs --private-key or --pkcs11-uri)',
    )
    .option('--private-key <pem>', 'with --attest: PKCS#8 or SEC1 PEM private key')
    .option('--pkcs11-uri <uri>', 'with --attest: sign with a key in a PKCS#11 token')
    .option('--passphrase-file <file>', 'with --attest: file holding the private key passphrase')
    .option('--allow-unencrypted-key', 'with --attest: do not warn about an unencrypted key')
    .action(async (model: string, opts: ScanFlags) => setExit(await scanCommand(io, model, opts)));
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

import { gunzipSync, inflateSync } from 'node:zlib';
import { checkGguf, GGUF_MAGIC } from './gguf.js';
import { checkOnnx } from './onnx.js';
import {
  looksLikeBinaryPickle,
  walkPickles,
  type PickleImport,
  type PickleWalk,
} from './pickle.js';
import { judgeGlobal } from './pickle-globals.js';
import { SCAN_RULES, compareSeverity, type ScanRuleId } from './rules.js';
import { checkSafetensors, looksLikeSafetensors } from './safetensors.js';
import { bufferSource, type ByteSource, type ReadBudget } from './source.js';
import type {
  CallableFinding,
  FileFormat,
  Finding,
  ScanLimits,
  ScannedFile,
  Severity,
  UnscannedReason,
} from './types.js';
import {
  findEndOfDirectory,
  openMember,
  readZipDirectory,
  type ZipDirectory,
  type ZipEntry,
  type ZipLimits,
} from './zip.js';

/** What one file's scan needs to know besides its bytes. */
export interface FileScanContext {
  /** Relative path (`.` for a single-file model). */
  readonly path: string;
  /** The name to judge extensions by (the path's last component, or the model file's name). */
  readonly name: string;
  readonly limits: ScanLimits;
  readonly extraSafe: ReadonlySet<string>;
  readonly unscannedSeverity: Severity;
}

export interface FileScanResult {
  readonly file: ScannedFile;
  /** At most `maxFindingsPerFile`, worst first. */
  readonly findings: readonly Finding[];
  /** Every finding by severity, including those dropped over the limit. */
  readonly counts: Readonly<Record<Severity, number>>;
}

/** Extensions that always mean "this is a pickle" (possibly compressed). */
const PICKLE_EXT = /\.(pkl|pickle|joblib)$/i;
/** Extensions that may be a pickle, a PyTorch zip, or raw data. */
const MAYBE_PICKLE_EXT = /\.(pt|pth|bin|ckpt)$/i;
/** A protocol 0/1 pickle that opens with a GLOBAL or INST of plausible names. */
const TEXT_PICKLE_START = /^\(?[ci][A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n/;

const GZIP = [0x1f, 0x8b];
const OTHER_COMPRESSION: readonly (readonly [string, readonly number[]])[] = [
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['lz4', [0x04, 0x22, 0x4d, 0x18]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['lzma', [0x5d, 0x00, 0x00]],
];

function startsWith(head: Buffer, magic: readonly number[]): boolean {
  return head.length >= magic.length && magic.every((b, i) => head[i] === b);
}

function isZlibHeader(head: Buffer): boolean {
  return head.length >= 2 && (head[0]! & 0x0f) === 8 && ((head[0]! << 8) | head[1]!) % 31 === 0;
}

type UnscannedRule = Extract<
  ScanRuleId,
  | 'scan.too-large'
  | 'scan.limit'
  | 'scan.unreadable'
  | 'scan.unsupported'
  | 'zip.bomb'
  | 'pickle.malformed'
>;

/** The rule an unscanned part is reported under, by why it was not scanned. */
function ruleForReason(reason: UnscannedReason): UnscannedRule {
  switch (reason) {
    case 'too-large':
      return 'scan.too-large';
    case 'limit':
      return 'scan.limit';
    case 'unreadable':
      return 'scan.unreadable';
    case 'unsupported':
      return 'scan.unsupported';
    case 'zip-bomb':
      return 'zip.bomb';
    case 'malformed':
    case 'truncated':
      return 'pickle.malformed';
  }
}

/** Scans one file (or any bytes) and never throws for anything its content does. */
export function scanSource(source: ByteSource, ctx: FileScanContext): FileScanResult {
  const scan = new FileScan(source, ctx);
  scan.run();
  return scan.result();
}

class FileScan {
  private readonly findings: Finding[] = [];
  private readonly budget: ReadBudget;
  private format: FileFormat = 'other';
  private inspected = false;
  private readonly pickles: string[] = [];

  constructor(
    private readonly source: ByteSource,
    private readonly ctx: FileScanContext,
  ) {
    this.budget = { remaining: ctx.limits.maxFileBytes };
  }

  // ── findings ─────────────────────────────────────────────────────────────────────────────

  private add(
    rule: Exclude<
      ScanRuleId,
      | 'pickle.dangerous-callable'
      | 'pickle.unknown-callable'
      | 'pickle.unresolved-callable'
      | 'pickle.extension-code'
    >,
    detail: string,
    where: { member?: string | undefined; offset?: number | undefined } = {},
    reason?: UnscannedReason,
  ): void {
    const r = SCAN_RULES[rule];
    const base = {
      rule,
      file: this.ctx.path,
      ...(where.member === undefined ? {} : { member: where.member }),
      ...(where.offset === undefined ? {} : { offset: where.offset }),
      detail,
    };
    if (r.kind === 'unscanned') {
      this.findings.push({
        kind: 'unscanned',
        severity: this.ctx.unscannedSeverity,
        reason: reason ?? 'malformed',
        ...base,
      });
    } else {
      this.findings.push({ kind: 'format', severity: r.severity, ...base });
    }
  }

  private unscanned(
    reason: UnscannedReason,
    detail: string,
    member?: string,
    offset?: number,
  ): void {
    this.add(ruleForReason(reason), detail, { member, offset }, reason);
  }

  result(): FileScanResult {
    const counts: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
    for (const f of this.findings) counts[f.severity]++;
    let kept = [...this.findings].sort(
      (a, b) => compareSeverity(a.severity, b.severity) || (a.offset ?? -1) - (b.offset ?? -1),
    );
    const max = this.ctx.limits.maxFindingsPerFile;
    if (kept.length > max) {
      const dropped = kept.length - max;
      kept = kept.slice(0, max);
      kept.push({
        kind: 'format',
        rule: 'scan.findings-truncated',
        severity: SCAN_RULES['scan.findings-truncated'].severity,
        file: this.ctx.path,
        detail: `${dropped} more findings were counted but not listed`,
      });
      counts.info++;
    }
    const incomplete = this.findings.some((f) => f.kind === 'unscanned');
    return {
      file: {
        path: this.ctx.path,
        size: this.source.size,
        format: this.format,
        status: incomplete ? 'incomplete' : this.inspected ? 'complete' : 'not-inspected',
        ...(this.pickles.length > 0 ? { pickles: this.pickles } : {}),
      },
      findings: kept,
      counts,
    };
  }

  // ── dispatch ─────────────────────────────────────────────────────────────────────────────

  run(): void {
    const size = this.source.size;
    const head = this.source.read(0, Math.min(16, size));
    this.budget.remaining -= head.length;
    const name = this.ctx.name;
    if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) {
      this.inspected = true;
      this.scanZip(this.source);
      return;
    }
    if (looksLikeBinaryPickle(head)) {
      this.setFormat('pickle');
      this.scanPickle(this.source, undefined, 'strict');
      this.checkPolyglot();
      return;
    }
    if (head.subarray(0, 4).equals(GGUF_MAGIC)) {
      this.setFormat('gguf');
      const r = checkGguf(this.source, this.budget);
      if (!r.ok) this.unscanned('too-large', r.detail);
      else for (const p of r.problems) this.add(p.rule, p.detail, { offset: p.offset });
      this.checkPolyglot();
      return;
    }
    if (/\.safetensors$/i.test(name) || looksLikeSafetensors(head, size)) {
      this.setFormat('safetensors');
      const r = checkSafetensors(this.source, this.budget);
      if (!r.ok) this.unscanned('too-large', r.detail);
      else for (const p of r.problems) this.add(p.rule, p.detail, { offset: p.offset });
      return;
    }
    if (/\.onnx$/i.test(name)) {
      this.setFormat('onnx');
      const r = checkOnnx(this.source, this.budget);
      if (!r.ok) this.unscanned('too-large', r.detail);
      else for (const p of r.problems) this.add(p.rule, p.detail, { offset: p.offset });
      this.checkPolyglot();
      return;
    }
    const picklish = PICKLE_EXT.test(name) || MAYBE_PICKLE_EXT.test(name) || /\.gz$/i.test(name);
    if (picklish && startsWith(head, GZIP)) {
      this.scanCompressed('gzip');
      return;
    }
    if (picklish && isZlibHeader(head)) {
      this.scanCompressed('zlib');
      return;
    }
    if (picklish) {
      const other = OTHER_COMPRESSION.find(([, magic]) => startsWith(head, magic));
      if (other !== undefined) {
        this.setFormat('compressed-pickle');
        this.unscanned(
          'unsupported',
          `the file is ${other[0]}-compressed, which the scanner cannot open`,
        );
        return;
      }
    }
    if (PICKLE_EXT.test(name)) {
      this.setFormat('pickle');
      this.scanPickle(this.source, undefined, 'strict');
      this.checkPolyglot();
      return;
    }
    const text = head.toString('latin1');
    if (MAYBE_PICKLE_EXT.test(name) || TEXT_PICKLE_START.test(this.textHead(text))) {
      if (this.scanPickle(this.source, undefined, 'probe')) {
        this.setFormat('pickle');
        this.checkPolyglot();
      } else if (MAYBE_PICKLE_EXT.test(name) && !this.trailingZip()) {
        this.setFormat('unrecognised');
        this.add(
          'format.unrecognised',
          'named like a PyTorch or pickle file, but neither a pickle nor a zip archive',
        );
      }
    }
  }

  private setFormat(format: FileFormat): void {
    this.format = format;
    this.inspected = true;
  }

  /** Up to 512 bytes for the text-pickle pattern (the 16-byte head is too short for names). */
  private textHead(head: string): string {
    if (!/^\(?[ci][A-Za-z_]/.test(head)) return '';
    return this.source.read(0, Math.min(512, this.source.size)).toString('latin1');
  }

  // ── pickles ──────────────────────────────────────────────────────────────────────────────

  /**
   * Disassembles the pickle stream(s) in `source`. In `probe` mode the bytes only might be a
   * pickle: nothing is reported unless the walk reached a STOP or imported something, and the
   * return value says whether it did.
   */
  private scanPickle(
    source: ByteSource,
    member: string | undefined,
    mode: 'strict' | 'probe',
  ): boolean {
    const l = this.ctx.limits;
    const walk = walkPickles(source, {
      limits: { maxOps: l.maxPickleOps, maxDepth: l.maxPickleDepth, maxMemo: l.maxPickleMemo },
      budget: this.budget,
    });
    if (mode === 'probe' && walk.streams === 0 && walk.imports.length === 0) return false;
    if (member !== undefined) this.pickles.push(member);
    this.report(walk, member);
    return true;
  }

  private report(walk: PickleWalk, member: string | undefined): void {
    for (const imp of walk.imports) {
      const f = this.callableFinding(imp, member);
      if (f !== undefined) this.findings.push(f);
    }
    for (const a of walk.anomalies) {
      switch (a.kind) {
        case 'memo-abuse':
          this.add('pickle.memo-abuse', `memo index ${a.index} is far beyond the entries stored`, {
            member,
            offset: a.offset,
          });
          break;
        case 'trailing-data':
          this.add('pickle.trailing-data', `${a.bytes} bytes follow the last pickle stream`, {
            member,
            offset: a.offset,
          });
          break;
      }
    }
    const o = walk.outcome;
    switch (o.kind) {
      case 'complete':
        break;
      case 'malformed':
        this.unscanned(
          'malformed',
          `the pickle is invalid at offset ${o.offset}: ${o.reason}`,
          member,
          o.offset,
        );
        break;
      case 'truncated':
        this.unscanned('truncated', `the pickle is truncated: ${o.reason}`, member, o.offset);
        break;
      case 'limit':
        this.unscanned(
          o.limit === 'bytes' ? 'too-large' : 'limit',
          `the pickle was not walked to the end: ${o.reason}`,
          member,
          o.offset,
        );
        break;
      case 'error':
        this.unscanned(
          'malformed',
          `the pickle could not be walked: ${o.reason}`,
          member,
          o.offset,
        );
        break;
    }
  }

  private callableFinding(
    imp: PickleImport,
    member: string | undefined,
  ): CallableFinding | undefined {
    const where = {
      file: this.ctx.path,
      ...(member === undefined ? {} : { member }),
      offset: imp.offset,
      opcode: imp.opcode,
      calls: imp.calls,
    };
    const callsText = (n: number) =>
      n === 0 ? 'does not call it directly' : n === 1 ? 'calls it once' : `calls it ${n} times`;
    switch (imp.kind) {
      case 'global': {
        const verdict = judgeGlobal(imp.module, imp.name, this.ctx.extraSafe);
        const callable = `${imp.module}.${imp.name}`;
        const args = imp.args === undefined ? '' : ` with (${imp.args.join(', ')})`;
        const common = {
          ...where,
          kind: 'callable' as const,
          callable,
          module: imp.module,
          name: imp.name,
          occurrences: imp.occurrences,
          ...(imp.args === undefined ? {} : { args: imp.args }),
        };
        switch (verdict.kind) {
          case 'safe':
            return undefined;
          case 'dangerous':
            return {
              ...common,
              rule: 'pickle.dangerous-callable',
              severity: verdict.severity,
              detail: `imports ${callable}, which ${verdict.why}, and ${callsText(imp.calls)}${args}`,
            };
          case 'unknown':
            return {
              ...common,
              rule: 'pickle.unknown-callable',
              severity: SCAN_RULES['pickle.unknown-callable'].severity,
              detail: `imports ${callable}, which is not on the safe list, and ${callsText(imp.calls)}${args}`,
            };
        }
        break;
      }
      case 'unresolved':
        return {
          ...where,
          kind: 'callable',
          rule: 'pickle.unresolved-callable',
          severity: SCAN_RULES['pickle.unresolved-callable'].severity,
          callable: '?.?',
          module: '?',
          name: '?',
          occurrences: 1,
          detail: `STACK_GLOBAL imports a module named by ${imp.module} and a name given by ${imp.name}; only running the pickle would tell which`,
        };
      case 'extension':
        return {
          ...where,
          kind: 'callable',
          rule: 'pickle.extension-code',
          severity: SCAN_RULES['pickle.extension-code'].severity,
          callable: `?.ext${imp.code}`,
          module: '?',
          name: `ext${imp.code}`,
          occurrences: imp.occurrences,
          detail: `${imp.opcode} imports extension code ${imp.code} from the copyreg registry of whatever process loads it, and ${callsText(imp.calls)}`,
        };
    }
    return undefined;
  }

  private scanCompressed(kind: 'gzip' | 'zlib'): void {
    this.setFormat('compressed-pickle');
    const max = this.ctx.limits.maxInflateBytes;
    const member = `(${kind} stream)`;
    if (this.source.size > Math.min(max, this.budget.remaining)) {
      this.unscanned(
        'too-large',
        `the ${this.source.size}-byte compressed file is over the inflate or per-file byte limit`,
      );
      return;
    }
    this.budget.remaining -= this.source.size;
    const compressed = this.source.read(0, this.source.size);
    let bytes: Buffer;
    try {
      bytes = (kind === 'gzip' ? gunzipSync : inflateSync)(compressed, { maxOutputLength: max });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
        this.unscanned('zip-bomb', `the ${kind} stream inflates to more than ${max} bytes`);
      } else {
        this.unscanned('malformed', `the ${kind} stream is corrupt (${code ?? 'error'})`);
      }
      return;
    }
    const inner = bufferSource(bytes);
    if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) {
      this.format = 'zip';
      this.scanZip(inner);
      return;
    }
    this.scanPickle(inner, member, 'strict');
  }

  // ── archives ─────────────────────────────────────────────────────────────────────────────

  private zipLimits(): ZipLimits {
    return {
      maxEntries: this.ctx.limits.maxZipEntries,
      maxInflateBytes: this.ctx.limits.maxInflateBytes,
    };
  }

  private scanZip(source: ByteSource): void {
    if (this.format !== 'compressed-pickle') this.format = 'zip';
    const dir = readZipDirectory(source, this.budget, this.zipLimits());
    if (!dir.ok) {
      switch (dir.reason) {
        case 'malformed':
          this.add(
            'zip.malformed',
            `the zip archive cannot be read safely: ${dir.detail}`,
            { offset: dir.offset },
            'malformed',
          );
          break;
        case 'limit':
          this.unscanned('limit', `the zip archive was not scanned: ${dir.detail}`);
          break;
        case 'too-large':
          this.unscanned('too-large', `the zip archive was not scanned: ${dir.detail}`);
          break;
      }
      return;
    }
    if (dir.entries.some((e) => /(^|\/)data\.pkl$/.test(e.name))) this.format = 'pytorch-zip';
    this.scanZipEntries(source, dir);
  }

  private scanZipEntries(source: ByteSource, dir: ZipDirectory & { ok: true }): void {
    for (const issue of dir.issues) {
      switch (issue.kind) {
        case 'duplicate':
          this.add(
            'zip.duplicate-entry',
            `the archive has more than one entry named ${JSON.stringify(issue.name)}`,
            { member: issue.name },
          );
          break;
        case 'overlap':
          this.add(
            'zip.overlap',
            `entry ${JSON.stringify(issue.name)} shares bytes with ${JSON.stringify(issue.other)}`,
            {
              member: issue.name,
              offset: issue.offset,
            },
          );
          break;
        case 'header-mismatch':
          this.add(
            'zip.header-mismatch',
            `the local header of ${JSON.stringify(issue.name)} names ${JSON.stringify(issue.local)}`,
            {
              member: issue.name,
              offset: issue.offset,
            },
          );
          break;
        case 'unsafe-name':
          this.add(
            'zip.unsafe-name',
            `entry name ${JSON.stringify(issue.name)} is unsafe (${issue.problem})`,
            { member: issue.name },
          );
          break;
        case 'prepended':
          this.add('zip.prepended-data', `${issue.bytes} bytes precede the first zip entry`, {
            offset: 0,
          });
          break;
        case 'bomb':
          this.add(
            'zip.bomb',
            `entry ${JSON.stringify(issue.name)} ${issue.detail}`,
            { member: issue.name },
            'zip-bomb',
          );
          break;
        case 'bad-entry':
          this.add(
            'zip.malformed',
            `entry ${JSON.stringify(issue.name)} is inconsistent: ${issue.detail}`,
            { member: issue.name },
            'malformed',
          );
          break;
      }
    }
    for (const entry of dir.entries) {
      if (entry.name.endsWith('/')) continue;
      const sure = PICKLE_EXT.test(entry.name);
      if (!sure && !MAYBE_PICKLE_EXT.test(entry.name)) continue;
      this.scanMember(source, entry, sure);
    }
  }

  private scanMember(source: ByteSource, entry: ZipEntry, sure: boolean): void {
    const opened = openMember(source, entry, this.budget, this.zipLimits());
    if (!opened.ok) {
      this.unscanned(
        opened.reason,
        `entry ${JSON.stringify(entry.name)} was not scanned: ${opened.detail}`,
        entry.name,
      );
      return;
    }
    // Members named .pt/.bin/… are pickles only when they start like one (else tensor data).
    if (!sure && !looksLikeBinaryPickle(opened.source.read(0, 2))) return;
    this.scanPickle(opened.source, entry.name, 'strict');
  }

  /** A zip archive behind leading bytes (Python's zipfile reads it; torch does not). */
  private trailingZip(): boolean {
    try {
      if (findEndOfDirectory(this.source, this.budget) === undefined) return false;
    } catch {
      return false;
    }
    const dir = readZipDirectory(this.source, this.budget, this.zipLimits());
    if (!dir.ok) return false;
    this.setFormat(
      dir.entries.some((e) => /(^|\/)data\.pkl$/.test(e.name)) ? 'pytorch-zip' : 'zip',
    );
    this.scanZipEntries(this.source, dir);
    return true;
  }

  /**
   * A model file that also ends in a zip directory is two things at once; loaders that sniff the
   * end (Python's zipfile) see an archive. Report it and scan the archive's pickles too.
   */
  private checkPolyglot(): void {
    let eocd: number | undefined;
    try {
      eocd = findEndOfDirectory(this.source, this.budget);
    } catch {
      return;
    }
    if (eocd === undefined) return;
    // Four bytes that look like an end record can occur by chance in tensor data: only a
    // directory that reads cleanly makes the file a polyglot.
    const dir = readZipDirectory(this.source, this.budget, this.zipLimits());
    if (!dir.ok) return;
    this.add(
      'format.polyglot',
      `the ${this.format} file also ends with a zip directory (at offset ${eocd})`,
      { offset: eocd },
    );
    this.scanZipEntries(this.source, dir);
  }
}

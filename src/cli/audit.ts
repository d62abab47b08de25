import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { UsageError, ValidationError, VerificationError, fromFsError } from '../errors/index.js';
import { writeFileAtomic } from '../model/index.js';
import { parsePositiveInt } from './inputs.js';
import { withApi } from './login.js';
import { printError, printJson, say, type Io } from './output.js';
import { verifyAuditChain, type AuditRecord } from '../store/index.js';
import {
  auditRecordSchema,
  parseJsonResponse,
  type AuditRecordJson,
  type RegistryApi,
} from './registry-client.js';

export interface AuditListFlags {
  readonly after?: string;
  readonly limit?: string;
  readonly server?: string;
  readonly json?: boolean;
}

export interface AuditExportFlags {
  readonly out?: string;
  readonly server?: string;
  readonly json?: boolean;
}

export interface AuditVerifyFlags {
  readonly file?: string;
  readonly head?: string;
  readonly server?: string;
  readonly json?: boolean;
}

/** One exported record per line: bounded so a hostile file cannot exhaust memory. */
const MAX_AUDIT_LINE_BYTES = 1024 * 1024;
const MAX_AUDIT_RECORDS = 10_000_000;
const PAGE = 1000;

function describe(r: AuditRecordJson): string {
  const where = [r['repository'], r['environment']].filter((x) => typeof x === 'string').join(' ');
  const digest = typeof r['digest'] === 'string' ? ` ${r['digest']}` : '';
  const reasons = r.reasons.length === 0 ? '' : `  [${r.reasons.join(', ')}]`;
  return `#${r.seq} ${r.at}  ${r.action.padEnd(17)} ${r.decision.padEnd(21)} ${r.actor.subject}  ${where}${digest}${reasons}`;
}

/** `cairn audit list`: one page of the trail, oldest first. */
export async function auditListCommand(io: Io, flags: AuditListFlags): Promise<number> {
  const after = flags.after === undefined ? 0 : parseNonNegative(flags.after, '--after');
  const limit = flags.limit === undefined ? 100 : parsePositiveInt(flags.limit, '--limit');
  if (limit > PAGE) throw new UsageError('USAGE', `--limit is at most ${PAGE}`);
  return withApi(io, flags.server, async (api) => {
    const page = await api.auditPage(after, limit);
    if (flags.json) printJson(io, { ok: true, records: page.records, next: page.next });
    else {
      for (const r of page.records) say(io, describe(r));
      if (page.next !== null) say(io, `(more: --after ${page.next})`);
    }
    return 0;
  });
}

/** Every record of the trail, page by page. */
async function fetchTrail(api: RegistryApi): Promise<AuditRecordJson[]> {
  const records: AuditRecordJson[] = [];
  let after = 0;
  for (;;) {
    const page = await api.auditPage(after, PAGE);
    records.push(...page.records);
    if (records.length > MAX_AUDIT_RECORDS) {
      throw new UsageError(
        'INPUT_TOO_LARGE',
        `The trail has more than ${MAX_AUDIT_RECORDS} records`,
      );
    }
    if (page.next === null || page.records.length === 0) return records;
    if (page.next <= after) {
      throw new ValidationError('AUDIT_TRAIL_INVALID', 'The server paged the trail backwards');
    }
    after = page.next;
  }
}

/** `cairn audit export`: the whole trail as JSON Lines, for archiving and offline verification. */
export async function auditExportCommand(io: Io, flags: AuditExportFlags): Promise<number> {
  return withApi(io, flags.server, async (api) => {
    const records = await fetchTrail(api);
    const text = records.map((r) => `${JSON.stringify(r)}\n`).join('');
    if (flags.out === undefined) {
      io.stdout.write(text);
      return 0;
    }
    const out = resolve(io.cwd, flags.out);
    writeFileAtomic(out, Buffer.from(text), { overwrite: false, mode: 0o600 });
    if (flags.json) printJson(io, { ok: true, out, records: records.length });
    else say(io, `Exported ${records.length} audit records to ${out}`);
    return 0;
  });
}

/** Reads an exported JSONL trail line by line within limits; returns records and their lines. */
async function readTrailFile(
  io: Io,
  file: string,
): Promise<{ records: AuditRecordJson[]; lines: number[] }> {
  const path = resolve(io.cwd, file);
  const stream = createReadStream(path);
  await new Promise<void>((ok, fail) => {
    stream.once('open', () => ok());
    stream.once('error', (err) => fail(fromFsError(err, path)));
  });
  const records: AuditRecordJson[] = [];
  const lines: number[] = [];
  let line = 0;
  try {
    for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
      line += 1;
      if (text.trim() === '') continue;
      if (text.length > MAX_AUDIT_LINE_BYTES || records.length >= MAX_AUDIT_RECORDS) {
        throw new UsageError('INPUT_TOO_LARGE', `${file}: line ${line} is over the limits`);
      }
      try {
        records.push(parseJsonResponse(Buffer.from(text), auditRecordSchema, `line ${line}`));
      } catch (err) {
        throw new ValidationError(
          'AUDIT_TRAIL_INVALID',
          `${file}: line ${line} is not an audit record`,
          {
            cause: err,
            details: { line, ...((err as { details?: object }).details ?? {}) },
          },
        );
      }
      lines.push(line);
    }
  } finally {
    stream.destroy();
  }
  return { records, lines };
}

/** `--head SEQ:HASH`: the last record the caller trusts (detects a trail cut off at the end). */
function parseHead(value: string): { seq: number; hash: string } {
  const m = /^([1-9][0-9]{0,15}):([0-9a-f]{64})$/.exec(value);
  if (m === null) throw new UsageError('USAGE', '--head must be SEQ:HASH (the hash as 64 hex)');
  return { seq: Number(m[1]), hash: m[2]! };
}

/**
 * `cairn audit verify`: the hash chain of the whole trail — fetched from the server or read from
 * an exported file — checked with the store's own verifier (one definition of the hash). The
 * first edited, missing, reordered or unlinked record is named; exit 1 when the chain is broken.
 */
export async function auditVerifyCommand(io: Io, flags: AuditVerifyFlags): Promise<number> {
  const head = flags.head === undefined ? undefined : parseHead(flags.head);
  const source =
    flags.file === undefined
      ? await withApi(io, flags.server, async (api, server) => ({
          records: await fetchTrail(api),
          lines: undefined,
          from: server,
        }))
      : { ...(await readTrailFile(io, flags.file)), from: resolve(io.cwd, flags.file) };
  // The wire carries instants as RFC 3339 strings; the chain hashes them as the store's Dates.
  const records = source.records.map(
    (r) => ({ ...r, at: new Date(r.at) }) as unknown as AuditRecord,
  );
  const result = verifyAuditChain(records, head === undefined ? {} : { head });
  if (result.valid) {
    const h = result.head;
    if (flags.json)
      printJson(io, { ok: true, source: source.from, records: result.count, head: h ?? null });
    else {
      say(io, `Audit trail verified: ${result.count} records from ${source.from}`);
      if (h !== undefined) say(io, `  head: #${h.seq} ${h.hash}`);
    }
    return 0;
  }
  const f = result.failure;
  const line = source.lines?.[f.index];
  const err = new VerificationError(
    'AUDIT_CHAIN_BROKEN',
    `The audit trail is broken at record ${f.seq}${line === undefined ? '' : ` (line ${line})`}: ${f.message}`,
    {
      details: {
        problem: f.problem,
        seq: f.seq,
        index: f.index,
        ...(line === undefined ? {} : { line }),
        verifiedBefore: f.count,
        source: source.from,
      },
    },
  );
  if (flags.json) printJson(io, { ok: false, error: err.toJSON() });
  else printError(io, err);
  return err.exitCode;
}

function parseNonNegative(value: string, flag: string): number {
  return value === '0' ? 0 : parsePositiveInt(value, flag);
}

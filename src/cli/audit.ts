import { resolve } from 'node:path';
import { UsageError, ValidationError } from '../errors/index.js';
import { writeFileAtomic } from '../model/index.js';
import { parsePositiveInt } from './inputs.js';
import { withApi } from './login.js';
import { printJson, say, type Io } from './output.js';
import type { AuditRecordJson, RegistryApi } from './registry-client.js';

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
  readonly server?: string;
  readonly json?: boolean;
}

/** One exported record per line: bounded so a hostile file cannot exhaust memory. */
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

function parseNonNegative(value: string, flag: string): number {
  return value === '0' ? 0 : parsePositiveInt(value, flag);
}

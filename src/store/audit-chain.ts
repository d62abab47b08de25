import { InfraError } from '../errors/index.js';
import { hashBytes } from '../digest/index.js';
import type { AuditRecord, NewAuditEvent } from './types.js';

/** `prevHash` of the first record: 64 zeros. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** An audit record as it is hashed: everything but `hash`. */
export type UnhashedAuditRecord = Omit<AuditRecord, 'hash'>;

/**
 * Canonical JSON (RFC 8785 shape: object keys sorted by UTF-16 code units, no whitespace, ES
 * number and string serialisation). Dates become their ISO string; `undefined` object members are
 * dropped. Anything else that JSON cannot carry (functions, non-finite numbers, bigints, symbols,
 * `undefined` in arrays) is refused, so two backends can never hash different texts for one record.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw notJson('an invalid Date');
    return JSON.stringify(value.toISOString());
  }
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw notJson(String(value));
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((v: unknown) => (v === undefined ? fail('undefined') : canonicalJson(v))).join(',')}]`;
      }
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    case 'undefined':
    case 'bigint':
    case 'symbol':
    case 'function':
      throw notJson(typeof value);
  }
  throw notJson('an unknown value');
}

function notJson(what: string): InfraError {
  return new InfraError('INTERNAL', `An audit record holds ${what}, which JSON cannot carry`);
}

function fail(what: string): never {
  throw notJson(what);
}

/**
 * The one definition of an audit record's hash:
 * `hex(sha256(utf8(prevHash) ‖ utf8(canonicalJson(record without hash))))`.
 * Every backend and `cairn audit verify` use this function and nothing else.
 */
export function auditRecordHash(prevHash: string, record: UnhashedAuditRecord): string {
  return hashBytes('sha256', Buffer.from(prevHash + canonicalJson(record), 'utf8')).toString('hex');
}

/**
 * Builds the record a store appends after `previous` (or first, when there is none). The result
 * is the record as it reads back from storage: optional members that were `undefined` are gone.
 */
export function chainAuditRecord(
  previous: { readonly seq: number; readonly hash: string } | undefined,
  event: NewAuditEvent,
): { record: AuditRecord; body: string } {
  const unhashed = auditRecordFromBody(
    canonicalJson({
      ...event,
      seq: previous === undefined ? 1 : previous.seq + 1,
      prevHash: previous === undefined ? AUDIT_GENESIS_HASH : previous.hash,
    }),
  );
  const body = canonicalJson(unhashed);
  return { record: { ...unhashed, hash: auditRecordHash(unhashed.prevHash, unhashed) }, body };
}

/** Parses a stored canonical body back into a record (the `at` member becomes a Date again). */
export function auditRecordFromBody(body: string): UnhashedAuditRecord {
  const parsed = JSON.parse(body) as Omit<UnhashedAuditRecord, 'at'> & { at: string };
  return { ...parsed, at: new Date(parsed.at) };
}

export type AuditChainProblem =
  /** A record's content no longer hashes to its stored `hash`. */
  | 'edited'
  /** `seq` jumps: records are missing. */
  | 'missing'
  /** `seq` goes backwards or repeats: records were moved or duplicated. */
  | 'reordered'
  /** `prevHash` is not the previous record's `hash`: a record was removed or replaced before it. */
  | 'unlinked'
  /** The chain ends before the head the caller knows about (records were cut off the end). */
  | 'truncated';

export type AuditChainVerification =
  | {
      readonly valid: true;
      /** Records checked. */
      readonly count: number;
      /** The last record's seq and hash (`undefined` for an empty chain). */
      readonly head: { readonly seq: number; readonly hash: string } | undefined;
    }
  | {
      readonly valid: false;
      readonly count: number;
      /** The first record that breaks the chain. */
      readonly failure: {
        readonly problem: AuditChainProblem;
        /** Index in the array given, and that record's claimed seq. */
        readonly index: number;
        readonly seq: number;
        /** Records verified before it (same as the outer `count`). */
        readonly count: number;
        readonly message: string;
      };
    };

/**
 * Checks a run of audit records, oldest first: every `hash` recomputes, `seq` counts up by one
 * and each `prevHash` is the previous `hash`. Pure: pass the records read from the store (and, to
 * verify a window, the record just before it as `after`; to detect a cut-off tail, the `head` you
 * trust). Reports the first record that breaks the chain.
 */
export function verifyAuditChain(
  records: readonly AuditRecord[],
  options: {
    readonly after?: { readonly seq: number; readonly hash: string };
    readonly head?: { readonly seq: number; readonly hash: string };
  } = {},
): AuditChainVerification {
  let prev = options.after ?? { seq: 0, hash: AUDIT_GENESIS_HASH };
  for (const [index, record] of records.entries()) {
    const broken = (problem: AuditChainProblem, message: string): AuditChainVerification => ({
      valid: false,
      count: index,
      failure: { problem, index, seq: record.seq, count: index, message },
    });
    const { hash, ...unhashed } = record;
    let recomputed: string;
    try {
      recomputed = auditRecordHash(record.prevHash, unhashed);
    } catch {
      return broken('edited', `record ${record.seq} holds values JSON cannot carry`);
    }
    if (recomputed !== hash) {
      return broken('edited', `record ${record.seq} does not hash to its stored hash`);
    }
    if (record.seq > prev.seq + 1) {
      const next = prev.seq + 1;
      return records.slice(index + 1).some((r) => r.seq === next)
        ? broken('reordered', `record ${record.seq} comes before record ${next}`)
        : broken('missing', `records ${next}…${record.seq - 1} are missing`);
    }
    if (record.seq <= prev.seq) {
      return broken('reordered', `record ${record.seq} follows record ${prev.seq}`);
    }
    if (record.prevHash !== prev.hash) {
      return broken('unlinked', `record ${record.seq} does not chain to record ${prev.seq}`);
    }
    prev = { seq: record.seq, hash };
  }
  const head = options.head;
  if (
    head !== undefined &&
    (head.seq > prev.seq || (head.seq === prev.seq && head.hash !== prev.hash))
  ) {
    return {
      valid: false,
      count: records.length,
      failure: {
        problem: head.seq > prev.seq ? 'truncated' : 'edited',
        index: records.length,
        seq: head.seq,
        count: records.length,
        message: `the chain ends at record ${prev.seq} but the trusted head is record ${head.seq}`,
      },
    };
  }
  return {
    valid: true,
    count: records.length,
    head: records.length === 0 ? options.after : prev,
  };
}

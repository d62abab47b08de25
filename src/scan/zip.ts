import { inflateRawSync } from 'node:zlib';
import { pathProblem } from '../manifest/index.js';
import { bufferSource, sliceSource, type ByteSource, type ReadBudget } from './source.js';

/**
 * A zip reader for scanning, written for hostile input: it reads the central directory (zip64
 * included) with every offset, size and count checked against the file before use, compares each
 * local header with its directory entry, finds entries that share bytes, and inflates only the
 * entries asked for, with a hard output limit. Nothing is extracted to disk.
 */

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly flags: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
  /** Where the entry's data starts (after its local header), once the header was checked. */
  readonly dataStart: number;
}

export type ZipIssue =
  | { readonly kind: 'duplicate'; readonly name: string }
  | {
      readonly kind: 'overlap';
      readonly name: string;
      readonly other: string;
      readonly offset: number;
    }
  | {
      readonly kind: 'header-mismatch';
      readonly name: string;
      readonly local: string;
      readonly offset: number;
    }
  | { readonly kind: 'unsafe-name'; readonly name: string; readonly problem: string }
  | { readonly kind: 'prepended'; readonly bytes: number }
  | { readonly kind: 'bomb'; readonly name: string; readonly detail: string }
  | { readonly kind: 'bad-entry'; readonly name: string; readonly detail: string };

export type ZipDirectory =
  | {
      readonly ok: true;
      readonly entries: readonly ZipEntry[];
      readonly issues: readonly ZipIssue[];
      /** Offset of the central directory (entries must end before it). */
      readonly directoryStart: number;
    }
  | {
      readonly ok: false;
      readonly reason: 'malformed' | 'limit' | 'too-large';
      readonly detail: string;
      readonly offset?: number;
    };

export interface ZipLimits {
  readonly maxEntries: number;
  readonly maxInflateBytes: number;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;
const MAX_DIRECTORY_BYTES = 256 * 1024 * 1024;
/** Deflate cannot expand more than about 1032:1; a declared ratio above that is a lie. */
const IMPOSSIBLE_RATIO = 1100;

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Bad extends Error {
  constructor(
    readonly reason: 'malformed' | 'limit' | 'too-large',
    readonly detail: string,
    readonly offset?: number,
  ) {
    super(detail);
  }
}

function readAt(
  source: ByteSource,
  budget: ReadBudget,
  pos: number,
  len: number,
  what: string,
): Buffer {
  if (pos < 0 || len < 0 || pos + len > source.size) {
    throw new Bad(
      'malformed',
      `${what} at offset ${pos} (${len} bytes) lies outside the file`,
      pos,
    );
  }
  if (len > budget.remaining) {
    throw new Bad(
      'too-large',
      `reading ${what} (${len} bytes) would exceed the per-file byte limit`,
      pos,
    );
  }
  budget.remaining -= len;
  const b = source.read(pos, len);
  if (b.length !== len) throw new Bad('malformed', `${what} could not be read in full`, pos);
  return b;
}

function u64(b: Buffer, off: number): number {
  const v = b.readBigUInt64LE(off);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
}

/** True when the last bytes of a file hold a zip end-of-central-directory record. */
export function findEndOfDirectory(source: ByteSource, budget: ReadBudget): number | undefined {
  if (source.size < 22) return undefined;
  const start = Math.max(0, source.size - 22 - MAX_COMMENT);
  const tail = readAt(source, budget, start, source.size - start, 'the end of the file');
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) !== EOCD) continue;
    const commentLength = tail.readUInt16LE(i + 20);
    if (i + 22 + commentLength <= tail.length) return start + i;
  }
  return undefined;
}

/** Reads and cross-checks the central directory and every local header it names. */
export function readZipDirectory(
  source: ByteSource,
  budget: ReadBudget,
  limits: ZipLimits,
): ZipDirectory {
  try {
    return readDirectory(source, budget, limits);
  } catch (err) {
    if (err instanceof Bad) {
      return {
        ok: false,
        reason: err.reason,
        detail: err.detail,
        ...(err.offset === undefined ? {} : { offset: err.offset }),
      };
    }
    throw err;
  }
}

function readDirectory(source: ByteSource, budget: ReadBudget, limits: ZipLimits): ZipDirectory {
  const eocdPos = findEndOfDirectory(source, budget);
  if (eocdPos === undefined) throw new Bad('malformed', 'no end-of-central-directory record');
  const eocd = readAt(source, budget, eocdPos, 22, 'the end-of-central-directory record');
  if (eocd.readUInt16LE(4) !== 0 || eocd.readUInt16LE(6) !== 0) {
    throw new Bad('malformed', 'multi-disk archives are not model files', eocdPos);
  }
  let count = eocd.readUInt16LE(10);
  let dirSize = eocd.readUInt32LE(12);
  let dirOffset = eocd.readUInt32LE(16);
  let dirEnd = eocdPos;
  // Zip64: a locator just before the end record points at the 64-bit end record.
  if (eocdPos >= 20) {
    const loc = readAt(source, budget, eocdPos - 20, 20, 'the zip64 locator');
    if (loc.readUInt32LE(0) === EOCD64_LOCATOR) {
      const at = eocdPos - 20 - 56;
      const declared = u64(loc, 8);
      const pos =
        at >= 0 && readAt(source, budget, at, 4, 'the zip64 end record').readUInt32LE(0) === EOCD64
          ? at
          : declared;
      const rec = readAt(source, budget, pos, 56, 'the zip64 end record');
      if (rec.readUInt32LE(0) !== EOCD64)
        throw new Bad('malformed', 'the zip64 end record is missing', pos);
      count = u64(rec, 32);
      dirSize = u64(rec, 40);
      dirOffset = u64(rec, 48);
      dirEnd = pos;
    }
  }
  if (count > limits.maxEntries) {
    throw new Bad(
      'limit',
      `the archive declares ${count} entries; the limit is ${limits.maxEntries}`,
    );
  }
  if (!Number.isFinite(dirSize) || !Number.isFinite(dirOffset) || dirSize > dirEnd) {
    throw new Bad('malformed', 'the central directory size or offset is out of bounds');
  }
  if (dirSize > MAX_DIRECTORY_BYTES) {
    throw new Bad('too-large', `the central directory is ${dirSize} bytes`);
  }
  if (count * 46 > dirSize) {
    throw new Bad(
      'malformed',
      `${count} entries cannot fit in a ${dirSize}-byte central directory`,
    );
  }
  // Bytes in front of the archive shift every offset (Python's zipfile allows it; torch does not).
  const prepended = dirEnd - dirSize - dirOffset;
  if (prepended < 0) throw new Bad('malformed', 'the central directory overlaps its end record');
  const dirStart = dirOffset + prepended;
  const dir = readAt(source, budget, dirStart, dirSize, 'the central directory');
  const issues: ZipIssue[] = [];
  if (prepended > 0) issues.push({ kind: 'prepended', bytes: prepended });

  const raw: Omit<ZipEntry, 'dataStart'>[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL) {
      throw new Bad('malformed', `central directory entry ${i} is malformed`, dirStart + p);
    }
    const flags = dir.readUInt16LE(p + 8);
    const method = dir.readUInt16LE(p + 10);
    let compressedSize = dir.readUInt32LE(p + 20);
    let size = dir.readUInt32LE(p + 24);
    const nameLength = dir.readUInt16LE(p + 28);
    const extraLength = dir.readUInt16LE(p + 30);
    const commentLength = dir.readUInt16LE(p + 32);
    let localHeaderOffset = dir.readUInt32LE(p + 42);
    const end = p + 46 + nameLength + extraLength + commentLength;
    if (end > dir.length) {
      throw new Bad(
        'malformed',
        `central directory entry ${i} runs past the directory`,
        dirStart + p,
      );
    }
    const nameBytes = dir.subarray(p + 46, p + 46 + nameLength);
    const extra = dir.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength);
    // The zip64 extra field holds, in order, the fields whose 32-bit value is all ones.
    for (let e = 0; e + 4 <= extra.length;) {
      const id = extra.readUInt16LE(e);
      const len = extra.readUInt16LE(e + 2);
      if (e + 4 + len > extra.length) break;
      if (id === 0x0001) {
        let q = e + 4;
        const take = (): number => {
          if (q + 8 > e + 4 + len)
            throw new Bad('malformed', `entry ${i} has a short zip64 field`, dirStart + p);
          const v = u64(extra, q);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
      }
      e += 4 + len;
    }
    const name = decodeName(nameBytes, flags);
    raw.push({
      name,
      method,
      flags,
      compressedSize,
      size,
      localHeaderOffset: localHeaderOffset + prepended,
    });
    p = end;
  }

  const seen = new Set<string>();
  for (const e of raw) {
    if (seen.has(e.name)) issues.push({ kind: 'duplicate', name: e.name });
    seen.add(e.name);
    const problem = e.name.endsWith('/') ? pathProblem(e.name.slice(0, -1)) : pathProblem(e.name);
    if (problem !== undefined) issues.push({ kind: 'unsafe-name', name: e.name, problem });
    if (e.method !== 0 && e.size > 1024 * 1024 && e.size > e.compressedSize * IMPOSSIBLE_RATIO) {
      issues.push({
        kind: 'bomb',
        name: e.name,
        detail: `declares ${e.size} bytes from ${e.compressedSize} compressed, beyond what deflate can produce`,
      });
    }
    if (e.method === 0 && e.size !== e.compressedSize) {
      issues.push({ kind: 'bad-entry', name: e.name, detail: 'a stored entry whose sizes differ' });
    }
  }

  // Local headers: each must match its directory entry, and no two entries may share bytes.
  const entries: ZipEntry[] = [];
  for (const e of raw) {
    if (!Number.isFinite(e.localHeaderOffset) || !Number.isFinite(e.compressedSize)) {
      throw new Bad(
        'malformed',
        `entry ${JSON.stringify(e.name)} has an impossible offset or size`,
      );
    }
    const head = readAt(
      source,
      budget,
      e.localHeaderOffset,
      30,
      `the local header of ${JSON.stringify(e.name)}`,
    );
    if (head.readUInt32LE(0) !== LOCAL) {
      throw new Bad(
        'malformed',
        `no local header where entry ${JSON.stringify(e.name)} says`,
        e.localHeaderOffset,
      );
    }
    const nameLength = head.readUInt16LE(26);
    const extraLength = head.readUInt16LE(28);
    const localName = decodeName(
      readAt(source, budget, e.localHeaderOffset + 30, nameLength, 'a local file name'),
      head.readUInt16LE(6),
    );
    if (localName !== e.name) {
      issues.push({
        kind: 'header-mismatch',
        name: e.name,
        local: localName,
        offset: e.localHeaderOffset,
      });
    }
    const dataStart = e.localHeaderOffset + 30 + nameLength + extraLength;
    if (dataStart + e.compressedSize > dirStart) {
      throw new Bad(
        'malformed',
        `entry ${JSON.stringify(e.name)} runs into the central directory`,
        e.localHeaderOffset,
      );
    }
    entries.push({ ...e, dataStart });
  }
  const byOffset = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!;
    const cur = byOffset[i]!;
    if (cur.localHeaderOffset < prev.dataStart + prev.compressedSize) {
      issues.push({
        kind: 'overlap',
        name: cur.name,
        other: prev.name,
        offset: cur.localHeaderOffset,
      });
    }
  }
  return { ok: true, entries, issues, directoryStart: dirStart };
}

function decodeName(bytes: Buffer, flags: number): string {
  if ((flags & 0x800) !== 0) {
    try {
      return utf8.decode(bytes);
    } catch {
      return bytes.toString('latin1');
    }
  }
  // CP437 in the standard; model archives use ASCII. Latin-1 keeps every byte visible.
  return bytes.toString('latin1');
}

export type MemberOpen =
  | { readonly ok: true; readonly source: ByteSource; readonly inflated: boolean }
  | {
      readonly ok: false;
      readonly reason: 'unsupported' | 'zip-bomb' | 'too-large' | 'malformed';
      readonly detail: string;
    };

/** Inflation ratio above which a pickle member is not inflated (real pickles compress ~2–20×). */
const MEMBER_RATIO = 100;
const RATIO_FLOOR = 1024 * 1024;

/**
 * The bytes of one entry: a window of the file when stored, or the inflated bytes (bounded by
 * `maxInflateBytes` and the declared size, and checked against the declared ratio first).
 */
export function openMember(
  source: ByteSource,
  entry: ZipEntry,
  budget: ReadBudget,
  limits: ZipLimits,
): MemberOpen {
  if ((entry.flags & 0x1) !== 0) {
    return { ok: false, reason: 'unsupported', detail: 'the entry is encrypted' };
  }
  if (entry.method === 0) {
    return {
      ok: true,
      source: sliceSource(source, entry.dataStart, entry.compressedSize),
      inflated: false,
    };
  }
  if (entry.method !== 8) {
    return {
      ok: false,
      reason: 'unsupported',
      detail: `compression method ${entry.method} (only stored and deflate are read)`,
    };
  }
  if (entry.size > limits.maxInflateBytes) {
    return {
      ok: false,
      reason: 'too-large',
      detail: `the entry inflates to ${entry.size} bytes; the limit is ${limits.maxInflateBytes}`,
    };
  }
  if (entry.compressedSize > limits.maxInflateBytes) {
    return {
      ok: false,
      reason: 'too-large',
      detail: `the entry has ${entry.compressedSize} compressed bytes; the limit is ${limits.maxInflateBytes}`,
    };
  }
  if (entry.size > RATIO_FLOOR && entry.size > entry.compressedSize * MEMBER_RATIO) {
    return {
      ok: false,
      reason: 'zip-bomb',
      detail: `the entry declares ${entry.size} bytes from ${entry.compressedSize} compressed (over ${MEMBER_RATIO}:1)`,
    };
  }
  let compressed: Buffer;
  try {
    compressed = readAt(source, budget, entry.dataStart, entry.compressedSize, 'compressed data');
  } catch (err) {
    if (err instanceof Bad) {
      return {
        ok: false,
        reason: err.reason === 'too-large' ? 'too-large' : 'malformed',
        detail: err.detail,
      };
    }
    throw err;
  }
  const inflated = inflateBounded(compressed, entry.size);
  if (!inflated.ok) return inflated;
  if (inflated.bytes.length !== entry.size) {
    return {
      ok: false,
      reason: 'malformed',
      detail: `the entry inflates to ${inflated.bytes.length} bytes, not the ${entry.size} it declares`,
    };
  }
  return { ok: true, source: bufferSource(inflated.bytes), inflated: true };
}

/** Raw-inflates at most `max` bytes; producing more is a bomb, not a bigger buffer. */
export function inflateBounded(
  compressed: Buffer,
  max: number,
): { ok: true; bytes: Buffer } | { ok: false; reason: 'zip-bomb' | 'malformed'; detail: string } {
  try {
    return { ok: true, bytes: inflateRawSync(compressed, { maxOutputLength: Math.max(1, max) }) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      return {
        ok: false,
        reason: 'zip-bomb',
        detail: `the data inflates to more than ${max} bytes`,
      };
    }
    return {
      ok: false,
      reason: 'malformed',
      detail: `the deflate stream is corrupt (${code ?? 'error'})`,
    };
  }
}

import { z } from 'zod';
import type { ByteSource, ReadBudget } from './source.js';

/**
 * safetensors header checks, as strict as the reference loader and a little stricter: the header
 * length is bounded before anything is read, the JSON is scanned for depth and duplicate keys
 * before it is parsed, every field is validated with every bad path reported, and the tensors'
 * byte ranges must tile the data area exactly (no overlap, no gap, nothing after the last one).
 */

/** The reference implementation's limit on the JSON header. */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

/** Bits per element; F4 and F6 pack several elements per byte. */
export const SAFETENSORS_DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  I64: 64,
  U64: 64,
  F64: 64,
  C64: 64,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
};

export type SafetensorsProblem = {
  readonly rule:
    | 'safetensors.header'
    | 'safetensors.duplicate-key'
    | 'safetensors.size-mismatch'
    | 'safetensors.out-of-bounds'
    | 'safetensors.overlap'
    | 'safetensors.gap'
    | 'safetensors.trailing-data';
  readonly offset?: number;
  readonly detail: string;
};

export type SafetensorsCheck =
  | {
      readonly ok: true;
      readonly tensors: number;
      readonly problems: readonly SafetensorsProblem[];
    }
  | { readonly ok: false; readonly reason: 'too-large'; readonly detail: string };

const MAX_DEPTH = 8;
const MAX_PROBLEMS = 100;

const safeInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const tensorSchema = z.object({
  dtype: z.string().refine((d) => d in SAFETENSORS_DTYPE_BITS, { message: 'unknown dtype' }),
  shape: z.array(safeInt),
  data_offsets: z.tuple([safeInt, safeInt]),
});
const metadataSchema = z.record(z.string(), z.string());

/** True when the first bytes look like a safetensors file of `size` bytes. */
export function looksLikeSafetensors(head: Buffer, size: number): boolean {
  if (head.length < 9 || size < 10) return false;
  const n = head.readBigUInt64LE(0);
  return n >= 2n && n <= BigInt(size - 8) && head[8] === 0x7b;
}

export function checkSafetensors(source: ByteSource, budget: ReadBudget): SafetensorsCheck {
  const problems: SafetensorsProblem[] = [];
  const add = (p: SafetensorsProblem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  const header = (detail: string, offset?: number) =>
    add({ rule: 'safetensors.header', detail, ...(offset === undefined ? {} : { offset }) });
  if (source.size < 8) {
    header(`the file is ${source.size} bytes, shorter than the 8-byte header length`, 0);
    return { ok: true, tensors: 0, problems };
  }
  const lenBytes = source.read(0, 8);
  budget.remaining -= 8;
  const declared = lenBytes.readBigUInt64LE(0);
  if (declared > BigInt(MAX_SAFETENSORS_HEADER)) {
    header(`the header length ${declared} is over the ${MAX_SAFETENSORS_HEADER}-byte limit`, 0);
    return { ok: true, tensors: 0, problems };
  }
  const n = Number(declared);
  if (8 + n > source.size) {
    header(`the header length ${n} runs past the end of the ${source.size}-byte file`, 0);
    return { ok: true, tensors: 0, problems };
  }
  if (n > budget.remaining) {
    return {
      ok: false,
      reason: 'too-large',
      detail: `the ${n}-byte header is over the per-file byte limit`,
    };
  }
  budget.remaining -= n;
  const bytes = source.read(8, n);
  const scan = scanJson(bytes);
  if (scan.problem !== undefined) {
    header(scan.problem.detail, 8 + scan.problem.offset);
    return { ok: true, tensors: 0, problems };
  }
  for (const key of scan.duplicates.slice(0, 10)) {
    add({
      rule: 'safetensors.duplicate-key',
      detail: `the header names ${JSON.stringify(key)} more than once`,
      offset: 8,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    header(`the header is not UTF-8 JSON (${err instanceof Error ? err.message : 'error'})`, 8);
    return { ok: true, tensors: 0, problems };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    header('the header is not a JSON object', 8);
    return { ok: true, tensors: 0, problems };
  }
  const dataStart = 8 + n;
  const dataLength = source.size - dataStart;
  const ranges: { name: string; begin: number; end: number }[] = [];
  let invalidTensors = 0;
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      const m = metadataSchema.safeParse(value);
      if (!m.success) {
        for (const issue of m.error.issues.slice(0, 10)) {
          header(
            `__metadata__${issue.path.map((p) => `[${JSON.stringify(p)}]`).join('')}: ${issue.message} (must be a map of strings to strings)`,
            8,
          );
        }
      }
      continue;
    }
    const t = tensorSchema.safeParse(value);
    if (!t.success) {
      invalidTensors++;
      for (const issue of t.error.issues.slice(0, 10)) {
        header(
          `tensor ${JSON.stringify(name)}${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${issue.message}`,
          8,
        );
      }
      continue;
    }
    const {
      dtype,
      shape,
      data_offsets: [begin, end],
    } = t.data;
    if (end < begin) {
      invalidTensors++;
      header(`tensor ${JSON.stringify(name)} ends (${end}) before it begins (${begin})`, 8);
      continue;
    }
    const bits = BigInt(SAFETENSORS_DTYPE_BITS[dtype]!);
    const elements = shape.reduce((acc, d) => acc * BigInt(d), 1n);
    const totalBits = elements * bits;
    if (totalBits % 8n !== 0n) {
      add({
        rule: 'safetensors.size-mismatch',
        offset: dataStart + begin,
        detail: `tensor ${JSON.stringify(name)} has ${elements} ${dtype} elements, which do not fill whole bytes`,
      });
    } else if (totalBits / 8n !== BigInt(end - begin)) {
      add({
        rule: 'safetensors.size-mismatch',
        offset: dataStart + begin,
        detail: `tensor ${JSON.stringify(name)} is ${dtype}[${shape.join(', ')}] = ${totalBits / 8n} bytes but its range [${begin}, ${end}) holds ${end - begin}`,
      });
    }
    if (end > dataLength) {
      add({
        rule: 'safetensors.out-of-bounds',
        offset: dataStart + begin,
        detail: `tensor ${JSON.stringify(name)} ends at ${end}, past the ${dataLength}-byte data area`,
      });
    }
    ranges.push({ name, begin, end });
  }
  // The tensors must tile [0, dataLength) exactly; with an unreadable entry that cannot be judged.
  if (invalidTensors > 0) return { ok: true, tensors: ranges.length, problems };
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let last: string | undefined;
  for (const r of ranges) {
    if (r.begin < cursor) {
      add({
        rule: 'safetensors.overlap',
        offset: dataStart + r.begin,
        detail: `tensor ${JSON.stringify(r.name)} [${r.begin}, ${r.end}) overlaps ${JSON.stringify(last)}`,
      });
    } else if (r.begin > cursor) {
      add({
        rule: 'safetensors.gap',
        offset: dataStart + cursor,
        detail: `bytes [${cursor}, ${r.begin}) of the data area belong to no tensor`,
      });
    }
    if (r.end >= cursor) {
      cursor = r.end;
      last = r.name;
    }
  }
  if (cursor < dataLength) {
    add({
      rule: 'safetensors.trailing-data',
      offset: dataStart + cursor,
      detail: `${dataLength - cursor} bytes follow the last tensor`,
    });
  }
  return { ok: true, tensors: ranges.length, problems };
}

interface JsonScan {
  readonly problem?: { readonly offset: number; readonly detail: string };
  readonly duplicates: readonly string[];
}

/**
 * One pass over the header bytes before `JSON.parse`: nesting depth, and keys repeated in the
 * top-level object (JSON.parse keeps the last silently; other readers keep the first or refuse).
 * Also enforces what the format requires: the header starts with `{` and may be padded with
 * trailing spaces only.
 */
function scanJson(bytes: Buffer): JsonScan {
  if (bytes[0] !== 0x7b)
    return { problem: { offset: 0, detail: 'the header does not start with `{`' }, duplicates: [] };
  let depth = 0;
  let inString = false;
  let stringStart = 0;
  let expectKey = false;
  const keys = new Set<string>();
  const duplicates: string[] = [];
  let end = -1;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === 0x5c) i++;
      else if (b === 0x22) {
        inString = false;
        if (depth === 1 && expectKey) {
          let key: string;
          try {
            key = JSON.parse(bytes.subarray(stringStart, i + 1).toString('utf8')) as string;
          } catch {
            return {
              problem: { offset: stringStart, detail: 'a header key is not a valid JSON string' },
              duplicates,
            };
          }
          if (keys.has(key)) duplicates.push(key);
          keys.add(key);
          expectKey = false;
        }
      }
      continue;
    }
    switch (b) {
      case 0x22:
        inString = true;
        stringStart = i;
        break;
      case 0x7b:
      case 0x5b:
        if (++depth > MAX_DEPTH) {
          return {
            problem: { offset: i, detail: `the header nests deeper than ${MAX_DEPTH} levels` },
            duplicates,
          };
        }
        if (depth === 1) expectKey = true;
        break;
      case 0x7d:
      case 0x5d:
        depth--;
        if (depth === 0) {
          end = i;
          i = bytes.length;
        }
        break;
      case 0x2c:
        if (depth === 1) expectKey = true;
        break;
      default:
        break;
    }
  }
  if (end === -1)
    return {
      problem: { offset: bytes.length, detail: 'the header JSON is not closed' },
      duplicates,
    };
  for (let i = end + 1; i < bytes.length; i++) {
    if (bytes[i] !== 0x20) {
      return {
        problem: {
          offset: i,
          detail: 'the header has bytes other than space padding after its JSON',
        },
        duplicates,
      };
    }
  }
  return { duplicates };
}

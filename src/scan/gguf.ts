import { Cursor, CursorStopped, type ByteSource, type ReadBudget } from './source.js';

/**
 * GGUF header sanity: magic, version, tensor and key/value counts that fit the file, every string
 * and array length bounded by what is left, value types known, and a tensor table whose offsets
 * are aligned and whose data (for the types with a known size) lies inside the file. The
 * metadata is walked, not kept: only `general.alignment` is read.
 */

export const GGUF_MAGIC = Buffer.from('GGUF', 'latin1');

export type GgufProblem = {
  readonly rule: 'gguf.header' | 'gguf.version' | 'gguf.tensor-type';
  readonly offset: number;
  readonly detail: string;
};

export type GgufCheck =
  | {
      readonly ok: true;
      readonly version: number;
      readonly tensors: number;
      readonly problems: readonly GgufProblem[];
    }
  | { readonly ok: false; readonly reason: 'too-large'; readonly detail: string };

const MAX_KEY = 65_535;
const MAX_TENSOR_NAME = 64;
const MAX_DIMS = 4;
const MAX_ARRAY_DEPTH = 1;
const MAX_PROBLEMS = 50;

/** ggml types with a known block: [elements per block, bytes per block]. Others are only named. */
const GGML_BLOCKS: ReadonlyMap<number, readonly [number, number]> = new Map([
  [0, [1, 4]], // F32
  [1, [1, 2]], // F16
  [2, [32, 18]], // Q4_0
  [3, [32, 20]], // Q4_1
  [6, [32, 22]], // Q5_0
  [7, [32, 24]], // Q5_1
  [8, [32, 34]], // Q8_0
  [9, [32, 36]], // Q8_1
  [10, [256, 84]], // Q2_K
  [11, [256, 110]], // Q3_K
  [12, [256, 144]], // Q4_K
  [13, [256, 176]], // Q5_K
  [14, [256, 210]], // Q6_K
  [15, [256, 292]], // Q8_K
  [24, [1, 1]], // I8
  [25, [1, 2]], // I16
  [26, [1, 4]], // I32
  [27, [1, 8]], // I64
  [28, [1, 8]], // F64
  [30, [1, 2]], // BF16
]);
/** Types in use whose sizes are not checked here (IQ*, TQ*, MXFP4). Removed numbers are absent. */
const GGML_OTHER_TYPES = new Set([16, 17, 18, 19, 20, 21, 22, 23, 29, 34, 35, 39]);

/** Fixed sizes of scalar metadata value types (8 = string, 9 = array). */
const SCALAR_SIZE: Readonly<Record<number, number>> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};

class Bad extends Error {
  constructor(
    readonly offset: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export function checkGguf(source: ByteSource, budget: ReadBudget): GgufCheck {
  const cur = new Cursor(source, budget);
  const problems: GgufProblem[] = [];
  let version = 0;
  let tensors = 0;
  try {
    if (!cur.bytes(4).equals(GGUF_MAGIC)) throw new Bad(0, 'the magic is not GGUF');
    version = cur.u32();
    if (version !== 2 && version !== 3) {
      problems.push({
        rule: 'gguf.version',
        offset: 4,
        detail: `GGUF version ${version} (known: 2, 3)`,
      });
      if (version !== 1) return { ok: true, version, tensors, problems };
    }
    // Version 1 used 32-bit counts and lengths.
    const count = version === 1 ? () => cur.u32() : () => cur.u64();
    tensors = count();
    const kvs = count();
    // A tensor entry takes at least 8+1+4+8+4+8 bytes, a key/value at least 8+1+4+1.
    if (tensors > cur.remaining / 33) {
      throw new Bad(8, `${tensors} tensors cannot fit in ${cur.size} bytes`);
    }
    if (kvs > cur.remaining / 14) {
      throw new Bad(16, `${kvs} metadata entries cannot fit in ${cur.size} bytes`);
    }
    let alignment = 32;
    const str = (max: number, what: string): Buffer | undefined => {
      const at = cur.pos;
      const n = count();
      if (n > cur.remaining) throw new Bad(at, `${what} length ${n} runs past the end of the file`);
      if (n > max) {
        throw new Bad(at, `${what} is ${n} bytes; the limit is ${max}`);
      }
      return cur.bytes(n);
    };
    const value = (type: number, depth: number, at: number): number | undefined => {
      const fixed = SCALAR_SIZE[type];
      if (fixed !== undefined) {
        if (type === 4 || type === 5) return cur.u32();
        cur.skip(fixed);
        return undefined;
      }
      if (type === 8) {
        const n = count();
        cur.skip(n);
        return undefined;
      }
      if (type === 9) {
        if (depth >= MAX_ARRAY_DEPTH) throw new Bad(at, 'a metadata array nests another array');
        const inner = cur.u32();
        const n = count();
        const min = SCALAR_SIZE[inner] ?? (inner === 8 ? 8 : 12);
        if (n * min > cur.remaining) {
          throw new Bad(at, `a metadata array of ${n} elements runs past the end of the file`);
        }
        const size = SCALAR_SIZE[inner];
        if (size !== undefined) cur.skip(n * size);
        else for (let i = 0; i < n; i++) value(inner, depth + 1, cur.pos);
        return undefined;
      }
      throw new Bad(at, `unknown metadata value type ${type}`);
    };
    for (let i = 0; i < kvs; i++) {
      const at = cur.pos;
      const key = str(MAX_KEY, 'a metadata key')!;
      const type = cur.u32();
      const v = value(type, 0, at);
      if (key.toString('latin1') === 'general.alignment' && v !== undefined) {
        if (v === 0 || (v & (v - 1)) !== 0)
          throw new Bad(at, `general.alignment ${v} is not a power of two`);
        alignment = v;
      }
    }
    const table: { name: string; at: number; offset: number; bytes: bigint | undefined }[] = [];
    for (let i = 0; i < tensors; i++) {
      const at = cur.pos;
      const name = str(MAX_TENSOR_NAME, 'a tensor name')!.toString('utf8');
      const dims = cur.u32();
      if (dims > MAX_DIMS)
        throw new Bad(
          at,
          `tensor ${JSON.stringify(name)} has ${dims} dimensions (max ${MAX_DIMS})`,
        );
      let elements = 1n;
      for (let d = 0; d < dims; d++) {
        const n = cur.bytes(8).readBigUInt64LE(0);
        elements *= n;
      }
      const type = cur.u32();
      const offset = cur.u64();
      if (!Number.isFinite(offset) || offset % alignment !== 0) {
        throw new Bad(
          at,
          `tensor ${JSON.stringify(name)} offset ${offset} is not a multiple of the alignment ${alignment}`,
        );
      }
      const block = GGML_BLOCKS.get(type);
      let bytes: bigint | undefined;
      if (block !== undefined) {
        const [per, size] = block;
        if (elements % BigInt(per) !== 0n) {
          throw new Bad(
            at,
            `tensor ${JSON.stringify(name)} has ${elements} elements, not a whole number of ${per}-element blocks`,
          );
        }
        bytes = (elements / BigInt(per)) * BigInt(size);
      } else if (!GGML_OTHER_TYPES.has(type) && problems.length < MAX_PROBLEMS) {
        problems.push({
          rule: 'gguf.tensor-type',
          offset: at,
          detail: `tensor ${JSON.stringify(name)} has unknown type ${type}`,
        });
      }
      table.push({ name, at, offset, bytes });
    }
    const dataStart = Math.ceil(cur.pos / alignment) * alignment;
    for (const t of table) {
      const end = BigInt(dataStart) + BigInt(t.offset) + (t.bytes ?? 0n);
      if (end > BigInt(cur.size)) {
        throw new Bad(
          t.at,
          `tensor ${JSON.stringify(t.name)} data ends at ${end}, past the end of the ${cur.size}-byte file`,
        );
      }
    }
  } catch (err) {
    if (err instanceof Bad) {
      problems.push({ rule: 'gguf.header', offset: err.offset, detail: err.detail });
    } else if (err instanceof CursorStopped) {
      if (err.stop.kind === 'budget') {
        return {
          ok: false,
          reason: 'too-large',
          detail: 'the GGUF metadata is over the per-file byte limit',
        };
      }
      problems.push({
        rule: 'gguf.header',
        offset: err.stop.offset,
        detail: `the header is truncated at offset ${err.stop.offset}`,
      });
    } else throw err;
  }
  return { ok: true, version, tensors, problems };
}

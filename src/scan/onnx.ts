import { pathProblem } from '../manifest/index.js';
import { Cursor, CursorStopped, type ByteSource, type ReadBudget } from './source.js';

/**
 * ONNX sanity without a schema: a bounded walk of the protobuf framing of the ModelProto (every
 * length inside its parent, wire types as the schema declares for the fields that matter,
 * ir_version and graph present), and of the graph's initializers far enough to check where their
 * external data lives. Payloads (raw tensor bytes) are skipped, never read.
 */

export type OnnxProblem = {
  readonly rule: 'onnx.structure' | 'onnx.external-data-path';
  readonly offset: number;
  readonly detail: string;
};

export type OnnxCheck =
  | { readonly ok: true; readonly problems: readonly OnnxProblem[] }
  | { readonly ok: false; readonly reason: 'too-large'; readonly detail: string };

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/** ModelProto fields with the wire type the schema gives them. */
const MODEL_FIELDS: ReadonlyMap<number, { name: string; wire: number }> = new Map([
  [1, { name: 'ir_version', wire: VARINT }],
  [2, { name: 'producer_name', wire: LEN }],
  [3, { name: 'producer_version', wire: LEN }],
  [4, { name: 'domain', wire: LEN }],
  [5, { name: 'model_version', wire: VARINT }],
  [6, { name: 'doc_string', wire: LEN }],
  [7, { name: 'graph', wire: LEN }],
  [8, { name: 'opset_import', wire: LEN }],
  [14, { name: 'metadata_props', wire: LEN }],
  [20, { name: 'training_info', wire: LEN }],
  [25, { name: 'functions', wire: LEN }],
]);
const GRAPH_INITIALIZER = 5;
const TENSOR_NAME = 8;
const TENSOR_EXTERNAL_DATA = 13;
const MAX_IR_VERSION = 64;
const MAX_PROBLEMS = 50;
const MAX_SMALL_STRING = 64 * 1024;

class Bad extends Error {
  constructor(
    readonly offset: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

interface Field {
  readonly number: number;
  readonly wire: number;
  readonly at: number;
  /** For LEN fields: where the payload starts and ends. */
  readonly start: number;
  readonly end: number;
  /** For VARINT fields. */
  readonly value?: bigint;
}

function varint(cur: Cursor): bigint {
  let v = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    const b = cur.u8();
    v |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return v;
  }
  throw new Bad(cur.pos, 'a varint is longer than 10 bytes');
}

/** Reads one field header and skips or bounds its payload within `[.., end)`. */
function field(cur: Cursor, end: number): Field {
  const at = cur.pos;
  const tag = varint(cur);
  const number = Number(tag >> 3n);
  const wire = Number(tag & 7n);
  if (number === 0) throw new Bad(at, 'field number 0');
  if (cur.pos > end) throw new Bad(at, 'a field tag runs past its message');
  switch (wire) {
    case VARINT: {
      const value = varint(cur);
      if (cur.pos > end) throw new Bad(at, `field ${number} runs past its message`);
      return { number, wire, at, start: cur.pos, end: cur.pos, value };
    }
    case I64:
      if (cur.pos + 8 > end) throw new Bad(at, `field ${number} runs past its message`);
      cur.skip(8);
      return { number, wire, at, start: cur.pos - 8, end: cur.pos };
    case I32:
      if (cur.pos + 4 > end) throw new Bad(at, `field ${number} runs past its message`);
      cur.skip(4);
      return { number, wire, at, start: cur.pos - 4, end: cur.pos };
    case LEN: {
      const n = varint(cur);
      const start = cur.pos;
      if (n > BigInt(end - start)) {
        throw new Bad(at, `field ${number} declares ${n} bytes, past the end of its message`);
      }
      return { number, wire, at, start, end: start + Number(n) };
    }
    default:
      throw new Bad(
        at,
        `field ${number} has wire type ${wire} (groups and unknown types are not ONNX)`,
      );
  }
}

export function checkOnnx(source: ByteSource, budget: ReadBudget): OnnxCheck {
  const cur = new Cursor(source, budget);
  const problems: OnnxProblem[] = [];
  const add = (p: OnnxProblem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  try {
    let irVersion: bigint | undefined;
    let graphs = 0;
    const end = cur.size;
    while (cur.pos < end) {
      const f = field(cur, end);
      const known = MODEL_FIELDS.get(f.number);
      if (known !== undefined && known.wire !== f.wire) {
        throw new Bad(f.at, `ModelProto.${known.name} has wire type ${f.wire}, not ${known.wire}`);
      }
      if (f.number === 1) irVersion = f.value;
      if (f.number === 7) {
        graphs++;
        walkGraph(cur, f, add);
      }
      cur.pos = Math.max(cur.pos, f.end);
    }
    if (irVersion === undefined) throw new Bad(0, 'ModelProto has no ir_version');
    if (irVersion < 1n || irVersion > BigInt(MAX_IR_VERSION)) {
      throw new Bad(0, `ir_version ${irVersion} is not a real ONNX IR version`);
    }
    if (graphs === 0) throw new Bad(0, 'ModelProto has no graph');
    if (graphs > 1) {
      add({
        rule: 'onnx.structure',
        offset: 0,
        detail: `ModelProto has ${graphs} graph fields; readers merge them`,
      });
    }
  } catch (err) {
    if (err instanceof Bad) add({ rule: 'onnx.structure', offset: err.offset, detail: err.detail });
    else if (err instanceof CursorStopped) {
      if (err.stop.kind === 'budget') {
        return {
          ok: false,
          reason: 'too-large',
          detail: 'the ONNX structure is over the per-file byte limit',
        };
      }
      add({
        rule: 'onnx.structure',
        offset: err.stop.offset,
        detail: `the file is truncated at offset ${err.stop.offset}`,
      });
    } else throw err;
  }
  return { ok: true, problems };
}

function walkGraph(cur: Cursor, graph: Field, add: (p: OnnxProblem) => void): void {
  cur.pos = graph.start;
  while (cur.pos < graph.end) {
    const f = field(cur, graph.end);
    if (f.number === GRAPH_INITIALIZER && f.wire === LEN) walkTensor(cur, f, add);
    cur.pos = Math.max(cur.pos, f.end);
  }
}

function walkTensor(cur: Cursor, tensor: Field, add: (p: OnnxProblem) => void): void {
  cur.pos = tensor.start;
  let name = '';
  while (cur.pos < tensor.end) {
    const f = field(cur, tensor.end);
    if (f.wire === LEN && f.number === TENSOR_NAME && f.end - f.start <= MAX_SMALL_STRING) {
      name = cur.bytes(f.end - f.start).toString('utf8');
    } else if (f.wire === LEN && f.number === TENSOR_EXTERNAL_DATA) {
      const entry = readEntry(cur, f);
      if (entry.key === 'location' && entry.value !== undefined) {
        const problem = externalPathProblem(entry.value);
        if (problem !== undefined) {
          add({
            rule: 'onnx.external-data-path',
            offset: f.at,
            detail: `initializer ${JSON.stringify(name)} reads external data from ${JSON.stringify(entry.value)} (${problem})`,
          });
        }
      }
    }
    cur.pos = Math.max(cur.pos, f.end);
  }
}

/** A StringStringEntryProto: key = 1, value = 2. */
function readEntry(cur: Cursor, entry: Field): { key?: string; value?: string } {
  cur.pos = entry.start;
  const out: { key?: string; value?: string } = {};
  while (cur.pos < entry.end) {
    const f = field(cur, entry.end);
    if (
      f.wire === LEN &&
      (f.number === 1 || f.number === 2) &&
      f.end - f.start <= MAX_SMALL_STRING
    ) {
      const s = cur.bytes(f.end - f.start).toString('utf8');
      if (f.number === 1) out.key = s;
      else out.value = s;
    }
    cur.pos = Math.max(cur.pos, f.end);
  }
  return out;
}

function externalPathProblem(location: string): string | undefined {
  const norm = location.replace(/^\.\//, '');
  if (norm.startsWith('/') || /^[A-Za-z]:/.test(norm)) return 'absolute path';
  if (norm.split(/[\\/]/).includes('..')) return 'leaves the model directory';
  return pathProblem(norm);
}

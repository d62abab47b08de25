import { isAscii } from 'node:buffer';
import { Cursor, CursorStopped, type ByteSource, type ReadBudget } from './source.js';

/**
 * A pickle disassembler that never executes anything. It walks the opcodes of protocols 0–5 with
 * a symbolic stack and memo, just precise enough to know which callables a real unpickler would
 * import (GLOBAL, STACK_GLOBAL, INST, EXT*) and which it would call (REDUCE, NEWOBJ, OBJ, …).
 *
 * Where the model cannot be sure (a STACK_GLOBAL operand that came out of a call), it says so
 * rather than guessing. Every length is checked against the input before it is read, there is
 * no recursion, and opcodes, nesting, stack, memo and retained strings are all bounded: hostile
 * input ends the walk with a typed outcome, never an exception.
 */

export interface PickleLimits {
  readonly maxOps: number;
  readonly maxDepth: number;
  readonly maxMemo: number;
}

/** Callables the stream imports, one record per distinct import (first offset kept). */
export type PickleImport =
  | {
      readonly kind: 'global';
      readonly opcode: 'GLOBAL' | 'STACK_GLOBAL' | 'INST';
      readonly module: string;
      readonly name: string;
      readonly offset: number;
      readonly occurrences: number;
      readonly calls: number;
      readonly args?: readonly string[];
    }
  | {
      readonly kind: 'unresolved';
      readonly opcode: 'STACK_GLOBAL';
      readonly offset: number;
      /** What the module and name operands were, as far as the walker knows. */
      readonly module: string;
      readonly name: string;
      readonly calls: number;
    }
  | {
      readonly kind: 'extension';
      readonly opcode: 'EXT1' | 'EXT2' | 'EXT4';
      readonly code: number;
      readonly offset: number;
      readonly occurrences: number;
      readonly calls: number;
    };

export type PickleAnomaly =
  | { readonly kind: 'memo-abuse'; readonly offset: number; readonly index: number }
  | { readonly kind: 'trailing-data'; readonly offset: number; readonly bytes: number };

export type PickleOutcome =
  | { readonly kind: 'complete' }
  /** The stream is invalid here; a real unpickler would raise (after running what came before). */
  | { readonly kind: 'malformed'; readonly offset: number; readonly reason: string }
  /** The input ended inside an opcode or before STOP. */
  | { readonly kind: 'truncated'; readonly offset: number; readonly reason: string }
  /** A walker bound was reached; the rest was not walked. */
  | {
      readonly kind: 'limit';
      readonly offset: number;
      readonly limit: 'ops' | 'depth' | 'stack' | 'memo' | 'line' | 'imports' | 'bytes';
      readonly reason: string;
    }
  /** A bug in the walker; reported as unscanned rather than thrown. */
  | { readonly kind: 'error'; readonly offset: number; readonly reason: string };

export interface PickleWalk {
  readonly imports: readonly PickleImport[];
  readonly anomalies: readonly PickleAnomaly[];
  /** Pickle streams walked (a legacy `torch.save` file holds five). */
  readonly streams: number;
  readonly ops: number;
  /** Where the walk stopped: the end of the last stream, or the fault. */
  readonly end: number;
  readonly highestProtocol: number;
  readonly legacyTorch: boolean;
  readonly outcome: PickleOutcome;
}

export interface WalkPickleOptions {
  readonly limits: PickleLimits;
  readonly budget: ReadBudget;
}

// ── symbolic values ─────────────────────────────────────────────────────────────────────────

/** A string the unpickler would produce; `v` is absent when too long, undecodable or over budget. */
interface StrValue {
  readonly t: 'str';
  readonly v: string | undefined;
  readonly preview: string;
}
interface GlobalValue {
  readonly t: 'global';
  readonly ref: number;
}
interface TupleValue {
  readonly t: 'tuple';
  readonly items: readonly Value[];
}
/** Known not to be a string: numbers, bytes, None, containers. */
interface DataValue {
  readonly t: 'data';
}
/** The result of a call or a persistent load: could be anything, a string included. */
interface OpaqueValue {
  readonly t: 'opaque';
}
type Value = StrValue | GlobalValue | TupleValue | DataValue | OpaqueValue;

const DATA: DataValue = { t: 'data' };
const OPAQUE: OpaqueValue = { t: 'opaque' };

const MAX_RETAINED_STRING = 1024;
const PREVIEW = 120;
/** Approximate bytes of memo values kept per file (strings, callables, small tuples). */
const MAX_MEMO_KEPT = 64 * 1024 * 1024;
/** Memo slots used out of order (real picklers use none). */
const MAX_MEMO_SPARSE = 100_000;
const MAX_LINE = 64 * 1024;
const MAX_STACK = 1_000_000;
const MAX_DISTINCT_IMPORTS = 4096;
const MAX_TUPLE_KEPT = 8;
/** Memo indices this far past the number of stored entries are not from a real pickler. */
const MEMO_ABUSE_SLACK = 1 << 20;

/** `torch.save`'s legacy format starts with this number pickled as LONG1 (then four more pickles). */
const TORCH_MAGIC = Buffer.from('6cfc9c46f9206aa85019', 'hex');
const LEGACY_TORCH_STREAMS = 5;

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Stop extends Error {
  constructor(readonly outcome: Exclude<PickleOutcome, { kind: 'complete' }>) {
    super(outcome.kind);
  }
}

interface MutableGlobal {
  kind: 'global';
  opcode: 'GLOBAL' | 'STACK_GLOBAL' | 'INST';
  module: string;
  name: string;
  offset: number;
  occurrences: number;
  calls: number;
  args?: string[];
}
interface MutableUnresolved {
  kind: 'unresolved';
  opcode: 'STACK_GLOBAL';
  offset: number;
  module: string;
  name: string;
  calls: number;
}
interface MutableExtension {
  kind: 'extension';
  opcode: 'EXT1' | 'EXT2' | 'EXT4';
  code: number;
  offset: number;
  occurrences: number;
  calls: number;
}
type MutableImport = MutableGlobal | MutableUnresolved | MutableExtension;

/** Opcode names for messages (pickletools spelling). */
export const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x28: 'MARK',
  0x2e: 'STOP',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4a: 'BININT',
  0x4b: 'BININT1',
  0x4c: 'LONG',
  0x4d: 'BININT2',
  0x4e: 'NONE',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x52: 'REDUCE',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x58: 'BINUNICODE',
  0x61: 'APPEND',
  0x62: 'BUILD',
  0x63: 'GLOBAL',
  0x64: 'DICT',
  0x7d: 'EMPTY_DICT',
  0x65: 'APPENDS',
  0x67: 'GET',
  0x68: 'BINGET',
  0x69: 'INST',
  0x6a: 'LONG_BINGET',
  0x6c: 'LIST',
  0x5d: 'EMPTY_LIST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x71: 'BINPUT',
  0x72: 'LONG_BINPUT',
  0x73: 'SETITEM',
  0x74: 'TUPLE',
  0x29: 'EMPTY_TUPLE',
  0x75: 'SETITEMS',
  0x47: 'BINFLOAT',
  0x80: 'PROTO',
  0x81: 'NEWOBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x85: 'TUPLE1',
  0x86: 'TUPLE2',
  0x87: 'TUPLE3',
  0x88: 'NEWTRUE',
  0x89: 'NEWFALSE',
  0x8a: 'LONG1',
  0x8b: 'LONG4',
  0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE',
  0x95: 'FRAME',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/** True when `b0 b1` is a PROTO opcode for protocol 2–5 (how binary pickles start). */
export function looksLikeBinaryPickle(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5;
}

/**
 * Walks every pickle stream in `source` from the start: one, several back to back (each starting
 * with PROTO), or the five of a legacy `torch.save` file (after which raw tensor data follows).
 */
export function walkPickles(source: ByteSource, options: WalkPickleOptions): PickleWalk {
  const walker = new Walker(new Cursor(source, options.budget), options);
  return walker.run();
}

class Walker {
  private readonly imports: MutableImport[] = [];
  private readonly byName = new Map<string, number>();
  private readonly anomalies: PickleAnomaly[] = [];
  private ops = 0;
  private streams = 0;
  private highestProtocol = 0;
  private legacyTorch = false;
  private memoKept = 0;
  private memoAbuseSeen = false;

  // Per-stream state.
  private stack: Value[] = [];
  private meta: Value[][] = [];
  private live = 0;
  /** Values of slots 0…n-1 (undefined: stored, but nothing a finding needs). */
  private memoDense: (Value | undefined)[] = [];
  /** Slots used out of sequence. */
  private memoSparse = new Map<number, Value | undefined>();
  private frameEnd = -1;
  private opStart = 0;
  private lastOp: number | undefined;
  /** LONG1 payload of the stream's first value, to recognise the legacy torch magic number. */
  private firstLong: Buffer | undefined;

  constructor(
    private readonly cur: Cursor,
    private readonly options: WalkPickleOptions,
  ) {}

  run(): PickleWalk {
    let outcome: PickleOutcome = { kind: 'complete' };
    try {
      this.walkStreams();
    } catch (err) {
      outcome = this.outcomeOf(err);
    }
    return {
      imports: this.imports.map((i) => ({ ...i })),
      anomalies: this.anomalies,
      streams: this.streams,
      ops: this.ops,
      end: outcome.kind === 'complete' ? this.cur.pos : this.opStart,
      highestProtocol: this.highestProtocol,
      legacyTorch: this.legacyTorch,
      outcome,
    };
  }

  private outcomeOf(err: unknown): Exclude<PickleOutcome, { kind: 'complete' }> {
    if (err instanceof Stop) return err.outcome;
    if (err instanceof CursorStopped) {
      const s = err.stop;
      switch (s.kind) {
        case 'truncated':
          return {
            kind: 'truncated',
            offset: this.opStart,
            reason: `${this.opName()} at offset ${this.opStart} needs ${s.need} more bytes than the input has`,
          };
        case 'budget':
          return {
            kind: 'limit',
            offset: s.offset,
            limit: 'bytes',
            reason: `reading past offset ${s.offset} would exceed the per-file byte limit`,
          };
      }
    }
    return {
      kind: 'error',
      offset: this.opStart,
      reason: err instanceof Error ? err.message : String(err),
    };
  }

  private opName(): string {
    return this.lastOp === undefined ? 'the stream' : (OPCODE_NAMES[this.lastOp] ?? 'an opcode');
  }

  private walkStreams(): void {
    for (;;) {
      this.resetStream();
      this.walkStream();
      this.streams++;
      if (this.streams === 1 && this.firstLong?.equals(TORCH_MAGIC) === true) {
        this.legacyTorch = true;
      }
      const next = this.cur.pos;
      if (this.cur.atEnd()) return;
      if (this.legacyTorch) {
        // Magic, protocol, sys info, the object, storage keys; raw storage bytes follow.
        if (this.streams >= LEGACY_TORCH_STREAMS) return;
        continue;
      }
      const b0 = this.cur.peek();
      if (b0 !== 0x80) {
        this.anomalies.push({
          kind: 'trailing-data',
          offset: next,
          bytes: this.cur.size - next,
        });
        return;
      }
    }
  }

  private resetStream(): void {
    this.stack = [];
    this.meta = [];
    this.live = 0;
    this.memoDense = [];
    this.memoSparse = new Map();
    this.frameEnd = -1;
    this.firstLong = undefined;
  }

  private fail(reason: string): never {
    throw new Stop({ kind: 'malformed', offset: this.opStart, reason });
  }

  private limit(
    limit: 'ops' | 'depth' | 'stack' | 'memo' | 'line' | 'imports',
    reason: string,
  ): never {
    throw new Stop({ kind: 'limit', offset: this.opStart, limit, reason });
  }

  // ── stack helpers (Python's Unpickler semantics) ──────────────────────────────────────────

  private push(v: Value): void {
    if (++this.live > MAX_STACK) this.limit('stack', `more than ${MAX_STACK} values on the stack`);
    this.stack.push(v);
  }

  private pop(): Value {
    const v = this.stack.pop();
    if (v === undefined) this.fail(`${this.opName()} on an empty stack`);
    this.live--;
    return v;
  }

  private top(): Value {
    const v = this.stack[this.stack.length - 1];
    if (v === undefined) this.fail(`${this.opName()} on an empty stack`);
    return v;
  }

  private setTop(v: Value): void {
    if (this.stack.length === 0) this.fail(`${this.opName()} on an empty stack`);
    this.stack[this.stack.length - 1] = v;
  }

  private mark(): void {
    if (this.meta.length >= this.options.limits.maxDepth) {
      this.limit('depth', `MARK nesting deeper than ${this.options.limits.maxDepth}`);
    }
    this.meta.push(this.stack);
    this.stack = [];
  }

  private popMark(): Value[] {
    const items = this.stack;
    const prev = this.meta.pop();
    if (prev === undefined) this.fail(`${this.opName()} without a MARK`);
    this.stack = prev;
    this.live -= items.length;
    return items;
  }

  // ── values ───────────────────────────────────────────────────────────────────────────────

  private str(raw: Buffer, decode: (b: Buffer) => string | undefined): StrValue {
    if (raw.length > MAX_RETAINED_STRING) return this.longStr(raw, decode);
    const v = decode(raw);
    if (v === undefined) return { t: 'str', v: undefined, preview: '' };
    return { t: 'str', v, preview: v.length > PREVIEW ? `${v.slice(0, PREVIEW)}…` : v };
  }

  /** Tuples keep (shallowly) only what a finding can show: strings and callables. */
  private tuple(items: readonly Value[]): Value {
    if (items.length > MAX_TUPLE_KEPT || !items.some((i) => i.t === 'str' || i.t === 'global')) {
      return DATA;
    }
    return { t: 'tuple', items: items.map((i) => (i.t === 'tuple' ? DATA : i)) };
  }

  // ── the memo ─────────────────────────────────────────────────────────────────────────────
  // Real picklers number memo slots 0, 1, 2, …: the slots in use are a dense prefix plus a
  // (normally empty) sparse set, and only values that matter to a finding (strings, callables,
  // tuples of them) are kept, within a byte budget. Anything else reads back as opaque.

  private memoHas(index: number): boolean {
    return index < this.memoDense.length || this.memoSparse.has(index);
  }

  private get memoSize(): number {
    return this.memoDense.length + this.memoSparse.size;
  }

  private memoPut(index: number): void {
    const v = this.top();
    let keep: Value | undefined;
    if (v.t !== 'data' && v.t !== 'opaque') {
      const cost =
        v.t === 'str' ? 48 + (v.v?.length ?? 0) : v.t === 'tuple' ? 48 + 8 * v.items.length : 32;
      if (this.memoKept + cost <= MAX_MEMO_KEPT) {
        this.memoKept += cost;
        keep = v;
      }
    }
    const dense = this.memoDense;
    if (index < dense.length) {
      dense[index] = keep;
      return;
    }
    if (index === dense.length && this.memoSparse.size === 0) {
      if (dense.length >= this.options.limits.maxMemo) this.memoLimit();
      dense.push(keep);
      return;
    }
    if (!this.memoSparse.has(index)) {
      if (this.memoSize >= this.options.limits.maxMemo) this.memoLimit();
      if (!this.memoAbuseSeen && index > this.memoSize + MEMO_ABUSE_SLACK) {
        this.memoAbuseSeen = true;
        this.anomalies.push({ kind: 'memo-abuse', offset: this.opStart, index });
      }
      if (this.memoSparse.size >= MAX_MEMO_SPARSE) {
        this.limit('memo', `more than ${MAX_MEMO_SPARSE} memo slots out of sequence`);
      }
    }
    this.memoSparse.set(index, keep);
    // Slots filled in after the gap closes move back to the dense prefix.
    for (let next = this.memoSparse.get(dense.length); this.memoSparse.has(dense.length);) {
      this.memoSparse.delete(dense.length);
      dense.push(next);
      next = this.memoSparse.get(dense.length);
    }
  }

  private memoLimit(): never {
    return this.limit('memo', `more than ${this.options.limits.maxMemo} memo entries`);
  }

  private memoGet(index: number): void {
    const v = index < this.memoDense.length ? this.memoDense[index] : this.memoSparse.get(index);
    if (v === undefined && !this.memoHas(index)) this.fail(`memo entry ${index} was never stored`);
    this.push(v ?? OPAQUE);
  }

  // ── imports and calls ────────────────────────────────────────────────────────────────────

  private addImport(
    opcode: 'GLOBAL' | 'STACK_GLOBAL' | 'INST',
    module: string,
    name: string,
  ): GlobalValue {
    const key = `${module}\n${name}`;
    const known = this.byName.get(key);
    if (known !== undefined) {
      const rec = this.imports[known]!;
      if (rec.kind === 'global') rec.occurrences++;
      return { t: 'global', ref: known };
    }
    this.checkImportCount();
    const ref = this.imports.length;
    this.imports.push({
      kind: 'global',
      opcode,
      module,
      name,
      offset: this.opStart,
      occurrences: 1,
      calls: 0,
    });
    this.byName.set(key, ref);
    return { t: 'global', ref };
  }

  private checkImportCount(): void {
    if (this.imports.length >= MAX_DISTINCT_IMPORTS) {
      this.limit('imports', `more than ${MAX_DISTINCT_IMPORTS} distinct imports`);
    }
  }

  private called(callable: Value, args: Value | undefined): void {
    if (callable.t !== 'global') return;
    const rec = this.imports[callable.ref]!;
    rec.calls++;
    if (rec.kind === 'global' && rec.calls === 1 && args?.t === 'tuple') {
      const shown = args.items
        .map((a) =>
          a.t === 'str'
            ? JSON.stringify(a.preview)
            : a.t === 'global'
              ? this.globalName(a)
              : undefined,
        )
        .filter((s): s is string => s !== undefined);
      if (shown.length > 0) rec.args = shown;
    }
  }

  private globalName(g: GlobalValue): string {
    const rec = this.imports[g.ref]!;
    return rec.kind === 'global' ? `${rec.module}.${rec.name}` : '?';
  }

  private describe(v: Value): string {
    switch (v.t) {
      case 'str':
        return v.v === undefined ? 'a string it could not keep' : JSON.stringify(v.v);
      case 'global':
        return `the callable ${this.globalName(v)}`;
      case 'tuple':
      case 'data':
        return 'a non-string value';
      case 'opaque':
        return 'the result of a call';
    }
  }

  private stackGlobal(): void {
    const name = this.pop();
    const module = this.pop();
    const known = (v: Value): v is StrValue & { v: string } => v.t === 'str' && v.v !== undefined;
    if (known(module) && known(name)) {
      this.push(this.addImport('STACK_GLOBAL', module.v, name.v));
      return;
    }
    // Python raises for operands that are certainly not strings; anything else is unknowable.
    const notString = (v: Value) => v.t === 'data' || v.t === 'tuple';
    if (notString(module) || notString(name)) this.fail('STACK_GLOBAL operands are not strings');
    this.checkImportCount();
    const ref = this.imports.length;
    this.imports.push({
      kind: 'unresolved',
      opcode: 'STACK_GLOBAL',
      offset: this.opStart,
      module: this.describe(module),
      name: this.describe(name),
      calls: 0,
    });
    this.push({ t: 'global', ref });
  }

  private extension(opcode: 'EXT1' | 'EXT2' | 'EXT4', code: number): void {
    if (code <= 0) this.fail(`${opcode} code ${code} is not positive`);
    const key = `\u0000ext\n${code}`;
    const known = this.byName.get(key);
    if (known !== undefined) {
      const rec = this.imports[known]!;
      if (rec.kind === 'extension') rec.occurrences++;
      this.push({ t: 'global', ref: known });
      return;
    }
    this.checkImportCount();
    const ref = this.imports.length;
    this.imports.push({
      kind: 'extension',
      opcode,
      code,
      offset: this.opStart,
      occurrences: 1,
      calls: 0,
    });
    this.byName.set(key, ref);
    this.push({ t: 'global', ref });
  }

  // ── text arguments ───────────────────────────────────────────────────────────────────────

  private textLine(): Buffer {
    const line = this.cur.line(MAX_LINE);
    if (line === undefined) this.limit('line', `a text argument longer than ${MAX_LINE} bytes`);
    return line;
  }

  private nameLine(encoding: 'utf-8' | 'ascii'): string {
    const raw = this.textLine();
    if (encoding === 'ascii' && raw.some((b) => b > 0x7f)) this.fail('INST name is not ASCII');
    try {
      return utf8.decode(raw);
    } catch {
      return this.fail(`${this.opName()} name is not UTF-8`);
    }
  }

  /** Python `int()` of a GET/PUT argument; only indices a real memo could hold are accepted. */
  private memoIndexLine(): number {
    const text = this.textLine().toString('latin1').trim().replace(/_/g, '');
    if (!/^\+?[0-9]{1,15}$/.test(text))
      this.fail(`memo index ${JSON.stringify(text.slice(0, 40))}`);
    return Number(text);
  }

  // ── the opcode loop ──────────────────────────────────────────────────────────────────────

  private walkStream(): void {
    const cur = this.cur;
    const maxOps = this.options.limits.maxOps;
    for (;;) {
      if (++this.ops > maxOps) this.limit('ops', `more than ${maxOps} opcodes`);
      this.opStart = cur.pos;
      if (this.frameEnd >= 0 && cur.pos >= this.frameEnd) this.frameEnd = -1;
      const op = cur.u8();
      this.lastOp = op;
      switch (op) {
        case 0x28: // MARK
          this.mark();
          break;
        case 0x2e: // STOP
          this.pop();
          return;
        case 0x30: // POP
          if (this.stack.length > 0) this.pop();
          else this.popMark();
          break;
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.push(this.top());
          break;
        case 0x46: // FLOAT
        case 0x49: // INT
        case 0x4c: // LONG (protocol 0 writes big integers in decimal: any length)
          cur.lineHead(0);
          this.push(DATA);
          break;
        case 0x4a: // BININT
          cur.skip(4);
          this.push(DATA);
          break;
        case 0x4b: // BININT1
          cur.skip(1);
          this.push(DATA);
          break;
        case 0x4d: // BININT2
          cur.skip(2);
          this.push(DATA);
          break;
        case 0x47: // BINFLOAT
          cur.skip(8);
          this.push(DATA);
          break;
        case 0x4e: // NONE
        case 0x88: // NEWTRUE
        case 0x89: // NEWFALSE
        case 0x29: // EMPTY_TUPLE
        case 0x5d: // EMPTY_LIST
        case 0x7d: // EMPTY_DICT
        case 0x8f: // EMPTY_SET
          this.push(op === 0x29 ? this.tuple([]) : DATA);
          break;
        case 0x8a: {
          // LONG1
          const n = cur.u8();
          const payload = cur.bytes(n);
          if (this.streams === 0 && this.ops <= 3 && this.firstLong === undefined) {
            this.firstLong = Buffer.from(payload);
          }
          this.push(DATA);
          break;
        }
        case 0x8b: {
          // LONG4
          const n = cur.i32();
          if (n < 0) this.fail('LONG4 with a negative byte count');
          cur.skip(n);
          this.push(DATA);
          break;
        }
        case 0x50: // PERSID
          cur.lineHead(0);
          this.push(OPAQUE);
          break;
        case 0x51: // BINPERSID
          this.pop();
          this.push(OPAQUE);
          break;
        case 0x52: {
          // REDUCE
          const args = this.pop();
          const fn = this.top();
          this.called(fn, args);
          this.setTop(OPAQUE);
          break;
        }
        case 0x62: // BUILD
          this.pop();
          this.top();
          break;
        case 0x53: {
          // STRING: a quoted Python 2 str literal; decoded to str by the default ASCII encoding
          const line = cur.lineHead(MAX_RETAINED_STRING + 2);
          const q = line.head[0];
          if (line.length < 2 || (q !== 0x22 && q !== 0x27) || line.last !== q) {
            this.fail('STRING argument is not quoted');
          }
          this.push(
            line.length <= MAX_RETAINED_STRING + 2
              ? this.str(line.head.subarray(1, line.length - 1), escapeDecodeAscii)
              : this.longStr(line.head.subarray(1), escapeDecodeAscii),
          );
          break;
        }
        case 0x54: {
          // BINSTRING
          const n = cur.i32();
          if (n < 0) this.fail('BINSTRING with a negative length');
          this.pushBytesAsStr(n, decodeAscii);
          break;
        }
        case 0x55: // SHORT_BINSTRING
          this.pushBytesAsStr(cur.u8(), decodeAscii);
          break;
        case 0x56: {
          // UNICODE: raw-unicode-escape text, any length
          const line = cur.lineHead(MAX_RETAINED_STRING + 1);
          this.push(
            line.length <= MAX_RETAINED_STRING
              ? this.str(line.head, rawUnicodeEscape)
              : this.longStr(line.head, rawUnicodeEscape),
          );
          break;
        }
        case 0x58: // BINUNICODE
          this.pushBytesAsStr(cur.u32(), decodeUtf8);
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.pushBytesAsStr(cur.u8(), decodeUtf8);
          break;
        case 0x8d: // BINUNICODE8
          this.pushBytesAsStr(cur.u64(), decodeUtf8);
          break;
        case 0x42: // BINBYTES
          cur.skip(cur.u32());
          this.push(DATA);
          break;
        case 0x43: // SHORT_BINBYTES
          cur.skip(cur.u8());
          this.push(DATA);
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          cur.skip(cur.u64());
          this.push(DATA);
          break;
        case 0x61: // APPEND
          this.pop();
          this.top();
          break;
        case 0x65: // APPENDS
        case 0x90: // ADDITEMS
        case 0x75: // SETITEMS
          this.popMark();
          this.top();
          break;
        case 0x73: // SETITEM
          this.pop();
          this.pop();
          this.top();
          break;
        case 0x64: {
          // DICT
          const items = this.popMark();
          if (items.length % 2 !== 0) this.fail('DICT with an odd number of items');
          this.push(DATA);
          break;
        }
        case 0x6c: // LIST
        case 0x91: // FROZENSET
          this.popMark();
          this.push(DATA);
          break;
        case 0x74: // TUPLE
          this.push(this.tuple(this.popMark()));
          break;
        case 0x85: // TUPLE1
        case 0x86: // TUPLE2
        case 0x87: {
          // TUPLE3
          const n = op - 0x84;
          if (this.stack.length < n) this.fail(`${this.opName()} needs ${n} values`);
          const items = this.stack.splice(this.stack.length - n, n);
          this.live -= n;
          this.push(this.tuple(items));
          break;
        }
        case 0x63: {
          // GLOBAL
          const module = this.nameLine('utf-8');
          const name = this.nameLine('utf-8');
          this.push(this.addImport('GLOBAL', module, name));
          break;
        }
        case 0x69: {
          // INST: import, then instantiate with the items since the MARK
          const module = this.nameLine('ascii');
          const name = this.nameLine('ascii');
          const g = this.addImport('INST', module, name);
          const args = this.popMark();
          this.called(g, this.tuple(args));
          this.push(OPAQUE);
          break;
        }
        case 0x6f: {
          // OBJ: the first item after the MARK is the class
          const items = this.popMark();
          const cls = items[0];
          if (cls === undefined) this.fail('OBJ without a class');
          this.called(cls, this.tuple(items.slice(1)));
          this.push(OPAQUE);
          break;
        }
        case 0x81: {
          // NEWOBJ
          const args = this.pop();
          const cls = this.pop();
          this.called(cls, args);
          this.push(OPAQUE);
          break;
        }
        case 0x92: {
          // NEWOBJ_EX
          this.pop();
          const args = this.pop();
          const cls = this.pop();
          this.called(cls, args);
          this.push(OPAQUE);
          break;
        }
        case 0x93: // STACK_GLOBAL
          this.stackGlobal();
          break;
        case 0x82: // EXT1
          this.extension('EXT1', cur.u8());
          break;
        case 0x83: // EXT2
          this.extension('EXT2', cur.u16());
          break;
        case 0x84: // EXT4
          this.extension('EXT4', cur.i32());
          break;
        case 0x67: // GET
          this.memoGet(this.memoIndexLine());
          break;
        case 0x68: // BINGET
          this.memoGet(cur.u8());
          break;
        case 0x6a: // LONG_BINGET
          this.memoGet(cur.u32());
          break;
        case 0x70: // PUT
          this.memoPut(this.memoIndexLine());
          break;
        case 0x71: // BINPUT
          this.memoPut(cur.u8());
          break;
        case 0x72: // LONG_BINPUT
          this.memoPut(cur.u32());
          break;
        case 0x94: // MEMOIZE
          this.memoPut(this.memoSize);
          break;
        case 0x80: {
          // PROTO
          const p = cur.u8();
          if (p > 5) this.fail(`unsupported pickle protocol ${p}`);
          if (p > this.highestProtocol) this.highestProtocol = p;
          break;
        }
        case 0x95: {
          // FRAME: a length prefix for what follows; opcodes keep their meaning inside it
          const n = cur.u64();
          if (this.frameEnd >= 0 && cur.pos < this.frameEnd) {
            this.fail('a new FRAME starts before the current one ends');
          }
          cur.need(n);
          this.frameEnd = cur.pos + n;
          break;
        }
        case 0x97: // NEXT_BUFFER
          this.push(OPAQUE);
          break;
        case 0x98: // READONLY_BUFFER
          this.top();
          break;
        default:
          this.fail(`invalid opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    }
  }

  private pushBytesAsStr(n: number, decode: (b: Buffer) => string | undefined): void {
    this.cur.need(n);
    if (n > MAX_RETAINED_STRING) {
      const head = this.cur.bytes(Math.min(n, PREVIEW * 4));
      this.cur.skip(n - head.length);
      this.push(this.longStr(head, decode));
      return;
    }
    this.push(this.str(this.cur.bytes(n), decode));
  }

  /** A string too long to be a module or name: only a preview is kept. */
  private longStr(head: Buffer, decode: (b: Buffer) => string | undefined): StrValue {
    return {
      t: 'str',
      v: undefined,
      preview: (decode(head.subarray(0, PREVIEW * 4)) ?? '').slice(0, PREVIEW),
    };
  }
}

function decodeUtf8(b: Buffer): string | undefined {
  if (isAscii(b)) return b.toString('latin1');
  try {
    return utf8.decode(b);
  } catch {
    return undefined;
  }
}

function decodeAscii(b: Buffer): string | undefined {
  // The unpickler's default encoding for Python 2 str is ASCII; other bytes make it raise.
  return isAscii(b) ? b.toString('latin1') : undefined;
}

/** `codecs.escape_decode` then ASCII, as `load_string` does. */
function escapeDecodeAscii(b: Buffer): string | undefined {
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c !== 0x5c || i + 1 >= b.length) {
      out.push(c);
      continue;
    }
    const e = b[++i]!;
    const simple: Record<number, number> = {
      0x5c: 0x5c,
      0x27: 0x27,
      0x22: 0x22,
      0x61: 0x07,
      0x62: 0x08,
      0x66: 0x0c,
      0x6e: 0x0a,
      0x72: 0x0d,
      0x74: 0x09,
      0x76: 0x0b,
    };
    if (simple[e] !== undefined) out.push(simple[e]);
    else if (e === 0x0a) continue;
    else if (e === 0x78) {
      const hex = b.subarray(i + 1, i + 3).toString('latin1');
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      out.push(parseInt(hex, 16));
      i += 2;
    } else if (e >= 0x30 && e <= 0x37) {
      let v = e - 0x30;
      for (let k = 0; k < 2 && i + 1 < b.length && b[i + 1]! >= 0x30 && b[i + 1]! <= 0x37; k++) {
        v = v * 8 + (b[++i]! - 0x30);
      }
      out.push(v & 0xff);
    } else out.push(0x5c, e);
  }
  return decodeAscii(Buffer.from(out));
}

/** Python's `raw-unicode-escape` decoding: `\uXXXX` and `\UXXXXXXXX`, other bytes as Latin-1. */
function rawUnicodeEscape(b: Buffer): string | undefined {
  const s = b.toString('latin1');
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && (s[i + 1] === 'u' || s[i + 1] === 'U')) {
      // An odd run of backslashes before u/U escapes; an even one does not.
      let run = 0;
      for (let j = i; j >= 0 && s[j] === '\\'; j--) run++;
      if (run % 2 === 1) {
        const len = s[i + 1] === 'u' ? 4 : 8;
        const hex = s.slice(i + 2, i + 2 + len);
        if (hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) return undefined;
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) return undefined;
        out += String.fromCodePoint(cp);
        i += 1 + len;
        continue;
      }
    }
    out += s[i]!;
  }
  return out;
}

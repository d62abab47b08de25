/**
 * A small bounded DER reader: just enough to read the validity and the key-usage extensions of an
 * X.509 certificate that OpenSSL (node:crypto) has already parsed. Every read is bounds-checked
 * against its enclosing element; nothing recurses, so hostile input costs linear time at most.
 */

export class DerError extends Error {
  override readonly name = 'DerError';
}

export interface DerElement {
  /** The identifier octet (single-byte tags only; X.509 needs no others). */
  readonly tag: number;
  /** Content bytes (a view into the input). */
  readonly content: Uint8Array;
  /** Offset just after this element in the input it was read from. */
  readonly end: number;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
} as const;

/** Reads one element starting at `offset`, which must end at or before `limit`. */
export function readElement(
  input: Uint8Array,
  offset: number,
  limit: number = input.length,
): DerElement {
  if (offset + 2 > limit) throw new DerError('truncated element header');
  const tag = input[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported');
  let length = input[offset + 1]!;
  let pos = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    // 0x80 is the BER indefinite length, never valid DER; 4 length bytes cover any certificate.
    if (count === 0 || count > 4) throw new DerError('unsupported length encoding');
    if (pos + count > limit) throw new DerError('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + input[pos + i]!;
    pos += count;
  }
  const end = pos + length;
  if (end > limit) throw new DerError('element runs past its container');
  return { tag, content: input.subarray(pos, end), end };
}

/** The elements directly inside a constructed element's content. */
export function readChildren(content: Uint8Array, maxChildren = 4096): DerElement[] {
  const out: DerElement[] = [];
  let offset = 0;
  while (offset < content.length) {
    if (out.length >= maxChildren) throw new DerError('too many elements');
    const el = readElement(content, offset, content.length);
    out.push(el);
    offset = el.end;
  }
  return out;
}

/** Reads an element of the expected tag that must fill `input` exactly. */
export function readWhole(input: Uint8Array, tag: number): DerElement {
  const el = readElement(input, 0, input.length);
  if (el.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}`);
  if (el.end !== input.length) throw new DerError('trailing bytes');
  return el;
}

/** Dotted-decimal OBJECT IDENTIFIER. Arcs above 2^53 are refused. */
export function decodeOid(content: Uint8Array): string {
  if (content.length === 0 || content.length > 64) throw new DerError('bad OID length');
  const arcs: number[] = [];
  let value = 0;
  let started = false;
  for (const b of content) {
    if (!started && b === 0x80) throw new DerError('non-minimal OID arc');
    started = (b & 0x80) !== 0;
    value = value * 128 + (b & 0x7f);
    if (!Number.isSafeInteger(value)) throw new DerError('OID arc too large');
    if (!started) {
      if (arcs.length === 0) {
        const first = value < 40 ? 0 : value < 80 ? 1 : 2;
        arcs.push(first, value - first * 40);
      } else arcs.push(value);
      value = 0;
    }
  }
  if (started) throw new DerError('truncated OID');
  return arcs.join('.');
}

/** UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`), as RFC 5280 profiles them. */
export function decodeTime(el: DerElement): Date {
  if (el.content.length > 32) throw new DerError('time too long');
  const text = String.fromCharCode(...el.content);
  let m: RegExpExecArray | null;
  let year: number;
  if (el.tag === TAG.UTC_TIME) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (m === null) throw new DerError('bad UTCTime');
    const yy = Number(m[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
  } else if (el.tag === TAG.GENERALIZED_TIME) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (m === null) throw new DerError('bad GeneralizedTime');
    year = Number(m[1]);
  } else {
    throw new DerError('expected a time');
  }
  const [month, day, hour, minute, second] = m.slice(2).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(ms);
  if (Number.isNaN(ms) || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    throw new DerError('invalid date');
  }
  return date;
}

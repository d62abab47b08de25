import { isAscii } from 'node:buffer';
/** Why untrusted JSON bytes were refused before or while parsing. */
export type JsonReadFailure =
  | { readonly kind: 'too-large'; readonly size: number; readonly limit: number }
  | { readonly kind: 'too-deep'; readonly offset: number; readonly limit: number }
  | { readonly kind: 'not-utf8' }
  | { readonly kind: 'syntax'; readonly message: string };

export type JsonReadResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly failure: JsonReadFailure };

export interface JsonLimits {
  readonly maxBytes: number;
  readonly maxDepth: number;
}

/**
 * Offset at which `[`/`{` nesting first exceeds `maxDepth`, or -1. Scans raw bytes, skipping
 * string contents (with their escapes), so hostile nesting is refused before `JSON.parse` recurses
 * into it. Unbalanced input is left for the parser to reject.
 */
export function findExcessiveNesting(bytes: Uint8Array, maxDepth: number): number {
  // A Buffer view (no copy) for its native `indexOf`, which skips long strings (a bundle's
  // base64 payload is most of its bytes) far faster than a byte loop.
  const buf = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let depth = 0;
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]!;
    if (b === 0x22) {
      i = stringEnd(buf, i);
      if (i < 0) return -1;
    } else if (b === 0x5b || b === 0x7b) {
      if (++depth > maxDepth) return i;
    } else if (b === 0x5d || b === 0x7d) depth--;
  }
  return -1;
}

/** Bytes of a string scanned one by one before `indexOf` takes over (short strings are the rule). */
const INLINE_STRING_BYTES = 256;

/** Offset of the quote closing the string opened at `open`, or -1 when it never closes. */
function stringEnd(buf: Buffer, open: number): number {
  const inline = Math.min(buf.length, open + INLINE_STRING_BYTES);
  let i = open + 1;
  for (; i < inline; i++) {
    const b = buf[i]!;
    if (b === 0x5c) i++;
    else if (b === 0x22) return i;
  }
  // `from` never falls on the second byte of an escape, so a quote is escaped exactly when an
  // odd run of backslashes since `from` precedes it.
  for (let from = i; from < buf.length;) {
    const quote = buf.indexOf(0x22, from);
    if (quote === -1) return -1;
    let k = quote - 1;
    while (k >= from && buf[k] === 0x5c) k--;
    if ((quote - 1 - k) % 2 === 0) return quote;
    from = quote + 1;
  }
  return -1;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Reads untrusted JSON: size limit, then nesting limit, then strict UTF-8 (a BOM is kept and so
 * rejected by the parser, as Python's `json.loads` does), then `JSON.parse`.
 */
export function readJsonBytes(bytes: Uint8Array, limits: JsonLimits): JsonReadResult {
  if (bytes.length > limits.maxBytes) {
    return {
      ok: false,
      failure: { kind: 'too-large', size: bytes.length, limit: limits.maxBytes },
    };
  }
  const deep = findExcessiveNesting(bytes, limits.maxDepth);
  if (deep >= 0) {
    return { ok: false, failure: { kind: 'too-deep', offset: deep, limit: limits.maxDepth } };
  }
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return { ok: false, failure: { kind: 'not-utf8' } };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return {
      ok: false,
      failure: { kind: 'syntax', message: err instanceof Error ? err.message : String(err) },
    };
  }
}

/**
 * `readJsonBytes` for a document whose one big string value, under `key`, is left out of the text
 * that gets parsed: the value's raw bytes are returned beside the document, in which
 * `placeholder` (a JSON string literal's contents, no escapes) stands where the value was. For
 * multi-megabyte values (a bundle's base64 payload) this avoids the text of the whole document
 * and the parser's copy of the value. Undefined whenever the shortcut does not apply — over the
 * limits, `"key":"` absent or written twice (or with spaces), an escape or a non-ASCII byte in
 * the value, invalid UTF-8 or JSON — and the caller reads the bytes the ordinary way, which gives
 * the verdict. Where the placeholder lands in the parsed document is for the caller to check:
 * a duplicate key, or the key written with escapes, can move the value JSON.parse keeps.
 */
export function readJsonEliding(
  bytes: Uint8Array,
  limits: JsonLimits,
  key: string,
  placeholder: string,
): { readonly value: unknown; readonly elided: Buffer } | undefined {
  if (bytes.length > limits.maxBytes || findExcessiveNesting(bytes, limits.maxDepth) >= 0) {
    return undefined;
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const name = Buffer.from(JSON.stringify(key));
  const at = buf.indexOf(name);
  if (at < 0 || buf.indexOf(name, at + 1) >= 0) return undefined;
  const start = at + name.length + 2; // past `:"`
  if (buf[at + name.length] !== 0x3a || buf[at + name.length + 1] !== 0x22) return undefined;
  const end = buf.indexOf(0x22, start);
  if (end < 0) return undefined;
  const elided = buf.subarray(start, end);
  // No escape, so the bytes between the quotes are the string; ASCII, so UTF-8 whatever it holds.
  if (elided.includes(0x5c) || !isAscii(elided)) return undefined;
  try {
    const text = UTF8.decode(buf.subarray(0, start)) + placeholder + UTF8.decode(buf.subarray(end));
    return { value: JSON.parse(text) as unknown, elided };
  } catch {
    return undefined;
  }
}

/** A JSON object: not null, not an array. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An own `__proto__` key, which `JSON.parse` makes from `{"__proto__": …}`: schema libraries
 * that copy objects key by key (zod) leave it out of the copy, unchecked.
 */
export function hasOwnProtoKey(value: object): boolean {
  return Object.prototype.hasOwnProperty.call(value, '__proto__');
}

/** A JSON-style path for messages: `verificationMaterial.certificates[0].rawBytes`. */
export function formatJsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

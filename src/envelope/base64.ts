/**
 * Decoded and re-encoded in slices of this many characters (a multiple of 4, so every slice but
 * the last decodes to a whole number of 3-byte groups and the slices' encodings concatenate to
 * the whole one).
 */
const SLICE_CHARS = 4 * 16 * 1024;

/**
 * Decodes strict standard base64 or returns undefined. Python's `b64decode` silently drops
 * characters outside the alphabet; we refuse them, and refuse non-zero padding bits too, so one
 * byte string has exactly one accepted encoding.
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  return decodeSlices(text.length, (from, to) => text.slice(from, to));
}

/** `decodeBase64Strict` over base64 text held as bytes (any byte outside ASCII is refused). */
export function decodeBase64StrictBytes(bytes: Uint8Array): Buffer | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return decodeSlices(buf.length, (from, to) => buf.toString('latin1', from, to));
}

/** The text's characters `from`..`to` (`to` at most its length). */
type TextSlice = (from: number, to: number) => string;

function decodeSlices(length: number, slice: TextSlice): Buffer | undefined {
  // Node's decoder skips junk and accepts base64url and missing padding; re-encoding and comparing
  // refuses all of that in linear time. (A regex over the whole text backtracked on the stack and
  // overflowed on multi-megabyte payloads.) Decoding and the comparison go slice by slice into
  // the output: Node decodes a whole string through a temporary copy of it, and a second copy of
  // a bundle's payload text costs as much memory as the text itself.
  if (length % 4 !== 0) return undefined;
  const last = length >= 2 ? slice(length - 2, length) : '';
  const padding = last === '==' ? 2 : last.endsWith('=') ? 1 : 0;
  const out = Buffer.allocUnsafe((length / 4) * 3 - padding);
  let at = 0;
  for (let from = 0; from < length; from += SLICE_CHARS) {
    const text = slice(from, Math.min(from + SLICE_CHARS, length));
    const written = out.write(text, at, 'base64');
    // Skipped characters, padding before the end or non-zero padding bits all re-encode to
    // something else (or leave the output short, caught below).
    if (out.toString('base64', at, at + written) !== text) return undefined;
    at += written;
  }
  return at === out.length ? out : undefined;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

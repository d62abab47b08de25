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

/**
 * `decodeBase64StrictBytes` into the same memory: the bytes are checked first (nothing is
 * written when they are not strict base64), then decoded over themselves — every 4 characters
 * become 3 bytes at or before where they were read — and the decoded view is returned. For a
 * caller that owns the bytes and needs the text no more: no second buffer the size of the
 * decoded data.
 */
export function decodeBase64StrictInPlace(bytes: Uint8Array): Buffer | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const latin1: TextSlice = (from, to) => buf.toString('latin1', from, to);
  const length = checkSlices(buf.length, latin1);
  if (length === undefined) return undefined;
  const written = writeSlices(buf.length, latin1, buf);
  return written === length ? buf.subarray(0, length) : undefined;
}

/** The text's characters `from`..`to` (`to` at most its length). */
type TextSlice = (from: number, to: number) => string;

function decodeSlices(length: number, slice: TextSlice): Buffer | undefined {
  const decoded = decodedLength(length, slice);
  if (decoded === undefined) return undefined;
  const out = Buffer.allocUnsafe(decoded);
  return writeSlices(length, slice, out) === decoded ? out : undefined;
}

/** Bytes the text decodes to if it is strict base64 (by its length and padding), else undefined. */
function decodedLength(length: number, slice: TextSlice): number | undefined {
  if (length % 4 !== 0) return undefined;
  const last = length >= 2 ? slice(length - 2, length) : '';
  const padding = last === '==' ? 2 : last.endsWith('=') ? 1 : 0;
  return (length / 4) * 3 - padding;
}

/** `decodedLength` once every slice has been decoded (into scratch memory) and checked. */
function checkSlices(length: number, slice: TextSlice): number | undefined {
  const decoded = decodedLength(length, slice);
  if (decoded === undefined) return undefined;
  const scratch = Buffer.allocUnsafe((SLICE_CHARS / 4) * 3);
  let total = 0;
  for (let from = 0; from < length; from += SLICE_CHARS) {
    const text = slice(from, Math.min(from + SLICE_CHARS, length));
    const written = scratch.write(text, 0, 'base64');
    if (scratch.toString('base64', 0, written) !== text) return undefined;
    total += written;
  }
  return total === decoded ? decoded : undefined;
}

/**
 * Decodes the text slice by slice into `out` and returns the bytes written; a slice that does not
 * re-encode to itself stops it early. Node's decoder skips junk and accepts base64url and missing
 * padding; re-encoding and comparing refuses all of that in linear time. (A regex over the whole
 * text backtracked on the stack and overflowed on multi-megabyte payloads.) Slice by slice because
 * Node decodes a whole string through a temporary copy of it, and a second copy of a bundle's
 * payload text costs as much memory as the text itself. `out` may be the text's own bytes: each
 * slice is read (copied into a string) before its bytes are written, at or before its start.
 */
function writeSlices(length: number, slice: TextSlice, out: Buffer): number {
  let at = 0;
  for (let from = 0; from < length; from += SLICE_CHARS) {
    const text = slice(from, Math.min(from + SLICE_CHARS, length));
    const written = out.write(text, at, 'base64');
    // Skipped characters, padding before the end or non-zero padding bits all re-encode to
    // something else (or leave the output short).
    if (out.toString('base64', at, at + written) !== text) return -1;
    at += written;
  }
  return at;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

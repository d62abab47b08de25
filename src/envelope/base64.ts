/**
 * Re-encoded in slices of this many bytes (a multiple of 3, so every slice but the last encodes
 * without padding and the slices' encodings concatenate to the whole one).
 */
const CHECK_SLICE_BYTES = 3 * 16 * 1024;

/**
 * Decodes strict standard base64 or returns undefined. Python's `b64decode` silently drops
 * characters outside the alphabet; we refuse them, and refuse non-zero padding bits too, so one
 * byte string has exactly one accepted encoding.
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  // Node's decoder skips junk and accepts base64url and missing padding; re-encoding and comparing
  // refuses all of that in linear time. (A regex over the whole text backtracked on the stack and
  // overflowed on multi-megabyte payloads.) The re-encoding is compared slice by slice: a whole
  // second copy of a bundle's payload text would cost as much memory as the text itself.
  if (text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Every 3 bytes are 4 characters: a length that does not match means skipped characters.
  if (Math.ceil(bytes.length / 3) * 4 !== text.length) return undefined;
  for (let at = 0; at < bytes.length; at += CHECK_SLICE_BYTES) {
    const end = Math.min(at + CHECK_SLICE_BYTES, bytes.length);
    const encoded = bytes.toString('base64', at, end);
    const from = (at / 3) * 4;
    if (encoded !== text.slice(from, from + encoded.length)) return undefined;
  }
  return bytes;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

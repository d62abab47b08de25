/**
 * Decodes strict standard base64 or returns undefined. Python's `b64decode` silently drops
 * characters outside the alphabet; we refuse them, and refuse non-zero padding bits too, so one
 * byte string has exactly one accepted encoding.
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  // Node's decoder skips junk and accepts base64url and missing padding; re-encoding and comparing
  // refuses all of that in linear time. (A regex over the whole text backtracked on the stack and
  // overflowed on multi-megabyte payloads.)
  if (text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

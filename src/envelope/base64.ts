/** Standard alphabet, `=` padding to a multiple of four, nothing else. */
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes strict standard base64 or returns undefined. Python's `b64decode` silently drops
 * characters outside the alphabet; we refuse them, and refuse non-zero padding bits too, so one
 * byte string has exactly one accepted encoding.
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (!STRICT_BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

import { IN_TOTO_PAYLOAD_TYPE } from './constants.js';

/**
 * DSSE v1 pre-authentication encoding: `"DSSEv1" SP len(type) SP type SP len(payload) SP payload`,
 * lengths being byte counts in ASCII decimal.
 */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${payload.length} `, 'ascii'),
    payload,
  ]);
}

/**
 * The pre-image `model_signing` v0.2 signed by mistake (reference `pae_compat`): capital `V` and
 * the Python `repr()` of the payload bytes instead of the bytes. Verifiers retry with it so v0.2
 * signatures still verify; nothing ever signs it. The type is always the in-toto one.
 */
export function paeV02Compat(payload: Uint8Array): Buffer {
  const type = IN_TOTO_PAYLOAD_TYPE;
  return Buffer.from(
    `DSSEV1 ${Buffer.byteLength(type)} ${type} ${payload.length} ${pythonBytesRepr(payload)}`,
    'ascii',
  );
}

const HEX = '0123456789abcdef';

/**
 * CPython's `repr(bytes)`: `b'…'`, switching to double quotes only when the bytes contain a single
 * quote and no double quote; escapes the chosen quote, backslash, `\t` `\n` `\r`, and every byte
 * outside 0x20–0x7e as `\xNN` (lowercase hex). Output is pure ASCII.
 */
export function pythonBytesRepr(bytes: Uint8Array): string {
  const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? 0x22 : 0x27;
  const parts: string[] = ['b', String.fromCharCode(quote)];
  for (const b of bytes) {
    if (b === quote || b === 0x5c) parts.push('\\', String.fromCharCode(b));
    else if (b === 0x09) parts.push('\\t');
    else if (b === 0x0a) parts.push('\\n');
    else if (b === 0x0d) parts.push('\\r');
    else if (b < 0x20 || b >= 0x7f) parts.push('\\x', HEX[b >> 4]!, HEX[b & 15]!);
    else parts.push(String.fromCharCode(b));
  }
  parts.push(String.fromCharCode(quote));
  return parts.join('');
}

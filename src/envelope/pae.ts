import { IN_TOTO_PAYLOAD_TYPE } from './constants.js';

/**
 * DSSE v1 pre-authentication encoding: `"DSSEv1" SP len(type) SP type SP len(payload) SP payload`,
 * lengths being byte counts in ASCII decimal.
 */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  return Buffer.concat(paeParts(payloadType, payload));
}

/**
 * `pae` as the pieces it concatenates (the payload itself the last one, not copied), for a
 * verifier that hashes them one at a time.
 */
export function paeParts(payloadType: string, payload: Uint8Array): Uint8Array[] {
  const type = Buffer.from(payloadType, 'utf8');
  return [
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${payload.length} `, 'ascii'),
    payload,
  ];
}

/**
 * The pre-image `model_signing` v0.2 signed by mistake (reference `pae_compat`): capital `V` and
 * the Python `repr()` of the payload bytes instead of the bytes. Verifiers retry with it so v0.2
 * signatures still verify; nothing ever signs it. The type is always the in-toto one.
 */
export function paeV02Compat(payload: Uint8Array): Buffer {
  return Buffer.concat([...paeV02CompatParts(payload)]);
}

/**
 * `paeV02Compat` a piece at a time: the repr of a multi-megabyte payload is up to four times its
 * size, and it is only ever hashed, so it is never built whole.
 */
export function* paeV02CompatParts(payload: Uint8Array): Generator<Uint8Array> {
  const type = IN_TOTO_PAYLOAD_TYPE;
  yield Buffer.from(`DSSEV1 ${Buffer.byteLength(type)} ${type} ${payload.length} `, 'ascii');
  yield* pythonBytesReprParts(payload);
}

/** Input bytes per piece of `pythonBytesReprParts` (each piece at most four times this). */
const REPR_PIECE_BYTES = 64 * 1024;

/**
 * CPython's `repr(bytes)`: `b'…'`, switching to double quotes only when the bytes contain a single
 * quote and no double quote; escapes the chosen quote, backslash, `\t` `\n` `\r`, and every byte
 * outside 0x20–0x7e as `\xNN` (lowercase hex). Output is pure ASCII.
 */
export function pythonBytesRepr(bytes: Uint8Array): string {
  return Buffer.concat([...pythonBytesReprParts(bytes)]).toString('ascii');
}

/** `pythonBytesRepr` as ASCII bytes, in pieces. */
function* pythonBytesReprParts(bytes: Uint8Array): Generator<Uint8Array> {
  const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? 0x22 : 0x27;
  yield Uint8Array.of(0x62, quote); // b'
  const out = Buffer.allocUnsafe(4 * REPR_PIECE_BYTES);
  for (let from = 0; from < bytes.length; from += REPR_PIECE_BYTES) {
    const end = Math.min(from + REPR_PIECE_BYTES, bytes.length);
    let n = 0;
    for (let i = from; i < end; i++) {
      const b = bytes[i]!;
      if (b === quote || b === 0x5c) {
        out[n++] = 0x5c;
        out[n++] = b;
      } else if (b === 0x09 || b === 0x0a || b === 0x0d) {
        out[n++] = 0x5c;
        out[n++] = b === 0x09 ? 0x74 : b === 0x0a ? 0x6e : 0x72; // t n r
      } else if (b < 0x20 || b >= 0x7f) {
        out[n++] = 0x5c;
        out[n++] = 0x78; // x
        out[n++] = HEX[b >> 4]!;
        out[n++] = HEX[b & 15]!;
      } else {
        out[n++] = b;
      }
    }
    // A copy: the caller may keep pieces (Buffer.concat) while `out` is reused.
    yield Uint8Array.prototype.slice.call(out, 0, n);
  }
  yield Uint8Array.of(quote);
}

const HEX = Buffer.from('0123456789abcdef', 'ascii');

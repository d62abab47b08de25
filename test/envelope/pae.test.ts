import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  IN_TOTO_PAYLOAD_TYPE,
  pae,
  paeParts,
  paeV02Compat,
  paeV02CompatParts,
  pythonBytesRepr,
} from '../../src/envelope/index.js';

// Produced by CPython 3 `repr(bytes.fromhex(hex))`.
const PYTHON_REPRS: readonly (readonly [string, string])[] = [
  ['', "b''"],
  ['616263', "b'abc'"],
  ['69742773', 'b"it\'s"'],
  ['7361792022686922', 'b\'say "hi"\''],
  ['626f7468202720616e642022', "b'both \\' and \"'"],
  ['090a0d5c20007f80ff', "b'\\t\\n\\r\\\\ \\x00\\x7f\\x80\\xff'"],
  ['7b0a2020226e223a20226e61c3af7665220a7d', 'b\'{\\n  "n": "na\\xc3\\xafve"\\n}\''],
  [
    '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff',
    "b'\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t\\n\\x0b\\x0c\\r\\x0e\\x0f\\x10\\x11\\x12\\x13\\x14\\x15\\x16\\x17\\x18\\x19\\x1a\\x1b\\x1c\\x1d\\x1e\\x1f !\"#$%&\\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\\x7f\\x80\\x81\\x82\\x83\\x84\\x85\\x86\\x87\\x88\\x89\\x8a\\x8b\\x8c\\x8d\\x8e\\x8f\\x90\\x91\\x92\\x93\\x94\\x95\\x96\\x97\\x98\\x99\\x9a\\x9b\\x9c\\x9d\\x9e\\x9f\\xa0\\xa1\\xa2\\xa3\\xa4\\xa5\\xa6\\xa7\\xa8\\xa9\\xaa\\xab\\xac\\xad\\xae\\xaf\\xb0\\xb1\\xb2\\xb3\\xb4\\xb5\\xb6\\xb7\\xb8\\xb9\\xba\\xbb\\xbc\\xbd\\xbe\\xbf\\xc0\\xc1\\xc2\\xc3\\xc4\\xc5\\xc6\\xc7\\xc8\\xc9\\xca\\xcb\\xcc\\xcd\\xce\\xcf\\xd0\\xd1\\xd2\\xd3\\xd4\\xd5\\xd6\\xd7\\xd8\\xd9\\xda\\xdb\\xdc\\xdd\\xde\\xdf\\xe0\\xe1\\xe2\\xe3\\xe4\\xe5\\xe6\\xe7\\xe8\\xe9\\xea\\xeb\\xec\\xed\\xee\\xef\\xf0\\xf1\\xf2\\xf3\\xf4\\xf5\\xf6\\xf7\\xf8\\xf9\\xfa\\xfb\\xfc\\xfd\\xfe\\xff'",
  ],
];

void test('pythonBytesRepr matches CPython repr(bytes) for quote choice and every escape', () => {
  for (const [hex, expected] of PYTHON_REPRS) {
    assert.equal(pythonBytesRepr(Buffer.from(hex, 'hex')), expected, hex);
  }
});

/** Inverse of Python's bytes repr, written independently, to check the encoder round-trips. */
function unrepr(text: string): Buffer {
  assert.equal(text[0], 'b');
  const quote = text[1]!;
  assert.ok(quote === "'" || quote === '"');
  assert.equal(text[text.length - 1], quote);
  const body = text.slice(2, -1);
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    assert.notEqual(c, quote, 'unescaped quote inside the literal');
    if (c !== '\\') {
      out.push(c.charCodeAt(0));
      continue;
    }
    const e = body[++i]!;
    if (e === 'x') {
      out.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push({ t: 9, n: 10, r: 13 }[e as 't' | 'n' | 'r'] ?? e.charCodeAt(0));
  }
  return Buffer.from(out);
}

void test('pythonBytesRepr is printable ASCII and round-trips (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const r = pythonBytesRepr(bytes);
      assert.match(r, /^[\x20-\x7e]*$/);
      assert.deepEqual(unrepr(r), Buffer.from(bytes));
    }),
  );
});

void test('pythonBytesRepr over many pieces: the same as escaping byte by byte', () => {
  // Past the 64 KiB pieces the repr is built in; the quote choice looks at the whole input.
  const perByte = (bytes: Uint8Array): string => {
    const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? '"' : "'";
    let out = `b${quote}`;
    for (const b of bytes) {
      const c = String.fromCharCode(b);
      if (c === quote || c === '\\') out += `\\${c}`;
      else if (b === 9 || b === 10 || b === 13) out += { 9: '\\t', 10: '\\n', 13: '\\r' }[b];
      else if (b < 0x20 || b >= 0x7f) out += `\\x${b.toString(16).padStart(2, '0')}`;
      else out += c;
    }
    return `${out}${quote}`;
  };
  const big = Buffer.alloc(3 * 64 * 1024 + 5);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919 + (i >> 11)) % 256;
  assert.equal(pythonBytesRepr(big), perByte(big));
  const quoted = Buffer.from(big.map((b) => (b === 0x22 ? 0x27 : b))); // a ' and no ": "…" quoting
  assert.equal(pythonBytesRepr(quoted), perByte(quoted));
  assert.ok(pythonBytesRepr(quoted).startsWith('b"'));
  const parts = [...paeV02CompatParts(big)];
  assert.ok(parts.length > 4);
  assert.ok(Buffer.concat(parts).equals(paeV02Compat(big)));
  assert.ok(Buffer.concat(paeParts('t', big)).equals(pae('t', big)));
  assert.equal(paeParts('t', big).at(-1), big, 'the payload itself, not a copy');
});

void test('pae follows DSSE v1 (spec example and byte lengths)', () => {
  // DSSE protocol.md example.
  assert.equal(
    pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString(),
    'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
  );
  // Lengths are byte counts, not characters.
  const payload = Buffer.from('naïve', 'utf8');
  assert.equal(pae('t', payload).toString('utf8'), 'DSSEv1 1 t 6 naïve');
});

void test('pae is "DSSEv1 len type len payload" for any type and payload (property)', () => {
  fc.assert(
    fc.property(fc.string(), fc.uint8Array({ maxLength: 300 }), (type, payload) => {
      const out = pae(type, payload);
      const typeBytes = Buffer.from(type, 'utf8');
      const header = Buffer.from(`DSSEv1 ${typeBytes.length} `);
      assert.ok(out.subarray(0, header.length).equals(header));
      let rest = out.subarray(header.length);
      assert.ok(rest.subarray(0, typeBytes.length).equals(typeBytes));
      rest = rest.subarray(typeBytes.length);
      const mid = Buffer.from(` ${payload.length} `);
      assert.ok(rest.subarray(0, mid.length).equals(mid));
      assert.ok(rest.subarray(mid.length).equals(Buffer.from(payload)));
    }),
  );
});

void test('paeV02Compat is the v0.2 pre-image: DSSEV1, in-toto type, byte length, Python repr', () => {
  const payload = Buffer.from('{\n  "a": "it\'s"\n}');
  // CPython: repr(b'{\n  "a": "it\'s"\n}') == b'{\\n  "a": "it\\\'s"\\n}'
  const expected = String.raw`DSSEV1 28 application/vnd.in-toto+json 17 b'{\n  "a": "it\'s"\n}'`;
  assert.equal(payload.length, 17);
  assert.equal(paeV02Compat(payload).toString('ascii'), expected);
  assert.equal(IN_TOTO_PAYLOAD_TYPE.length, 28);
});

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- these tests edit raw bundle JSON on purpose */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  BUNDLE_MEDIA_TYPE_V03,
  IN_TOTO_PAYLOAD_TYPE,
  MAX_BUNDLE_BYTES,
  bundleDocument,
  bundleFromJSON,
  decodeBase64Strict,
  decodeBase64StrictInPlace,
  serializeBundle,
} from '../../src/envelope/index.js';
import { CairnError } from '../../src/errors/index.js';
import { keyed, keyedDir, readShared, sharedOrSkip, throwsCode } from './fixtures.js';

const modelSig = keyed('model.sig');
const modelJson = JSON.parse(modelSig.toString()) as Record<string, unknown>;

function bytesOf(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** model.sig with a change applied to a deep copy of its JSON. */
function mutated(change: (doc: any) => void): Buffer {
  const doc = structuredClone(modelJson) as any;
  change(doc);
  return bytesOf(doc);
}

function issuePaths(err: CairnError): string[] {
  return (err.details?.issues as { path: string }[]).map((i) => i.path);
}

void test('every signature file in the keyed fixtures parses', () => {
  const sigs = readdirSync(keyedDir).filter((f) => f.endsWith('.sig'));
  assert.ok(sigs.length >= 14);
  for (const f of sigs) {
    const b = bundleFromJSON(keyed(f));
    assert.equal(b.dsseEnvelope.signatures.length, 1, f);
  }
});

void test('model.sig: hint, tlogEntries [], keyid "", exact payload bytes', () => {
  const b = bundleFromJSON(modelSig);
  assert.equal(b.mediaType, BUNDLE_MEDIA_TYPE_V03);
  const c = b.verificationMaterial.content;
  assert.equal(c.kind, 'publicKey');
  assert.equal(
    c.kind === 'publicKey' && c.hint,
    'e0cf4cda27940b22ecd03881987156ca9be52f38afcbfecdf5efc51818117f7e',
  );
  assert.deepEqual(b.verificationMaterial.tlogEntries, []);
  assert.equal(b.dsseEnvelope.signatures[0]!.keyid, '');
  assert.ok(b.dsseEnvelope.payload.equals(keyed('payloads/model.payload.json')));
});

void test('legacy rawBytes/keyDetails with keyid null and no tlogEntries parses', () => {
  const b = bundleFromJSON(keyed('pos-legacy-rawbytes.sig'));
  const c = b.verificationMaterial.content;
  assert.equal(c.kind, 'publicKey');
  if (c.kind !== 'publicKey') return;
  assert.equal(c.hint, undefined);
  assert.match(c.legacyRawBytes!.toString(), /^-----BEGIN PUBLIC KEY-----/);
  assert.equal(b.dsseEnvelope.signatures[0]!.keyid, null);
});

void test('certificate bundle exposes the DER chain, leaf first', () => {
  const b = bundleFromJSON(keyed('model.cert.sig'));
  const c = b.verificationMaterial.content;
  assert.equal(c.kind, 'x509CertificateChain');
  assert.equal(c.kind === 'x509CertificateChain' && c.certificates.length, 2);
});

void test('every upstream bundle (key, certificate, keyless) parses', (t) => {
  const shared = sharedOrSkip(t);
  if (shared === undefined) return;
  const dirs = readdirSync(`${shared}/vectors/oms-upstream`).filter((d) => d.startsWith('v'));
  assert.equal(dirs.length, 13);
  for (const d of dirs) {
    const b = bundleFromJSON(readShared(shared, 'vectors', 'oms-upstream', d, 'model.sig'));
    const kind = b.verificationMaterial.content.kind;
    if (d.endsWith('-sigstore')) {
      assert.equal(kind, 'certificate', d);
      assert.ok(b.verificationMaterial.tlogEntries.length > 0, d);
      assert.equal(b.dsseEnvelope.signatures[0]!.keyid, undefined, d);
    } else if (d.endsWith('-certificate')) assert.equal(kind, 'x509CertificateChain', d);
    else assert.equal(kind, 'publicKey', d);
  }
});

void test('serializeBundle reproduces the reference bytes of model.sig and model.cert.sig', () => {
  for (const f of ['model.sig', 'model.cert.sig', 'model.p384.sig', 'model.shards-256KiB.sig']) {
    const original = keyed(f);
    const b = bundleFromJSON(original);
    const c = b.verificationMaterial.content;
    const material =
      c.kind === 'publicKey'
        ? { kind: 'publicKey' as const, hint: c.hint! }
        : c.kind === 'x509CertificateChain'
          ? { kind: 'x509CertificateChain' as const, certificates: c.certificates }
          : assert.fail('unexpected material');
    const out = serializeBundle({
      verificationMaterial: material,
      payload: b.dsseEnvelope.payload,
      payloadType: b.dsseEnvelope.payloadType,
      signature: b.dsseEnvelope.signatures[0]!.sig,
    });
    assert.ok(out.equals(original), f);
  }
});

void test('serializeBundle encodes big payloads slice by slice into the same bytes', () => {
  // Lengths around the 192 KiB slice and its multiples, and every padding case.
  const slice = 3 * 64 * 1024;
  for (const length of [0, 1, 2, 3, slice - 1, slice, slice + 1, 2 * slice + 2, 5 * slice + 7]) {
    const payload = Buffer.alloc(length);
    for (let i = 0; i < length; i++) payload[i] = (i * 131 + (i >> 9)) % 256;
    const signature = Buffer.from('signature bytes');
    const out = serializeBundle({
      verificationMaterial: { kind: 'publicKey', hint: 'ab'.repeat(32) },
      payload,
      payloadType: 'application/vnd.in-toto+json',
      signature,
    });
    const whole = JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { publicKey: { hint: 'ab'.repeat(32) }, tlogEntries: [] },
      dsseEnvelope: {
        payload: payload.toString('base64'),
        payloadType: 'application/vnd.in-toto+json',
        signatures: [{ sig: signature.toString('base64'), keyid: '' }],
      },
    });
    assert.equal(out.toString('utf8'), whole, `${length} bytes`);
  }
});

void test('a read bundle keeps its document without the payload text; bundleDocument restores it', (t) => {
  const files = [keyed('model.sig'), keyed('model.cert.sig')];
  const shared = sharedOrSkip(t);
  if (shared !== undefined) {
    const upstream = ['vectors', 'oms-upstream'];
    for (const dir of readdirSync(join(shared, ...upstream)).filter((n) => n.startsWith('v'))) {
      files.push(readShared(shared, ...upstream, dir, 'model.sig'));
    }
  }
  let read = 0;
  for (const bytes of files) {
    let bundle;
    try {
      bundle = bundleFromJSON(bytes);
    } catch {
      continue; // negative vectors
    }
    read++;
    const doc = bundle.jsonWithoutPayload as { dsseEnvelope: { payload: unknown } };
    assert.equal(doc.dsseEnvelope.payload, null);
    assert.deepEqual(bundleDocument(bundle), JSON.parse(bytes.toString('utf8')));
  }
  assert.ok(read >= (shared === undefined ? 2 : 14), `${read} bundles read`);
});

void test('big bundles are read with the payload text left out, with the verdicts of the whole read', () => {
  // Past 256 KiB the payload is decoded from the bytes and the rest parsed with a placeholder.
  // Spacing `"payload": "` defeats that shortcut without changing what the JSON means, so every
  // document must read the same both ways: the same bundle, or the same error code.
  const payload = Buffer.from(JSON.stringify({ filler: 'x'.repeat(300_000) }));
  const base = serializeBundle({
    verificationMaterial: { kind: 'publicKey', hint: 'ab'.repeat(32) },
    payload,
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    signature: Buffer.alloc(70, 7),
  }).toString('latin1');
  const b64 = payload.toString('base64');
  const edits: readonly [string, (text: string) => string][] = [
    ['as written', (t) => t],
    [
      'duplicate payload key after',
      (t) => t.replace('"payloadType"', '"payload":"QUJD","payloadType"'),
    ],
    ['duplicate payload key before', (t) => t.replace('{"payload"', '{"payload":"QUJD","payload"')],
    [
      'escaped key after',
      (t) => t.replace('"payloadType"', '"pay\\u006coad":"QUJD","payloadType"'),
    ],
    ['escaped key before', (t) => t.replace('{"payload"', '{"pay\\u006coad":"QUJD","payload"')],
    ['escape inside the payload', (t) => t.replace(b64.slice(0, 8), `${b64.slice(0, 7)}\\/`)],
    [
      'an escape that means the same character',
      (t) =>
        t.replace(`"payload":"${b64[0]!}`, `"payload":"\\u00${b64.charCodeAt(0).toString(16)}`),
    ],
    ['non-ASCII inside the payload', (t) => t.replace(b64.slice(0, 4), 'é' + b64.slice(1, 4))],
    ['newline inside the payload', (t) => t.replace(b64.slice(0, 4), `\n${b64.slice(1, 4)}`)],
    // Blank space after the document keeps it past 256 KiB without changing what it means.
    ['empty payload', (t) => `${t.replace(b64, '')}${' '.repeat(300_000)}`],
    [
      'payload under another object',
      (t) =>
        t
          .replace('"tlogEntries":[]', `"tlogEntries":[{"payload":"${b64}"}]`)
          .replace(`{"payload":"${b64}",`, '{'),
    ],
    [
      'payload text a number',
      (t) => `${t.replace(`"payload":"${b64}"`, '"payload":12')}${' '.repeat(300_000)}`,
    ],
    ['byte-order mark', (t) => `\ufeff${t}`],
    ['truncated', (t) => t.slice(0, -3)],
    ['trailing garbage', (t) => `${t}x`],
    ['junk base64', (t) => t.replace(b64.slice(100, 104), '-_-_')],
    ['unknown top-level key', (t) => t.replace('{"mediaType"', '{"extra":1,"mediaType"')],
  ];
  const outcome = (text: string, reuseBytes = false): unknown => {
    try {
      const b = bundleFromJSON(Buffer.from(text, 'utf8'), { reuseBytes });
      return {
        payload: b.dsseEnvelope.payload.toString('hex'),
        rest: { ...b, dsseEnvelope: { ...b.dsseEnvelope, payload: null } },
      };
    } catch (err) {
      return (err as CairnError).code;
    }
  };
  let fast = 0;
  for (const [what, edit] of edits) {
    const text = edit(base);
    assert.ok(text.length > 256 * 1024, what);
    const spaced = text.replace('"payload":"', '"payload": "');
    const direct = outcome(text);
    assert.deepEqual(direct, outcome(spaced), what);
    // Decoding the payload over the caller's bytes changes nothing else, and nothing at all
    // when the shortcut does not apply (the ordinary path then reads the bytes as they were).
    assert.deepEqual(outcome(text, true), direct, `${what}, bytes reused`);
    if (typeof direct !== 'string') fast++;
  }
  assert.equal(typeof outcome(base), 'object', 'the unedited bundle reads');
  assert.ok(fast >= 4, `${fast} documents read`);
});

void test('serializeBundle refuses a bundle over the size verification accepts, to the byte', () => {
  const write = (payloadLength: number): Buffer =>
    serializeBundle({
      verificationMaterial: { kind: 'publicKey', hint: 'ab'.repeat(32) },
      payload: Buffer.alloc(payloadLength, 0x41),
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      signature: Buffer.alloc(72, 1),
    });
  // The envelope around the payload's base64, measured on a small bundle.
  const overhead = write(3).length - 4;
  // The biggest payload whose bundle fits (whole base64 quanta): it parses as a bundle.
  const fits = 3 * Math.floor((MAX_BUNDLE_BYTES - overhead) / 4);
  const atLimit = write(fits);
  assert.ok(atLimit.length <= MAX_BUNDLE_BYTES && atLimit.length > MAX_BUNDLE_BYTES - 4);
  assert.equal(bundleFromJSON(atLimit).dsseEnvelope.payload.length, fits);
  // One base64 quantum more is over the limit: refused, with the figures, nothing returned.
  const error = throwsCode(() => write(fits + 1), 'SIGNATURE_TOO_LARGE');
  assert.deepEqual(error.details, { size: atLimit.length + 4, limit: MAX_BUNDLE_BYTES });
  // ... where verification would have refused it too.
  const padding = Buffer.alloc(MAX_BUNDLE_BYTES - atLimit.length + 1, 0x20);
  assert.throws(
    () => bundleFromJSON(Buffer.concat([atLimit, padding])),
    (err: CairnError) => err.code === 'BUNDLE_TOO_LARGE',
  );
});

// ── bad input: each a test ───────────────────────────────────────────────────────────────

void test('truncated JSON → BUNDLE_MALFORMED', () => {
  throwsCode(() => bundleFromJSON(modelSig.subarray(0, modelSig.length - 10)), 'BUNDLE_MALFORMED');
  throwsCode(() => bundleFromJSON(Buffer.alloc(0)), 'BUNDLE_MALFORMED');
});

void test('not UTF-8, or a UTF-8 BOM → BUNDLE_MALFORMED', () => {
  throwsCode(() => bundleFromJSON(Buffer.from([0x7b, 0xff, 0x7d])), 'BUNDLE_MALFORMED');
  throwsCode(
    () => bundleFromJSON(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), modelSig])),
    'BUNDLE_MALFORMED',
  );
});

void test('oversized input → BUNDLE_TOO_LARGE before parsing', () => {
  const big = Buffer.alloc(MAX_BUNDLE_BYTES + 1, 0x20);
  const err = throwsCode(() => bundleFromJSON(big), 'BUNDLE_TOO_LARGE');
  assert.equal(err.details?.limit, MAX_BUNDLE_BYTES);
});

void test('deep nesting (10k "[") → BUNDLE_TOO_DEEP before parsing', () => {
  throwsCode(() => bundleFromJSON(Buffer.from('['.repeat(10_000))), 'BUNDLE_TOO_DEEP');
  throwsCode(
    () => bundleFromJSON(Buffer.from('{"a":'.repeat(100) + '1' + '}'.repeat(100))),
    'BUNDLE_TOO_DEEP',
  );
  // Brackets inside strings do not count.
  const ok = mutated((d) => (d.dsseEnvelope.payloadType = '['.repeat(1000)));
  assert.equal(bundleFromJSON(ok).dsseEnvelope.payloadType.length, 1000);
});

void test('not an object / wrong types → BUNDLE_INVALID with paths', () => {
  throwsCode(() => bundleFromJSON(Buffer.from('[]')), 'BUNDLE_INVALID');
  throwsCode(() => bundleFromJSON(Buffer.from('"x"')), 'BUNDLE_INVALID');
  const err = throwsCode(
    () =>
      bundleFromJSON(
        mutated((d) => {
          d.mediaType = 3;
          d.dsseEnvelope.payloadType = null;
          d.dsseEnvelope.signatures[0].keyid = 5;
        }),
      ),
    'BUNDLE_INVALID',
  );
  assert.deepEqual(issuePaths(err).sort(), [
    'dsseEnvelope.payloadType',
    'dsseEnvelope.signatures[0].keyid',
    'mediaType',
  ]);
});

void test('missing fields: every bad path is reported', () => {
  const err = throwsCode(
    () =>
      bundleFromJSON(
        mutated((d) => {
          delete d.mediaType;
          delete d.dsseEnvelope.payload;
          delete d.dsseEnvelope.signatures[0].sig;
          d.verificationMaterial = { tlogEntries: [] };
        }),
      ),
    'BUNDLE_INVALID',
  );
  const paths = issuePaths(err);
  for (const p of [
    'mediaType',
    'dsseEnvelope.payload',
    'dsseEnvelope.signatures[0].sig',
    'verificationMaterial',
  ]) {
    assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
  }
  throwsCode(
    () => bundleFromJSON(mutated((d) => (d.dsseEnvelope.signatures = []))),
    'BUNDLE_INVALID',
  );
});

void test('junk base64 is refused, not skipped like Python', () => {
  for (const bad of ['ab$d', 'abc', 'ab=d', 'YWJj\n', ' YWJj', 'YW Jj', 'YWI=YWI=', 'YR==']) {
    assert.equal(decodeBase64Strict(bad), undefined, bad);
  }
  assert.deepEqual(decodeBase64Strict('YWI='), Buffer.from('ab'));
  assert.deepEqual(decodeBase64Strict(''), Buffer.alloc(0));
  for (const bad of ['YWJj-_==', 'YWI', 'YWJjZA', 'YWJj====']) {
    assert.equal(decodeBase64Strict(bad), undefined, bad);
  }
  // A multi-megabyte payload (a 20,000-file manifest) decodes without exhausting the stack.
  const big = Buffer.alloc(6 * 1024 * 1024 + 1, 0x5a);
  assert.ok(decodeBase64Strict(big.toString('base64'))?.equals(big));
  const err = throwsCode(
    () =>
      bundleFromJSON(
        mutated((d) => {
          d.dsseEnvelope.payload = `${d.dsseEnvelope.payload as string}!`;
          d.dsseEnvelope.signatures[0].sig = '-_-_';
        }),
      ),
    'BUNDLE_INVALID',
  );
  assert.deepEqual(issuePaths(err).sort(), [
    'dsseEnvelope.payload',
    'dsseEnvelope.signatures[0].sig',
  ]);
});

void test('strict base64 over many slices: one bad character anywhere is refused', () => {
  // The check re-encodes slice by slice; it must agree with re-encoding the whole text at once,
  // wherever the bad character falls (first, middle or last slice, on a slice boundary).
  const bytes = Buffer.alloc(3 * 16 * 1024 * 3 + 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 251;
  const good = bytes.toString('base64');
  const wholeCheck = (text: string): boolean =>
    text.length % 4 === 0 && Buffer.from(text, 'base64').toString('base64') === text;
  fc.assert(
    fc.property(
      fc.nat({ max: good.length - 1 }),
      fc.constantFrom('-', '_', '=', '\n', ' ', '$', 'A', '/', '+', 'z'),
      fc.constantFrom('replace', 'insert4', 'delete4'),
      (at, ch, how) => {
        const text =
          how === 'replace'
            ? good.slice(0, at) + ch + good.slice(at + 1)
            : how === 'insert4'
              ? good.slice(0, at) + ch.repeat(4) + good.slice(at)
              : good.slice(0, at) + good.slice(at + 4);
        const decoded = decodeBase64Strict(text);
        assert.equal(
          decoded !== undefined,
          wholeCheck(text),
          `${how} ${JSON.stringify(ch)} @${at}`,
        );
        if (decoded !== undefined) assert.equal(decoded.toString('base64'), text);
      },
    ),
    { numRuns: 400 },
  );
  // Padding that ends a slice but not the text: each slice alone is valid base64.
  for (const at of [65532, 2 * 65536 - 4]) {
    const padded = `${good.slice(0, at)}QQ==${good.slice(at + 4)}`;
    assert.equal(decodeBase64Strict(padded), undefined, `padding @${at}`);
    assert.equal(wholeCheck(padded), false);
  }
  for (const at of [0, 65535, 65536, 65537, good.length - 3, good.length - 1]) {
    assert.equal(
      decodeBase64Strict(`${good.slice(0, at)}-${good.slice(at + 1)}`),
      undefined,
      `@${at}`,
    );
  }
  assert.ok(decodeBase64Strict(good)?.equals(bytes));
});

void test('strict base64 decoded over its own bytes: the same bytes, or nothing written', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(0, 1, 2, 3, 49_151, 49_152, 49_153, 3 * 49_152 + 2),
      fc.nat(),
      fc.constantFrom('none', 'junk', 'padding'),
      (length, seed, damage) => {
        const bytes = Buffer.alloc(length);
        for (let i = 0; i < length; i++) bytes[i] = (i * 7919 + seed) % 256;
        let text = bytes.toString('base64');
        if (damage !== 'none' && text.length >= 8) {
          const at = seed % (text.length - 4);
          text = `${text.slice(0, at)}${damage === 'junk' ? '-' : '='}${text.slice(at + 1)}`;
        }
        // Inside a bigger buffer, as the payload sits inside a bundle's bytes.
        const host = Buffer.from(`{"payload":"${text}"}`, 'latin1');
        const before = Buffer.from(host);
        const view = host.subarray(12, 12 + text.length);
        const decoded = decodeBase64StrictInPlace(view);
        const expected = decodeBase64Strict(text);
        if (expected === undefined) {
          assert.equal(decoded, undefined);
          assert.ok(host.equals(before), 'nothing written');
        } else {
          assert.ok(decoded?.equals(expected));
          assert.equal(decoded!.buffer, host.buffer, 'decoded over the text');
          assert.ok(host.subarray(12 + text.length).equals(before.subarray(12 + text.length)));
        }
      },
    ),
    { numRuns: 200 },
  );
});

void test('unknown fields in security-relevant objects are refused (reference: extra=forbid)', () => {
  for (const change of [
    (d: any) => (d.extra = 1),
    (d: any) => (d.verificationMaterial.extra = 1),
    (d: any) => (d.verificationMaterial.publicKey.extra = 1),
    (d: any) => (d.dsseEnvelope.extra = 1),
    (d: any) => (d.dsseEnvelope.signatures[0].extra = 1),
  ]) {
    throwsCode(() => bundleFromJSON(mutated(change)), 'BUNDLE_INVALID');
  }
});

void test('verification material: exactly one kind; hint must be 64 lowercase hex', () => {
  throwsCode(
    () =>
      bundleFromJSON(mutated((d) => (d.verificationMaterial.certificate = { rawBytes: 'YWJj' }))),
    'BUNDLE_INVALID',
  );
  throwsCode(
    () => bundleFromJSON(mutated((d) => (d.verificationMaterial.publicKey.hint = 'E0CF'))),
    'BUNDLE_INVALID',
  );
  // hint null is the reference's default when absent
  const b = bundleFromJSON(mutated((d) => (d.verificationMaterial.publicKey.hint = null)));
  assert.equal(
    b.verificationMaterial.content.kind === 'publicKey' && b.verificationMaterial.content.hint,
    undefined,
  );
});

void test('keyid absent, "" or null and tlogEntries absent are all accepted', () => {
  for (const change of [
    (d: any) => delete d.dsseEnvelope.signatures[0].keyid,
    (d: any) => (d.dsseEnvelope.signatures[0].keyid = null),
    (d: any) => delete d.verificationMaterial.tlogEntries,
  ]) {
    assert.ok(bundleFromJSON(mutated(change)));
  }
});

void test('message-signature bundles are refused with a clear reason', () => {
  const err = throwsCode(
    () =>
      bundleFromJSON(
        mutated((d) => {
          delete d.dsseEnvelope;
          d.messageSignature = {
            messageDigest: { algorithm: 'SHA2_256', digest: 'YWJj' },
            signature: 'YWJj',
          };
        }),
      ),
    'BUNDLE_INVALID',
  );
  assert.deepEqual(issuePaths(err), ['messageSignature']);
  throwsCode(() => bundleFromJSON(mutated((d) => delete d.dsseEnvelope)), 'BUNDLE_INVALID');
});

void test('unknown media type → MEDIA_TYPE_UNSUPPORTED; older Sigstore types parse', () => {
  throwsCode(
    () =>
      bundleFromJSON(
        mutated((d) => (d.mediaType = 'application/vnd.dev.sigstore.bundle.v0.4+json')),
      ),
    'MEDIA_TYPE_UNSUPPORTED',
  );
  assert.equal(
    bundleFromJSON(keyed('neg-media-type.sig')).mediaType,
    'application/vnd.dev.sigstore.bundle+json;version=0.2',
  );
});

void test('bundleFromJSON never throws anything but a CairnError (arbitrary bytes)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      try {
        bundleFromJSON(bytes);
      } catch (err) {
        assert.ok(err instanceof CairnError, String(err));
      }
    }),
    { numRuns: 500 },
  );
});

void test('bundleFromJSON never throws anything but a CairnError (arbitrary JSON, mutated bundles)', () => {
  const anyJson = fc.jsonValue({ maxDepth: 6 });
  const mutatedBundle = fc
    .tuple(
      fc.constantFrom(
        ['mediaType'],
        ['verificationMaterial'],
        ['verificationMaterial', 'publicKey'],
        ['verificationMaterial', 'publicKey', 'hint'],
        ['verificationMaterial', 'tlogEntries'],
        ['dsseEnvelope'],
        ['dsseEnvelope', 'payload'],
        ['dsseEnvelope', 'payloadType'],
        ['dsseEnvelope', 'signatures'],
      ),
      anyJson,
    )
    .map(([path, value]) => {
      const doc = structuredClone(modelJson) as any;
      let at = doc;
      for (const key of path.slice(0, -1)) at = at[key];
      at[path[path.length - 1]!] = value;
      return bytesOf(doc);
    });
  fc.assert(
    fc.property(fc.oneof(anyJson.map(bytesOf), mutatedBundle), (bytes) => {
      try {
        bundleFromJSON(bytes);
      } catch (err) {
        assert.ok(err instanceof CairnError, String(err));
      }
    }),
    { numRuns: 500 },
  );
});

void test('payloadType is kept as written (checked by the verifier, after the signature)', () => {
  assert.equal(
    bundleFromJSON(keyed('neg-payload-type.sig')).dsseEnvelope.payloadType,
    'application/json',
  );
  assert.equal(bundleFromJSON(modelSig).dsseEnvelope.payloadType, IN_TOTO_PAYLOAD_TYPE);
});

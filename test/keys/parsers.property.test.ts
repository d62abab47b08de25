// Property-based tests (fast-check) for the two parsers that take hostile text in src/keys: the
// RFC 7512 pkcs11: URI parser and the trust root reader.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isCairnError } from '../../src/errors/index.js';
import {
  describePkcs11Uri,
  fileSigner,
  initialTrustRoot,
  parsePkcs11Uri,
  readTrustRootUnverified,
  signTrustRoot,
  trustRootDocumentFromJSON,
  verifyTrustRoot,
  type Pkcs11Uri,
  type TrustRootDocument,
} from '../../src/keys/index.js';

/** Runs `f`; true when it returned, false when it threw a CairnError with one of `codes`. */
function acceptsOrRefuses(f: () => unknown, codes: readonly string[]): boolean {
  try {
    f();
    return true;
  } catch (err) {
    assert.ok(isCairnError(err), `not a CairnError: ${String(err)}`);
    assert.ok(codes.includes(err.code), `unexpected code ${err.code}`);
    return false;
  }
}

// Text without control characters (the parser refuses those, tested separately).
const label = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 24 })
  .filter((s) => !/\p{Cc}/u.test(s));

describe('pkcs11: URI parser properties', () => {
  test('what describePkcs11Uri writes parses back to the same token, slot, key and id', () => {
    const uri = fc.record(
      {
        token: label,
        slotId: fc.nat({ max: 2 ** 31 }),
        object: label,
        id: fc.uint8Array({ minLength: 1, maxLength: 20 }).map((a) => Buffer.from(a)),
        type: fc.constant('private' as const),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        uri.filter((u) => u.object !== undefined || u.id !== undefined),
        (u: Pkcs11Uri) => {
          const back = parsePkcs11Uri(describePkcs11Uri(u));
          assert.deepEqual({ ...back }, { ...u });
        },
      ),
      { numRuns: 300 },
    );
  });

  test('any text is parsed or refused with PKCS11_URI_INVALID, never echoed, never a crash', () => {
    const attr = fc.constantFrom(
      'token',
      'object',
      'id',
      'slot-id',
      'type',
      'serial',
      'pin-value',
      'module-path',
      'pin-source',
      'x-y',
      '',
    );
    const value = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('%', '%4', '%zz', '%ff', '%00', 'file:/p', '/abs/lib.so', 'private'),
    );
    const pair = fc.tuple(attr, value).map(([a, v]) => `${a}=${v}`);
    const uriText = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 64 }),
      fc
        .tuple(fc.array(pair, { maxLength: 4 }), fc.option(fc.array(pair, { maxLength: 3 })))
        .map(([p, q]) => `pkcs11:${p.join(';')}${q === null ? '' : `?${q.join('&')}`}`),
    );
    fc.assert(
      fc.property(uriText, (text) => {
        try {
          parsePkcs11Uri(text);
        } catch (err) {
          assert.ok(isCairnError(err), String(err));
          assert.equal(err.code, 'PKCS11_URI_INVALID');
          if (text.length > 12) assert.ok(!err.message.includes(text));
          return;
        }
        // Accepted: never with a PIN inside.
        assert.ok(!/pin-value/i.test(text));
      }),
      { numRuns: 2000 },
    );
  });
});

const keys = [0, 1, 2].map(() => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
const signers = keys.map((k) => fileSigner(k));
const base = initialTrustRoot(keys, 2, new Date('2026-01-01T00:00:00Z'));

/** Every object in a JSON value, with a setter to add a field to it. */
function objectsIn(value: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(value)) for (const v of value) objectsIn(v, out);
  else if (value !== null && typeof value === 'object') {
    out.push(value as Record<string, unknown>);
    for (const v of Object.values(value)) objectsIn(v, out);
  }
  return out;
}

const withSigners: TrustRootDocument = {
  ...base,
  signers: [
    {
      id: 'release',
      identity: { kind: 'keyless', identity: 'ci@example.com', issuer: 'https://issuer.example' },
      scopes: { repositories: ['team/*'], environments: ['**'], predicateTypes: ['p'] },
      notBefore: '2026-01-01T00:00:00Z',
      status: 'revoked',
      revocation: {
        reason: 'r',
        compromisedSince: '2026-01-01T00:00:00Z',
        revokedAt: '2026-01-02T00:00:00Z',
      },
    },
  ],
};

describe('trust root parser properties', () => {
  test('an unknown field added to any object of a valid document is refused', () => {
    const objects = objectsIn(structuredClone(withSigners)).length;
    fc.assert(
      fc.property(
        fc.nat({ max: objects - 1 }),
        fc.string({ minLength: 1, maxLength: 10 }),
        fc.jsonValue(),
        (at, key, value) => {
          const doc = structuredClone(withSigners) as unknown;
          const target = objectsIn(doc)[at]!;
          fc.pre(!(key in target));
          target[key] = value;
          assert.equal(
            acceptsOrRefuses(() => trustRootDocumentFromJSON(doc), ['TRUST_ROOT_INVALID']),
            false,
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  test('any JSON value is a document or TRUST_ROOT_INVALID with at least one issue', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        try {
          trustRootDocumentFromJSON(value);
        } catch (err) {
          assert.ok(isCairnError(err) && err.code === 'TRUST_ROOT_INVALID', String(err));
          assert.ok((err.details?.['issues'] as unknown[]).length > 0);
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('a changed byte in a signed file is refused or leaves the same signed document', async () => {
    const bytes = await signTrustRoot(withSigners, signers.slice(0, 2));
    const good = verifyTrustRoot(bytes);
    fc.assert(
      fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const bad = Buffer.from(bytes);
        bad[i] = bad[i]! ^ x;
        let accepted;
        try {
          accepted = verifyTrustRoot(bad);
        } catch (err) {
          assert.ok(isCairnError(err), String(err));
          assert.ok(
            ['TRUST_ROOT_MALFORMED', 'TRUST_ROOT_INVALID', 'TRUST_ROOT_SIGNATURE_INVALID'].includes(
              err.code,
            ),
            err.code,
          );
          return;
        }
        // Only an envelope change that leaves the signed payload intact (e.g. whitespace).
        assert.ok(accepted.payload.equals(good.payload));
      }),
      { numRuns: 1000 },
    );
  });

  test('arbitrary bytes are read or refused with a trust root code', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (b) => {
        acceptsOrRefuses(
          () => readTrustRootUnverified(b),
          ['TRUST_ROOT_MALFORMED', 'TRUST_ROOT_INVALID'],
        );
      }),
      { numRuns: 1000 },
    );
  });
});

// The zod-free fast paths of bundle and statement parsing (bundle.ts `quickBundle`, statement.ts
// `quickStatement`) against the zod schemas they stand in for: whatever a fast path accepts, the
// schema must accept with an equal output; and every real bundle must take the fast path.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { bundleSchema } from '../../src/envelope/bundle-schema.js';
import {
  MAX_CHAIN_CERTIFICATES,
  MAX_DSSE_SIGNATURES,
  MAX_STATEMENT_SUBJECTS,
  MAX_TLOG_ENTRIES,
} from '../../src/envelope/constants.js';
import { quickBundle } from '../../src/envelope/bundle.js';
import { statementSchema } from '../../src/envelope/statement-schema.js';
import { quickStatement } from '../../src/envelope/statement.js';
import { keyed, keyedDir, sharedOrSkip } from './fixtures.js';

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const HINT = 'e0cf4cda27940b22ecd03881987156ca9be52f38afcbfecdf5efc51818117f7e';

/** Values that sit on the edges of the schemas' rules. */
const EDGE_VALUES: readonly JsonValue[] = [
  null,
  true,
  0,
  1.5,
  '',
  'AAAA',
  'AA==',
  'AB==',
  'AAA',
  'A-_A',
  'not base64!',
  HINT,
  HINT.toUpperCase(),
  HINT.slice(1),
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  [],
  [{}],
  [{ rawBytes: 'AAAA' }],
  [{ sig: 'AAAA', keyid: '' }],
  {},
  { rawBytes: 'AAAA' },
  { rawBytes: '' },
  { certificates: [] },
  { hint: null },
  { sha256: 'ab' },
  { sha256: 1 },
  Array.from({ length: MAX_TLOG_ENTRIES + 1 }, () => ({})),
];

/** Bundles of every layout the schema knows, to mutate. */
function seedBundles(): JsonValue[] {
  const payload = Buffer.from('{"_type":"x"}').toString('base64');
  const envelope = {
    payload,
    payloadType: 'application/vnd.in-toto+json',
    signatures: [{ sig: 'AAAA', keyid: '' }],
  };
  const seeds: JsonValue[] = [
    {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { publicKey: { hint: HINT }, tlogEntries: [] },
      dsseEnvelope: envelope,
    },
    {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: {
        publicKey: { rawBytes: 'AAAA', keyDetails: 'PKIX_ECDSA_P256_SHA_256' },
        timestampVerificationData: {},
      },
      dsseEnvelope: { ...envelope, signatures: [{ sig: 'AAAA', keyid: null }] },
    },
    {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: {
        x509CertificateChain: { certificates: [{ rawBytes: 'AAAA' }, { rawBytes: 'AQID' }] },
        tlogEntries: [],
      },
      dsseEnvelope: envelope,
    },
    {
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.3',
      verificationMaterial: {
        certificate: { rawBytes: 'AAAA' },
        tlogEntries: [{ logIndex: '1', kindVersion: { kind: 'dsse', version: '0.0.1' } }],
        timestampVerificationData: { rfc3161Timestamps: [] },
      },
      dsseEnvelope: { ...envelope, signatures: [{ sig: 'AAAA' }] },
    },
  ];
  // Refused as they stand (two kinds of material, or none); a mutation may mend them.
  seeds.push(
    {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { publicKey: { hint: HINT }, certificate: { rawBytes: 'AAAA' } },
      dsseEnvelope: envelope,
    },
    {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { tlogEntries: [] },
      dsseEnvelope: envelope,
    },
  );
  // One broken rule each, on the key-mode bundle.
  const key = seeds[0] as { verificationMaterial: JsonValue; dsseEnvelope: typeof envelope };
  const broken = (material: JsonValue, env: JsonValue = envelope): JsonValue => ({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: material,
    dsseEnvelope: env,
  });
  seeds.push(
    broken({ x509CertificateChain: { certificates: [] } }),
    broken({
      x509CertificateChain: {
        certificates: Array.from({ length: MAX_CHAIN_CERTIFICATES + 1 }, () => ({
          rawBytes: 'AAAA',
        })),
      },
    }),
    broken({ publicKey: { hint: HINT.toUpperCase() } }),
    broken({ publicKey: { rawBytes: '' } }),
    broken({ certificate: { rawBytes: 'AB==' } }),
    broken(key.verificationMaterial, { ...envelope, signatures: [] }),
    broken(key.verificationMaterial, {
      ...envelope,
      signatures: Array.from({ length: MAX_DSSE_SIGNATURES + 1 }, () => ({ sig: 'AAAA' })),
    }),
    broken(key.verificationMaterial, { ...envelope, signatures: [{ sig: '', keyid: '' }] }),
    broken(key.verificationMaterial, { ...envelope, signatures: [{ sig: 'AAAA', keyid: 7 }] }),
    broken(key.verificationMaterial, { ...envelope, payload: 'not base64' }),
    broken(key.verificationMaterial, { ...envelope, payloadType: 7 }),
  );
  for (const f of readdirSync(keyedDir).filter((n) => n.endsWith('.sig'))) {
    seeds.push(JSON.parse(keyed(f).toString('utf8')) as JsonValue);
  }
  return seeds;
}

type Path = readonly (string | number)[];

function paths(value: JsonValue, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...at, i])));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...at, k]));
  }
  return out;
}

type Mutation =
  | { readonly op: 'set'; readonly pick: number; readonly value: JsonValue }
  | { readonly op: 'delete'; readonly pick: number }
  | { readonly op: 'add'; readonly pick: number; readonly key: string; readonly value: JsonValue };

/** Applies a mutation to a deep copy: sets, deletes or adds at the `pick`-th path. */
function mutate(root: JsonValue, m: Mutation): JsonValue {
  // Through JSON, as real input arrives: a `__proto__` key stays an own property.
  const copy = JSON.parse(JSON.stringify(root)) as JsonValue;
  const all = paths(copy);
  const target = all[m.pick % all.length]!;
  if (target.length === 0) return m.op === 'set' ? m.value : copy;
  let parent: JsonValue = copy;
  for (const k of target.slice(0, -1)) parent = (parent as Record<string | number, JsonValue>)[k]!;
  const last = target[target.length - 1]!;
  const p = parent as Record<string | number, JsonValue>;
  switch (m.op) {
    case 'set':
      p[last] = m.value;
      break;
    case 'delete':
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else Reflect.deleteProperty(p, last);
      break;
    case 'add': {
      const node = p[last];
      if (Array.isArray(node)) node.push(m.value);
      else if (node !== null && typeof node === 'object') {
        Object.defineProperty(node, m.key, { value: m.value, enumerable: true, writable: true });
      } else p[last] = m.value;
      break;
    }
  }
  return copy;
}

const jsonValue: fc.Arbitrary<JsonValue> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...EDGE_VALUES) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue> },
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), pick: fc.nat(), value: jsonValue }),
  fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({
    op: fc.constant('add' as const),
    pick: fc.nat(),
    key: fc.constantFrom(
      'extra',
      'publicKey',
      'certificate',
      'x509CertificateChain',
      'messageSignature',
      'dsseEnvelope',
      'keyid',
      'hint',
      '__proto__',
    ),
    value: jsonValue,
  }),
);

/** True when some object in `value` has an own `__proto__` key (JSON can make one). */
function hasProtoKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasProtoKey);
  if (value === null || typeof value !== 'object') return false;
  if (Object.prototype.hasOwnProperty.call(value, '__proto__')) return true;
  return Object.values(value).some(hasProtoKey);
}

/**
 * The fast path and the schema give the same verdict (`alsoRefused` names schema-valid input the
 * caller refuses later anyway) and, when the fast path accepts, equal outputs. Input with a
 * `__proto__` key may always be left to the schema (bundle.ts says why).
 */
function assertSame(
  input: unknown,
  quick: (json: unknown) => unknown,
  schema: { safeParse(json: unknown): { success: boolean; data?: unknown } },
  label: string,
  alsoRefused: (data: unknown) => boolean = () => false,
): boolean {
  const fast = quick(input);
  const slow = schema.safeParse(input);
  if (fast === undefined) {
    assert.ok(
      !slow.success || alsoRefused(slow.data) || hasProtoKey(input),
      `${label}: the schema accepts what the fast path refuses`,
    );
    return false;
  }
  assert.ok(slow.success, `${label}: the fast path accepts what the schema refuses`);
  assert.deepStrictEqual(normalise(fast), normalise(slow.data), label);
  return true;
}

/** Schema-valid bundles that `toBundle` refuses (no DSSE envelope, or a message signature). */
function refusedLater(data: unknown): boolean {
  const d = data as { dsseEnvelope?: unknown; messageSignature?: unknown };
  return d.dsseEnvelope === undefined || d.messageSignature !== undefined;
}

/** Buffers as hex and keys sorted, so outputs compare by content only. */
function normalise(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    return `bytes:${Buffer.from(value).toString('hex')}`;
  }
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, normalise((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

void test('quickBundle takes every fixture bundle with the schema’s exact output', () => {
  for (const f of readdirSync(keyedDir).filter((n) => n.endsWith('.sig'))) {
    const json: unknown = JSON.parse(keyed(f).toString('utf8'));
    assert.ok(
      assertSame(json, quickBundle, bundleSchema, f, refusedLater),
      `${f} missed the fast path`,
    );
  }
});

void test('quickBundle takes every upstream vector bundle the schema accepts', (t) => {
  const shared = sharedOrSkip(t);
  if (shared === undefined) return;
  const dir = path.join(shared, 'vectors', 'oms-upstream');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((n) =>
    n.endsWith('.sig'),
  );
  assert.ok(files.length > 0, `no bundles under ${dir}`);
  for (const f of files) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
    } catch {
      continue; // not JSON: the parser's business, not the schema's
    }
    if (!bundleSchema.safeParse(json).success) continue;
    assert.ok(
      assertSame(json, quickBundle, bundleSchema, f, refusedLater),
      `${f} missed the fast path`,
    );
  }
});

/**
 * Runs `same` (which returns whether the fast path accepted) on every seed as it is, then on 3000
 * random mutations of them; both verdicts must occur often, or the property says little.
 */
function checkMutations(seeds: readonly JsonValue[], same: (input: JsonValue) => boolean): void {
  for (const seed of seeds) same(seed);
  let accepted = 0;
  let refused = 0;
  fc.assert(
    fc.property(
      fc.nat(seeds.length - 1),
      fc.array(mutation, { minLength: 1, maxLength: 3 }),
      (seed, mutations) => {
        if (same(mutations.reduce(mutate, seeds[seed]!))) accepted++;
        else refused++;
      },
    ),
    { numRuns: 3000 },
  );
  assert.ok(accepted > 100 && refused > 100, `accepted ${accepted}, refused ${refused}`);
}

const label = (input: JsonValue): string => JSON.stringify(input).slice(0, 400);

void test('quickBundle accepts nothing the schema refuses, and agrees on output (mutations)', () => {
  checkMutations(seedBundles(), (input) =>
    assertSame(input, quickBundle, bundleSchema, label(input), refusedLater),
  );
});

/** What `inTotoStatement` reads of a statement: subject, predicateType, predicate. */
function readFields(s: Record<string, unknown>): Record<string, unknown> {
  return { subject: s.subject, predicateType: s.predicateType, predicate: s.predicate };
}

void test('quickStatement accepts nothing the schema refuses, and agrees on output', () => {
  const seeds: JsonValue[] = [
    {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'model', digest: { sha256: 'ab' } }],
      predicateType: 'https://model_signing/signature/v1.0',
      predicate: { serialization: { method: 'files' }, resources: [] },
    },
    {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ digest: {} }, { name: 'b', digest: { sha256: 'cd', sha512: 'ef' } }],
      predicateType: 'x',
      extra: 1,
    },
    JSON.parse(keyed('payloads/model.payload.json').toString('utf8')) as JsonValue,
  ];
  const quick = (json: unknown): Record<string, unknown> | undefined => {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
    const s = quickStatement(json as Record<string, unknown>);
    return s === undefined ? undefined : readFields(s);
  };
  const schema = {
    safeParse(json: unknown) {
      const r = statementSchema.safeParse(json);
      return r.success ? { success: true, data: readFields(r.data) } : { success: false };
    },
  };
  checkMutations(seeds, (input) => assertSame(input, quick, schema, label(input)));
  for (const seed of seeds) assert.ok(quick(seed) !== undefined, label(seed));
});

/** `JSON.parse` of `text`: how a `__proto__` key really arrives (an own property). */
function parsed(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}

void test('a `__proto__` key in an object zod would copy leaves the verdict to the schema', () => {
  const subject = '[{"name":"m","digest":{"sha256":"ab"}}]';
  for (const text of [
    // zod leaves the key out of its copy (unchecked); the fast path defers to it.
    `{"_type":"t","subject":${subject},"predicateType":"p","__proto__":{"predicate":{"a":1}}}`,
    `{"_type":"t","subject":${subject},"predicateType":"p","predicate":{"__proto__":{"x":1}}}`,
    `{"_type":"t","subject":[{"name":"m","digest":{"sha256":"ab","__proto__":null}}],"predicateType":"p"}`,
    `{"_type":"t","subject":[{"digest":{},"__proto__":{"name":"m"}}],"predicateType":"p"}`,
  ]) {
    assert.equal(quickStatement(parsed(text)), undefined, text);
  }
  const bundle = JSON.parse(keyed('model.sig').toString('utf8')) as {
    verificationMaterial: Record<string, unknown>;
  };
  for (const loose of ['{"__proto__":{"logIndex":"1"}}']) {
    const withEntry = structuredClone(bundle);
    withEntry.verificationMaterial.tlogEntries = [parsed(loose)];
    assert.equal(quickBundle(withEntry), undefined, `tlogEntries ${loose}`);
    const withTimestamp = structuredClone(bundle);
    withTimestamp.verificationMaterial.timestampVerificationData = parsed(loose);
    assert.equal(quickBundle(withTimestamp), undefined, `timestampVerificationData ${loose}`);
  }
});

void test('quickStatement and the schema agree on the subject limit', () => {
  for (const count of [MAX_STATEMENT_SUBJECTS, MAX_STATEMENT_SUBJECTS + 1]) {
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: Array.from({ length: count }, () => ({ digest: { sha256: 'ab' } })),
      predicateType: 'x',
    };
    const fast = quickStatement(statement) !== undefined;
    assert.equal(fast, statementSchema.safeParse(statement).success, `${count} subjects`);
    assert.equal(fast, count === MAX_STATEMENT_SUBJECTS, `${count} subjects`);
  }
});

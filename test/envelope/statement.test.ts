import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { hashBytes, rootDigest, type HashAlgorithm } from '../../src/digest/index.js';
import {
  COMPAT_MODEL_NAME,
  OMS_PREDICATE_TYPE_COMPAT,
  manifestFromStatement,
  orderIgnorePaths,
  pythonJsonDumps,
  serializeOmsStatement,
  statementFromPayload,
} from '../../src/envelope/index.js';
import {
  GIT_PATHS,
  roleForPath,
  sortResources,
  type Manifest,
  type Resource,
} from '../../src/manifest/index.js';
import { CairnError } from '../../src/errors/index.js';
import { filesManifest, keyed, keyedDir, throwsCode } from './fixtures.js';

type Doc = {
  _type: string;
  subject: { name: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate: {
    serialization: Record<string, unknown>;
    resources: Record<string, unknown>[];
  };
};

const referencePayload = keyed('payloads/model.payload.json');

function doc(): Doc {
  return JSON.parse(referencePayload.toString()) as Doc;
}

/** Sets the subject digest to the root over the listed resources, so only the change is tested. */
function withRoot(d: Doc): Doc {
  const digests = d.predicate.resources.map((r) => Buffer.from(String(r.digest), 'hex'));
  d.subject[0]!.digest.sha256 = rootDigest(digests).toString('hex');
  return d;
}

function read(d: unknown) {
  return manifestFromStatement(statementFromPayload(Buffer.from(JSON.stringify(d))));
}

/** The fixture model's files (git paths at the root excluded), read from disk. */
function modelFiles(): [string, Buffer][] {
  const root = path.join(keyedDir, 'model');
  const out: [string, Buffer][] = [];
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (prefix === '' && (GIT_PATHS as readonly string[]).includes(entry.name)) continue;
      if (entry.isDirectory()) walk(path.join(dir, entry.name), rel);
      else out.push([rel, readFileSync(path.join(dir, entry.name))]);
    }
  };
  walk(root, '');
  return out;
}

function modelManifest(hash: HashAlgorithm): Manifest {
  const m = filesManifest(modelFiles(), { hash, ignorePaths: GIT_PATHS });
  return { ...m, resources: sortResources(m.resources) };
}

// ── writing ─────────────────────────────────────────────────────────────────────────────

void test('statements are written in slices with the bytes of the whole document dumped at once', () => {
  // Counts around the 1024-resource slices; names with quotes, controls and non-ASCII.
  const name = fc.oneof(
    fc.string({ minLength: 1, maxLength: 12 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
    fc.constantFrom('a"b', 'back\\slash', 'tab\tnl\n', 'mødel', '😀.bin', 'x\u2028y'),
  );
  fc.assert(
    fc.property(
      fc.constantFrom(1, 2, 1023, 1024, 1025, 2048, 2049, 3001),
      name,
      name,
      fc.constantFrom<HashAlgorithm>('sha256', 'blake3'),
      (count, subject, stem, hash) => {
        const resources: Resource[] = Array.from({ length: count }, (_, i) => {
          const p = `${stem}/${i}`;
          return {
            name: p,
            path: p,
            role: roleForPath(p),
            algorithm: hash,
            digest: hashBytes(hash, Buffer.from(p)),
            size: i,
          };
        });
        const manifest: Manifest = {
          modelName: subject,
          serialization: {
            method: 'files',
            hashType: hash,
            allowSymlinks: false,
            ignorePaths: [stem],
          },
          resources,
        };
        const out = serializeOmsStatement(manifest, subject);
        // JSON.parse keeps the document's key order: dumping it whole is the layout to match.
        const parsed = JSON.parse(out.toString('ascii')) as Doc;
        assert.ok(out.equals(Buffer.from(pythonJsonDumps(parsed), 'ascii')), `${count} resources`);
        assert.deepEqual(
          parsed.predicate.resources,
          resources.map((r) => ({
            name: r.name,
            algorithm: hash,
            digest: r.digest.toString('hex'),
          })),
        );
        assert.equal(
          parsed.subject[0]!.digest.sha256,
          rootDigest(resources.map((r) => r.digest)).toString('hex'),
        );
      },
    ),
    { numRuns: 60 },
  );
});

void test('statement bytes are identical to the reference payload (files/sha256, from disk)', () => {
  const out = serializeOmsStatement(modelManifest('sha256'), 'model');
  assert.equal(out.toString(), referencePayload.toString());
  assert.ok(out.equals(referencePayload));
});

void test('statement bytes are identical to the reference payloads for blake2b and blake3', () => {
  assert.ok(
    serializeOmsStatement(modelManifest('blake2b'), 'model').equals(
      keyed('payloads/model.blake2.payload.json'),
    ),
  );
  assert.ok(
    serializeOmsStatement(modelManifest('blake3'), 'model').equals(
      keyed('payloads/model.blake3.payload.json'),
    ),
  );
});

void test('shards: identical to the reference payload except shard_size written as an integer', () => {
  const size = 262144;
  const resources: Resource[] = [];
  for (const [name, content] of modelFiles()) {
    for (let start = 0; start < content.length; start += size) {
      const end = Math.min(start + size, content.length);
      resources.push({
        name: `${name}:${start}:${end}`,
        path: name,
        shard: { start, end },
        algorithm: `sha256-sharded-${size}`,
        digest: hashBytes('sha256', content.subarray(start, end)),
        role: roleForPath(name),
      });
    }
  }
  const manifest: Manifest = {
    modelName: 'model',
    serialization: {
      method: 'shards',
      hashType: 'sha256',
      shardSize: size,
      allowSymlinks: false,
      ignorePaths: GIT_PATHS,
    },
    resources: sortResources(resources),
  };
  const reference = keyed('payloads/model.shards-256KiB.payload.json')
    .toString()
    .replace('"shard_size": 262144.0,', '"shard_size": 262144,');
  assert.equal(serializeOmsStatement(manifest, 'model').toString(), reference);
});

void test('ignore_paths: git defaults in the reference order, then the rest by code point', () => {
  assert.deepEqual(orderIgnorePaths(GIT_PATHS), [
    '.gitattributes',
    '.github',
    '.git',
    '.gitignore',
  ]);
  assert.deepEqual([...GIT_PATHS].sort(), [...orderIgnorePaths(GIT_PATHS)].sort());
  assert.deepEqual(orderIgnorePaths(['z', 'model.sig', '.git', 'b/c', '.git']), [
    '.git',
    'b/c',
    'model.sig',
    'z',
  ]);
  const m = filesManifest([['a', 'x']], { ignorePaths: [] });
  assert.ok(!serializeOmsStatement(m, 'm').toString().includes('ignore_paths'));
});

void test('non-ASCII names are written as \\uXXXX (surrogate pairs for astral characters)', () => {
  const m = filesManifest([['naïve/😀.txt', 'x']]);
  const text = serializeOmsStatement(m, 'mødel').toString();
  assert.ok(text.includes('"name": "na\\u00efve/\\ud83d\\ude00.txt"'));
  assert.ok(text.includes('"name": "m\\u00f8del"'));
  assert.ok(
    [...text].every((c) => c.charCodeAt(0) < 0x80),
    'ASCII only',
  );
  assert.ok(!text.endsWith('\n'));
});

// ── independent model of Python's json.dumps(indent=2) ───────────────────────────────────

function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const short: Record<number, string> = {
      0x22: '\\"',
      0x5c: '\\\\',
      8: '\\b',
      12: '\\f',
      10: '\\n',
      13: '\\r',
      9: '\\t',
    };
    if (short[c] !== undefined) out += short[c];
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += s[i];
  }
  return `${out}"`;
}

function pyDumps(v: unknown, level = 0): string {
  const pad = (n: number) => '\n' + '  '.repeat(n);
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return pyString(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[${v.map((x) => pad(level + 1) + pyDumps(x, level + 1)).join(',')}${pad(level)}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  return `{${entries
    .map(([k, x]) => `${pad(level + 1)}${pyString(k)}: ${pyDumps(x, level + 1)}`)
    .join(',')}${pad(level)}}`;
}

void test('pythonJsonDumps equals a model of Python json.dumps(indent=2) (property)', () => {
  const str = fc.string({ unit: 'binary', maxLength: 12 });
  const value = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      str,
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('v'), { maxLength: 4 }),
      fc.dictionary(str, tie('v'), { maxKeys: 4 }),
    ),
  })).v;
  fc.assert(
    fc.property(value, (v) => {
      assert.equal(pythonJsonDumps(v), pyDumps(v));
    }),
    { numRuns: 300 },
  );
});

// Names the reference could produce: printable, no `/` edge cases, any Unicode.
const segment = fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }).filter(
  (s) =>
    // No control characters, separators or surrogates: names the reference could produce.
    ![...s].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f' || '/\\:'.includes(c)) &&
    !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')) &&
    s !== '.' &&
    s !== '..',
);
const resourceName = fc.array(segment, { minLength: 1, maxLength: 3 }).map((p) => p.join('/'));

void test('serialized statements round-trip through statementFromPayload (property)', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(resourceName, {
        minLength: 1,
        maxLength: 8,
        selector: (n) => n.normalize('NFC'),
      }),
      fc.constantFrom<HashAlgorithm>('sha256', 'blake2b', 'blake3'),
      fc.array(resourceName, { maxLength: 3 }),
      segment,
      (names, hash, ignore, subjectName) => {
        const m = filesManifest(
          names.map((n) => [n, n]),
          { hash, ignorePaths: ignore },
        );
        const bytes = serializeOmsStatement(m, subjectName);
        assert.equal(bytes.toString(), pyDumps(JSON.parse(bytes.toString())));
        const back = manifestFromStatement(statementFromPayload(bytes));
        assert.equal(back.subjectName, subjectName);
        assert.deepEqual(
          back.manifest.resources.map((r) => [r.name, r.algorithm, r.digest.toString('hex')]),
          m.resources.map((r) => [r.name, r.algorithm, r.digest.toString('hex')]),
        );
        assert.deepEqual(back.manifest.serialization.ignorePaths, orderIgnorePaths(ignore));
        assert.equal(
          back.digest,
          `sha256:${rootDigest(m.resources.map((r) => r.digest)).toString('hex')}`,
        );
      },
    ),
    { numRuns: 200 },
  );
});

// ── reading ─────────────────────────────────────────────────────────────────────────────

void test('reference payload reads back as the signed manifest', () => {
  const s = manifestFromStatement(statementFromPayload(referencePayload));
  assert.equal(s.digest, 'sha256:6dbeb2c77258be99a913ec8794367ac31055ba1793c62674942e95c9d323ca3a');
  assert.equal(s.subjectName, 'model');
  assert.equal(s.manifest.resources.length, 11);
  assert.equal(s.manifest.resources[6]!.name, 'naïve.txt');
  assert.equal(s.manifest.resources[10]!.role, 'weights');
  assert.deepEqual(s.manifest.serialization, {
    method: 'files',
    hashType: 'sha256',
    allowSymlinks: false,
    ignorePaths: ['.gitattributes', '.github', '.git', '.gitignore'],
  });
});

void test('shard_size 262144.0 (float JSON) is accepted; shard ranges are parsed', () => {
  const s = manifestFromStatement(
    statementFromPayload(keyed('payloads/model.shards-256KiB.payload.json')),
  );
  assert.equal(s.manifest.serialization.shardSize, 262144);
  const w = s.manifest.resources.filter((r) => r.path === 'weights.bin');
  assert.equal(w.length, 13);
  assert.deepEqual(w[1]!.shard, { start: 262144, end: 524288 });
});

void test('plain <hash> shard algorithms (spec) are accepted as well as <hash>-sharded-<N>', () => {
  const d = JSON.parse(keyed('payloads/model.shards-256KiB.payload.json').toString()) as Doc;
  for (const r of d.predicate.resources) r.algorithm = 'sha256';
  assert.equal(read(d).manifest.resources.length, 22);
});

void test('not JSON / not a statement → STATEMENT_INVALID', () => {
  throwsCode(() => statementFromPayload(Buffer.from('{')), 'STATEMENT_INVALID');
  throwsCode(() => statementFromPayload(Buffer.from('[1]')), 'STATEMENT_INVALID');
  throwsCode(() => statementFromPayload(Buffer.from('['.repeat(5000))), 'STATEMENT_INVALID');
  const d = doc();
  d._type = 'https://in-toto.io/Statement/v0.1';
  throwsCode(() => read(d), 'STATEMENT_INVALID');
  const e = doc() as unknown as Record<string, unknown>;
  e.subject = 'x';
  throwsCode(() => read(e), 'STATEMENT_INVALID');
});

void test('predicate type other than v1.0 / v0.1 → PREDICATE_TYPE_MISMATCH', () => {
  const d = doc();
  d.predicateType = 'https://slsa.dev/provenance/v1';
  throwsCode(() => read(d), 'PREDICATE_TYPE_MISMATCH');
});

void test('subject: exactly one with a sha256 digest → else SUBJECT_INVALID', () => {
  const two = doc();
  two.subject.push(structuredClone(two.subject[0]!));
  throwsCode(() => read(two), 'SUBJECT_INVALID');
  const noSha = doc();
  noSha.subject[0]!.digest = { sha512: 'ab' };
  throwsCode(() => read(noSha), 'SUBJECT_INVALID');
  const none = doc();
  none.subject = [];
  throwsCode(() => read(none), 'SUBJECT_INVALID');
  const shortSha = doc();
  shortSha.subject[0]!.digest.sha256 = 'abcd';
  throwsCode(() => read(shortSha), 'SUBJECT_INVALID');
});

void test('subject digest not over the listed resources → SUBJECT_DIGEST_MISMATCH (reference message)', () => {
  const d = doc();
  d.predicate.resources.reverse();
  const err = throwsCode(() => read(d), 'SUBJECT_DIGEST_MISMATCH');
  assert.match(
    err.message,
    /^Manifest is inconsistent\. Root digest is 6dbeb2c7.*, but the included resources hash to [0-9a-f]{64}$/,
  );
});

void test('unknown method / hash / bad shard_size → SERIALIZATION_UNSUPPORTED', () => {
  for (const change of [
    (s: Record<string, unknown>) => (s.method = 'tree'),
    (s: Record<string, unknown>) => (s.hash_type = 'md5'),
    (s: Record<string, unknown>) => delete s.hash_type,
    (s: Record<string, unknown>) => (s.allow_symlinks = 'no'),
  ]) {
    const d = doc();
    change(d.predicate.serialization);
    throwsCode(() => read(d), 'SERIALIZATION_UNSUPPORTED');
  }
  for (const size of [0, -1, 1.5, '262144', null]) {
    const d = JSON.parse(keyed('payloads/model.shards-256KiB.payload.json').toString()) as Doc;
    d.predicate.serialization.shard_size = size;
    throwsCode(() => read(d), 'SERIALIZATION_UNSUPPORTED');
  }
});

function nameProblem(name: string): CairnError {
  const d = doc();
  d.predicate.resources[1]!.name = name;
  return throwsCode(() => read(withRoot(d)), 'MANIFEST_INVALID');
}

void test('absolute resource name → MANIFEST_INVALID', () => {
  nameProblem('/etc/passwd');
  nameProblem('C:/x');
});
void test('resource name with .. → MANIFEST_INVALID', () => {
  nameProblem('../escape');
  nameProblem('a/../../b');
  nameProblem('a/./b');
});
void test('resource name with a backslash → MANIFEST_INVALID', () => {
  nameProblem('a\\b');
});
void test('resource name with NUL → MANIFEST_INVALID', () => {
  nameProblem('a\u0000b');
});
void test('resource name with a lone surrogate → MANIFEST_INVALID', () => {
  nameProblem('a\ud800b');
  nameProblem('\udc00');
});
void test('empty resource name or empty component → MANIFEST_INVALID', () => {
  nameProblem('');
  nameProblem('a//b');
  nameProblem('a/');
});

void test('every bad name is listed, not just the first', () => {
  const d = doc();
  d.predicate.resources[0]!.name = '/abs';
  d.predicate.resources[2]!.name = '../up';
  d.predicate.resources[4]!.name = 'x\\y';
  const err = throwsCode(() => read(withRoot(d)), 'MANIFEST_INVALID');
  const problems = err.details?.problems as { index: number }[];
  assert.deepEqual(
    problems.map((p) => p.index),
    [0, 2, 4],
  );
});

void test('duplicate names → MANIFEST_INVALID', () => {
  const d = doc();
  d.predicate.resources[1]!.name = d.predicate.resources[0]!.name;
  throwsCode(() => read(withRoot(d)), 'MANIFEST_INVALID');
});

void test('NFC/NFD duplicate names → MANIFEST_INVALID', () => {
  const d = doc();
  d.predicate.resources[1]!.name = 'nai\u0308ve.txt'; // NFD of the fixture's naïve.txt
  const err = throwsCode(() => read(withRoot(d)), 'MANIFEST_INVALID');
  assert.match(err.message, /normalisation/);
});

void test('"." beside other files → MANIFEST_INVALID; "." alone is a single-file model', () => {
  nameProblem('.');
  const d = doc();
  d.predicate.resources = d.predicate.resources.slice(0, 1);
  d.predicate.resources[0]!.name = '.';
  assert.equal(read(withRoot(d)).manifest.resources[0]!.path, '.');
});

void test('unsupported / mismatched resource algorithm → MANIFEST_INVALID', () => {
  for (const alg of ['md5', 'blake2b', 'sha256-sharded-1000', undefined]) {
    const d = doc();
    d.predicate.resources[3]!.algorithm = alg;
    throwsCode(() => read(d), 'MANIFEST_INVALID');
  }
});

void test('digest of the wrong length or not hex → MANIFEST_INVALID', () => {
  for (const digest of ['abc', 'zz'.repeat(32), 'ab'.repeat(64), 5]) {
    const d = doc();
    d.predicate.resources[3]!.digest = digest;
    throwsCode(() => read(d), 'MANIFEST_INVALID');
  }
});

void test('bad shard names → MANIFEST_INVALID', () => {
  const cases = [
    'weights.bin', // no range
    'weights.bin:0', // one part
    'weights.bin:524288:262144', // end before start
    'weights.bin:5:10', // not aligned to the shard size
    'weights.bin:0:300000', // longer than a shard
    'weights.bin:00:262144', // not canonical decimal
    '../w.bin:0:10',
  ];
  for (const name of cases) {
    const d = JSON.parse(keyed('payloads/model.shards-256KiB.payload.json').toString()) as Doc;
    d.predicate.resources[12]!.name = name;
    throwsCode(() => read(withRoot(d)), 'MANIFEST_INVALID');
  }
  const overlap = JSON.parse(keyed('payloads/model.shards-256KiB.payload.json').toString()) as Doc;
  overlap.predicate.resources[12]!.name = 'weights.bin:0:100';
  throwsCode(() => read(withRoot(overlap)), 'MANIFEST_INVALID');
});

void test('bad ignore_paths → MANIFEST_INVALID', () => {
  for (const p of ['../x', '/abs', '.', 5]) {
    const d = doc();
    (d.predicate.serialization.ignore_paths as unknown[]).push(p);
    throwsCode(() => read(d), 'MANIFEST_INVALID');
  }
});

void test('unknown resource fields are ignored (OMS v1.0)', () => {
  const d = doc();
  d.predicate.resources[0]!.size = 22;
  d.predicate.resources[0]!.mediaType = 'text/plain';
  assert.equal(read(d).manifest.resources.length, 11);
});

void test('missing predicate parts → MANIFEST_INVALID', () => {
  const d = doc() as unknown as { predicate: Record<string, unknown> };
  delete d.predicate.resources;
  throwsCode(() => read(d), 'MANIFEST_INVALID');
});

void test('Digests/v0.1: per-file subjects become a files/sha256 manifest in reference order', () => {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [
      {
        name: 'tokenizer.json',
        digest: { sha256: 'aa'.repeat(32) },
        annotations: { actual_hash_algorithm: 'file-sha256' },
      },
      { name: 'tokenizer/vocab.txt', digest: { sha256: 'bb'.repeat(32) } },
    ],
    predicateType: OMS_PREDICATE_TYPE_COMPAT,
    predicate: { unused: 'Unused, just passed due to API requirements' },
  };
  const s = read(statement);
  assert.equal(s.subjectName, COMPAT_MODEL_NAME);
  assert.deepEqual(
    s.manifest.resources.map((r) => r.name),
    ['tokenizer/vocab.txt', 'tokenizer.json'],
  );
  assert.equal(
    s.digest,
    `sha256:${rootDigest([Buffer.from('bb'.repeat(32), 'hex'), Buffer.from('aa'.repeat(32), 'hex')]).toString('hex')}`,
  );
  assert.equal(s.warnings.length, 1);
  statement.subject[1]!.name = '../x';
  throwsCode(() => read(statement), 'MANIFEST_INVALID');
});

void test('statement parsing never throws anything but a CairnError (arbitrary and mutated payloads)', () => {
  const anyJson = fc.jsonValue({ maxDepth: 4 });
  const paths: readonly (readonly (string | number)[])[] = [
    ['_type'],
    ['subject'],
    ['subject', 0],
    ['subject', 0, 'digest'],
    ['predicateType'],
    ['predicate'],
    ['predicate', 'serialization'],
    ['predicate', 'serialization', 'method'],
    ['predicate', 'serialization', 'hash_type'],
    ['predicate', 'serialization', 'shard_size'],
    ['predicate', 'serialization', 'ignore_paths'],
    ['predicate', 'resources'],
    ['predicate', 'resources', 0],
    ['predicate', 'resources', 3, 'name'],
    ['predicate', 'resources', 3, 'digest'],
    ['predicate', 'resources', 3, 'algorithm'],
  ];
  const mutatedDoc = fc.tuple(fc.constantFrom(...paths), anyJson).map(([path, value]) => {
    const d = doc() as unknown as Record<string | number, unknown>;
    let at: Record<string | number, unknown> = d;
    for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
    at[path[path.length - 1]!] = value;
    return Buffer.from(JSON.stringify(d));
  });
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    anyJson.map((v) => Buffer.from(JSON.stringify(v))),
    mutatedDoc,
  );
  fc.assert(
    fc.property(bytes, (b) => {
      try {
        manifestFromStatement(statementFromPayload(b));
      } catch (err) {
        assert.ok(err instanceof CairnError, String(err));
      }
    }),
    { numRuns: 500 },
  );
});

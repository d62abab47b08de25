import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  digestLength,
  formatArtifactDigest,
  isHashAlgorithm,
  rootDigest,
  type ArtifactDigest,
  type HashAlgorithm,
} from '../digest/index.js';
import { InfraError, VerificationError, isCairnError } from '../errors/index.js';
import {
  compareCodePoints,
  parseResourceName,
  pathProblem,
  roleForPath,
  packManifest,
  sortResources,
  unpackManifest,
  type Manifest,
  type PackedManifest,
  type Resource,
  type Serialization,
  type ShardRange,
} from '../manifest/index.js';
import {
  IN_TOTO_STATEMENT_V1,
  MAX_BUNDLE_BYTES,
  MAX_JSON_DEPTH,
  MAX_STATEMENT_SUBJECTS,
  OMS_PREDICATE_TYPE,
  OMS_PREDICATE_TYPE_COMPAT,
} from './constants.js';
import { formatJsonPath, hasOwnProtoKey, isJsonObject, readJsonBytes } from './json-input.js';
import { pythonJsonDumps } from './python-json.js';
import type * as StatementSchema from './statement-schema.js';

let schema: typeof StatementSchema | undefined;
/** The zod schema, loaded on first parse (see statement-schema.ts). */
function statementSchema(): typeof StatementSchema.statementSchema {
  schema ??= createRequire(import.meta.url)('./statement-schema.js') as typeof StatementSchema;
  return schema.statementSchema;
}

export interface InTotoSubject {
  readonly name: string | undefined;
  readonly digest: Readonly<Record<string, string>>;
}

/** An in-toto Statement v1, shape-checked; the predicate is left to its own parser. */
export interface InTotoStatement {
  readonly type: typeof IN_TOTO_STATEMENT_V1;
  readonly subject: readonly InTotoSubject[];
  readonly predicateType: string;
  readonly predicate: Readonly<Record<string, unknown>> | undefined;
}

/** An OMS manifest read from a statement, with its subject digest checked. */
export interface SignedManifest {
  readonly manifest: Manifest;
  /** The subject digest, equal to the root digest over the listed resources. */
  readonly digest: ArtifactDigest;
  readonly subjectName: string;
  readonly predicateType: typeof OMS_PREDICATE_TYPE | typeof OMS_PREDICATE_TYPE_COMPAT;
  /** Compatibility paths taken (legacy predicate). */
  readonly warnings: readonly string[];
}

/** `SignedManifest` with the manifest packed: what verification keeps of a big signature. */
export interface PackedSignedManifest extends Omit<SignedManifest, 'manifest'> {
  readonly manifest: PackedManifest;
}

/** Name the reference gives the model in v0.1 manifests, which carry none. */
export const COMPAT_MODEL_NAME = 'compat-undefined-not-present';

// ── writing ─────────────────────────────────────────────────────────────────────────────

/**
 * The order `ignore_paths` are written in. The reference writes a Python frozenset, whose order
 * is hash-dependent; with the git defaults and `PYTHONHASHSEED=0` it is the order below, which
 * the upstream payload vectors show. We write those four names in that order when present, then
 * every other path by code point, so the same manifest always gives the same bytes and the
 * default case matches the reference byte for byte.
 */
const REFERENCE_GIT_ORDER: readonly string[] = ['.gitattributes', '.github', '.git', '.gitignore'];

export function orderIgnorePaths(paths: readonly string[]): string[] {
  const unique = [...new Set(paths)];
  const git = REFERENCE_GIT_ORDER.filter((p) => unique.includes(p));
  const rest = unique.filter((p) => !REFERENCE_GIT_ORDER.includes(p)).sort(compareCodePoints);
  return [...git, ...rest];
}

/**
 * The OMS v1.0 statement bytes for a manifest, laid out as the reference writes them
 * (`json.dumps(indent=2)`, ASCII-escaped, no trailing newline; statement keys `_type, subject,
 * predicateType, predicate`; predicate keys in the pure-Python protobuf order). Resources are
 * written in the order given and the subject digest is computed over that order. `shard_size` is
 * an integer, as the spec requires (the reference writes a float; both read back the same).
 */
export function serializeOmsStatement(manifest: Manifest, subjectName: string): Buffer {
  const s = manifest.serialization;
  const serialization: Record<string, unknown> = { method: s.method, hash_type: s.hashType };
  if (s.method === 'shards') {
    if (s.shardSize === undefined || !Number.isSafeInteger(s.shardSize) || s.shardSize <= 0) {
      throw new InfraError('INTERNAL', `Shard manifest without a valid shard size`, {
        details: { shardSize: s.shardSize },
      });
    }
    serialization.shard_size = s.shardSize;
  }
  serialization.allow_symlinks = s.allowSymlinks;
  if (s.ignorePaths.length > 0) serialization.ignore_paths = orderIgnorePaths(s.ignorePaths);
  const statement = {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [
      {
        name: subjectName,
        digest: { sha256: rootDigest(manifest.resources.map((r) => r.digest)).toString('hex') },
      },
    ],
    predicateType: OMS_PREDICATE_TYPE,
    predicate: { serialization, resources: [] as unknown[] },
  };
  const resources = manifest.resources;
  if (resources.length === 0) return Buffer.from(pythonJsonDumps(statement), 'ascii');
  // The resources (tens of megabytes of objects and text for a big model) are written a slice at
  // a time between the rest of the document's two halves, in the same bytes as the whole
  // document dumped at once: no object per resource, no whole text, only the bytes returned.
  const marker = `cairn-resources-${randomUUID()}`;
  statement.predicate.resources = [marker];
  const halves = pythonJsonDumps(statement).split(`"${marker}"`);
  if (halves.length !== 2) {
    throw new InfraError('INTERNAL', 'The statement skeleton did not split around its resources');
  }
  const pieces: Buffer[] = [Buffer.from(halves[0]!, 'ascii')];
  for (let from = 0; from < resources.length; from += RESOURCES_PER_SLICE) {
    const slice = resources.slice(from, from + RESOURCES_PER_SLICE).map((r) => ({
      name: r.name,
      algorithm: r.algorithm,
      digest: r.digest.toString('hex'),
    }));
    // `[\n  {…},\n  {…}\n]` at the top level; inside the document the items sit four spaces
    // deeper, after the marker's own indentation, and slices are joined like items.
    const text = pythonJsonDumps(slice);
    const items = text.slice(4, -2).replaceAll('\n', '\n    ');
    pieces.push(Buffer.from(from === 0 ? items : `,\n      ${items}`, 'ascii'));
  }
  pieces.push(Buffer.from(halves[1]!, 'ascii'));
  return Buffer.concat(pieces);
}

/** Resources written per slice by `serializeOmsStatement` (about 150 KB of text). */
const RESOURCES_PER_SLICE = 1024;

// ── reading ─────────────────────────────────────────────────────────────────────────────

function statementInvalid(message: string, details?: Record<string, unknown>): VerificationError {
  return new VerificationError(
    'STATEMENT_INVALID',
    message,
    details === undefined ? {} : { details },
  );
}

/**
 * Parses DSSE payload bytes as an in-toto Statement v1 (STATEMENT_INVALID otherwise), with the
 * same size and depth limits as bundles. The predicate is not interpreted here.
 */
export function statementFromPayload(payload: Uint8Array): InTotoStatement {
  const read = readJsonBytes(payload, { maxBytes: MAX_BUNDLE_BYTES, maxDepth: MAX_JSON_DEPTH });
  if (!read.ok) {
    const f = read.failure;
    switch (f.kind) {
      case 'too-large':
        throw statementInvalid(`The payload is ${f.size} bytes; the limit is ${f.limit}`);
      case 'too-deep':
        throw statementInvalid(`The payload nests JSON deeper than ${f.limit} levels`);
      case 'not-utf8':
        throw statementInvalid('The payload is not UTF-8 text');
      case 'syntax':
        throw statementInvalid(`The payload is not valid JSON: ${f.message}`);
    }
  }
  const value = read.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw statementInvalid('The payload is not a JSON object');
  }
  const type = (value as Record<string, unknown>)._type;
  if (type !== IN_TOTO_STATEMENT_V1) {
    throw statementInvalid(
      `Expected statement type ${IN_TOTO_STATEMENT_V1}, got ${JSON.stringify(type) ?? 'nothing'}`,
      { type },
    );
  }
  const quick = quickStatement(value as Record<string, unknown>);
  if (quick !== undefined) return inTotoStatement(quick);
  const parsed = statementSchema().safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      path: formatJsonPath(i.path),
      message: i.message,
    }));
    throw statementInvalid(
      `The payload is not an in-toto Statement v1: ${issues
        .slice(0, 5)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ')}`,
      { issues },
    );
  }
  return inTotoStatement(parsed.data);
}

type StatementShape = Parameters<typeof inTotoStatement>[0];

/**
 * statement-schema.ts's verdict without loading zod (70–110 ms of every verification here): the
 * statement's own objects when the schema would accept them as they are, or undefined, and then
 * the schema decides and reports the issues. Objects with a `__proto__` key are left to the
 * schema too (zod leaves that key out, unchecked, when copying). Held to the schema's verdicts and
 * output by test/envelope/bundle-quick.test.ts.
 */
export function quickStatement(value: Record<string, unknown>): StatementShape | undefined {
  const { _type: type, subject, predicateType, predicate } = value;
  if (typeof type !== 'string' || typeof predicateType !== 'string') return undefined;
  if (hasOwnProtoKey(value)) return undefined;
  if (predicate !== undefined && (!isJsonObject(predicate) || hasOwnProtoKey(predicate))) {
    return undefined;
  }
  if (!Array.isArray(subject) || subject.length > MAX_STATEMENT_SUBJECTS) return undefined;
  for (const s of subject as unknown[]) {
    if (!isJsonObject(s) || hasOwnProtoKey(s)) return undefined;
    if (s.name !== undefined && typeof s.name !== 'string') return undefined;
    const digest = s.digest;
    if (!isJsonObject(digest) || hasOwnProtoKey(digest)) return undefined;
    for (const key of Object.keys(digest)) if (typeof digest[key] !== 'string') return undefined;
  }
  return {
    subject: subject as StatementShape['subject'],
    predicateType,
    predicate,
  };
}

/** The statement's fields, once their shape is known (checked, or Cairn's own). */
function inTotoStatement(d: {
  readonly subject: readonly {
    readonly name?: string | undefined;
    readonly digest: Record<string, string>;
  }[];
  readonly predicateType: string;
  readonly predicate?: Record<string, unknown> | undefined;
}): InTotoStatement {
  return {
    type: IN_TOTO_STATEMENT_V1,
    subject: d.subject.map((s) => ({ name: s.name, digest: s.digest })),
    predicateType: d.predicateType,
    predicate: d.predicate,
  };
}

/**
 * Reads back a statement Cairn has just written (signing's self-check): the same JSON limits and
 * conversion as `statementFromPayload`, without the zod shape check that untrusted payloads get.
 * `serializeOmsStatement` builds that shape from typed data; what the self-check is for, the OMS
 * content (serialization, every resource, the subject digest), is checked by
 * `manifestFromStatement` exactly as for any bundle. Signing therefore never loads zod (~75 ms
 * of every `cairn sign`, measured).
 */
export function statementFromOwnPayload(payload: Uint8Array): InTotoStatement {
  const read = readJsonBytes(payload, { maxBytes: MAX_BUNDLE_BYTES, maxDepth: MAX_JSON_DEPTH });
  if (!read.ok) throw statementInvalid(`The statement does not read back: ${read.failure.kind}`);
  const value = read.value as {
    _type?: unknown;
    subject?: { name?: string; digest: Record<string, string> }[];
    predicateType?: unknown;
    predicate?: Record<string, unknown>;
  };
  if (
    value._type !== IN_TOTO_STATEMENT_V1 ||
    !Array.isArray(value.subject) ||
    typeof value.predicateType !== 'string'
  ) {
    throw statementInvalid('The statement does not read back as an in-toto Statement v1');
  }
  return inTotoStatement({
    subject: value.subject,
    predicateType: value.predicateType,
    predicate: value.predicate,
  });
}

/**
 * Turns an OMS statement into the signed manifest, checking it as the reference does and more:
 * predicate type (PREDICATE_TYPE_MISMATCH), one sha256 subject (SUBJECT_INVALID), serialization
 * (SERIALIZATION_UNSUPPORTED), every resource name and digest (MANIFEST_INVALID, all problems
 * listed), and the subject digest against the listed resources (SUBJECT_DIGEST_MISMATCH).
 * `Digests/v0.1` statements become a files/sha256 manifest of their per-file subjects.
 */
export function manifestFromStatement(statement: InTotoStatement): SignedManifest {
  const signed = packedManifestFromStatement(statement);
  return { ...signed, manifest: unpackManifest(signed.manifest) };
}

/**
 * `manifestFromStatement` with the manifest packed (see `PackedManifest`): the same checks and
 * errors, without an object or a Buffer per resource.
 */
export function packedManifestFromStatement(statement: InTotoStatement): PackedSignedManifest {
  switch (statement.predicateType) {
    case OMS_PREDICATE_TYPE:
      return manifestV1(statement);
    case OMS_PREDICATE_TYPE_COMPAT: {
      const signed = manifestCompat(statement);
      return { ...signed, manifest: packManifest(signed.manifest) };
    }
    default:
      // Not a switch over a union: predicateType is an arbitrary string from the payload.
      throw new VerificationError(
        'PREDICATE_TYPE_MISMATCH',
        `Predicate type mismatch, expected ${OMS_PREDICATE_TYPE}, got ${statement.predicateType}`,
        { details: { expected: OMS_PREDICATE_TYPE, actual: statement.predicateType } },
      );
  }
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

interface ResourceProblem {
  readonly index: number;
  readonly name: unknown;
  readonly problem: string;
}

function manifestInvalid(problems: readonly ResourceProblem[]): VerificationError {
  const shown = problems
    .slice(0, 5)
    .map(
      (p) => `${typeof p.name === 'string' ? JSON.stringify(p.name) : `#${p.index}`}: ${p.problem}`,
    )
    .join('; ');
  return new VerificationError(
    'MANIFEST_INVALID',
    `The signed manifest has ${problems.length} bad entr${problems.length === 1 ? 'y' : 'ies'}: ${shown}${
      problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''
    }`,
    { details: { problems } },
  );
}

function manifestV1(statement: InTotoStatement): PackedSignedManifest {
  if (statement.subject.length !== 1) {
    throw new VerificationError(
      'SUBJECT_INVALID',
      `Expected only one subject, got ${statement.subject.length}`,
    );
  }
  const subject = statement.subject[0]!;
  const subjectHex = subject.digest.sha256;
  if (subjectHex === undefined || !SHA256_HEX.test(subjectHex)) {
    throw new VerificationError(
      'SUBJECT_INVALID',
      'The subject has no sha256 digest of 64 hex characters',
    );
  }
  if (subject.name === undefined) {
    throw new VerificationError('SUBJECT_INVALID', 'The subject has no name');
  }
  const predicate = statement.predicate;
  const serializationValue = predicate?.serialization;
  const resourcesValue = predicate?.resources;
  if (!isJsonObject(serializationValue) || !Array.isArray(resourcesValue)) {
    throw manifestInvalid([
      {
        index: -1,
        name: undefined,
        problem: 'the predicate needs a serialization object and a resources array',
      },
    ]);
  }
  const problems: ResourceProblem[] = [];
  const serialization = readSerialization(serializationValue, problems);
  const resources = readResources(resourcesValue, serialization, problems);
  if (problems.length > 0) throw manifestInvalid(problems);

  // The digests lie end to end in listed order: hashing the buffer hashes them one by one.
  const computed = rootDigest([resources.digests]).toString('hex');
  const claimed = subjectHex.toLowerCase();
  if (computed !== claimed) {
    throw new VerificationError(
      'SUBJECT_DIGEST_MISMATCH',
      `Manifest is inconsistent. Root digest is ${claimed}, but the included resources hash to ${computed}`,
      { details: { subjectDigest: claimed, resourcesDigest: computed } },
    );
  }
  return {
    manifest: { modelName: subject.name, serialization, ...resources },
    digest: `sha256:${claimed}`,
    subjectName: subject.name,
    predicateType: OMS_PREDICATE_TYPE,
    warnings: [],
  };
}

function manifestCompat(statement: InTotoStatement): SignedManifest {
  if (statement.subject.length === 0) {
    throw new VerificationError('SUBJECT_INVALID', 'The v0.1 statement lists no files');
  }
  const problems: ResourceProblem[] = [];
  const resources: Resource[] = [];
  const indices: number[] = [];
  statement.subject.forEach((s, index) => {
    const hex = s.digest.sha256;
    if (s.name === undefined) problems.push({ index, name: undefined, problem: 'no name' });
    else if (hex === undefined || !SHA256_HEX.test(hex)) {
      problems.push({ index, name: s.name, problem: 'no sha256 digest of 64 hex characters' });
    } else {
      const bad = pathProblem(s.name);
      if (bad !== undefined) problems.push({ index, name: s.name, problem: bad });
      else {
        resources.push(makeResource(s.name, s.name, undefined, 'sha256', hex));
        indices.push(index);
      }
    }
  });
  checkUniqueNames(
    resources.map((r) => r.name),
    indices,
    problems,
  );
  if (problems.length > 0) throw manifestInvalid(problems);
  // v0.1 signs no root digest; compute it over the reference order so it names the same model as
  // a fresh files/sha256 manifest of the same files would.
  const sorted = sortResources(resources);
  return {
    manifest: {
      modelName: COMPAT_MODEL_NAME,
      serialization: {
        method: 'files',
        hashType: 'sha256',
        allowSymlinks: false,
        ignorePaths: [],
      },
      resources: sorted,
    },
    digest: formatArtifactDigest(rootDigest(sorted.map((r) => r.digest))),
    subjectName: COMPAT_MODEL_NAME,
    predicateType: OMS_PREDICATE_TYPE_COMPAT,
    warnings: [
      `legacy predicate ${OMS_PREDICATE_TYPE_COMPAT} (model_signing v0.2): no root digest was signed; the artifact digest was computed from the per-file subjects`,
    ],
  };
}

function unsupported(message: string, details: Record<string, unknown>): VerificationError {
  return new VerificationError('SERIALIZATION_UNSUPPORTED', message, { details });
}

function readSerialization(
  value: Record<string, unknown>,
  problems: ResourceProblem[],
): Serialization {
  const { method, hash_type: hashType, shard_size: shardSize } = value;
  const allowSymlinks = value.allow_symlinks ?? false;
  if (method !== 'files' && method !== 'shards') {
    throw unsupported(`Unknown serialization method ${JSON.stringify(method) ?? 'nothing'}`, {
      method,
    });
  }
  if (!isHashAlgorithm(hashType)) {
    throw unsupported(`Unknown hash type ${JSON.stringify(hashType) ?? 'nothing'}`, { hashType });
  }
  if (typeof allowSymlinks !== 'boolean') {
    throw unsupported('serialization.allow_symlinks must be true or false', { allowSymlinks });
  }
  const ignorePaths: string[] = [];
  const ignored = value.ignore_paths ?? [];
  if (!Array.isArray(ignored)) {
    problems.push({ index: -1, name: 'ignore_paths', problem: 'must be a list of paths' });
  } else {
    ignored.forEach((p: unknown, index) => {
      const bad =
        typeof p !== 'string'
          ? 'not a string'
          : p === '.'
            ? 'would ignore the whole model'
            : pathProblem(p);
      if (bad === undefined) ignorePaths.push(p as string);
      else problems.push({ index, name: p, problem: `ignore path: ${bad}` });
    });
  }
  if (method === 'files') return { method, hashType, allowSymlinks, ignorePaths };
  // The reference writes shard_size as a float (262144.0), which JSON.parse reads as an integer.
  if (typeof shardSize !== 'number' || !Number.isSafeInteger(shardSize) || shardSize <= 0) {
    throw unsupported('serialization.shard_size must be a positive integer for shards', {
      shardSize,
    });
  }
  return { method, hashType, shardSize, allowSymlinks, ignorePaths };
}

function makeResource(
  name: string,
  path: string,
  shard: ShardRange | undefined,
  algorithm: string,
  hex: string,
): Resource {
  const digest = Buffer.from(hex, 'hex');
  const role = roleForPath(path);
  // Literals, not a spread: this runs once per resource, tens of thousands of times.
  return shard === undefined
    ? { name, path, algorithm, digest, role }
    : { name, path, shard, algorithm, digest, role };
}

/** The packed resource table of a manifest (`PackedManifest` without its name and serialization). */
type ResourceTable = Omit<PackedManifest, 'modelName' | 'serialization'>;

/**
 * Reads and checks the listed resources straight into a packed table: every digest written into
 * one buffer, a string per resource only for its name (and its path, for shards).
 */
function readResources(
  values: readonly unknown[],
  serialization: Serialization,
  problems: ResourceProblem[],
): ResourceTable {
  const { method, hashType, shardSize } = serialization;
  const bytes = digestLength(hashType);
  const hexLength = bytes * 2;
  const digestPattern = new RegExp(`^[0-9a-fA-F]{${hexLength}}$`);
  const algorithms = acceptedAlgorithms(method, hashType, shardSize);
  const n = values.length;
  const names: string[] = [];
  const paths: Record<number, string> = {};
  const algorithmIndex = new Uint16Array(n);
  // A plain Uint8Array (what a worker's copy arrives as), written through a Buffer view.
  const digests = new Uint8Array(n * bytes);
  const digestWriter = Buffer.from(digests.buffer);
  const shards = new Float64Array(2 * n).fill(-1);
  const indices: number[] = [];
  values.forEach((value, index) => {
    if (!isJsonObject(value)) {
      problems.push({ index, name: undefined, problem: 'not an object' });
      return;
    }
    // Unknown resource fields are ignored (OMS v1.0 §5.2).
    const { name, algorithm, digest } = value;
    if (typeof name !== 'string') {
      problems.push({ index, name, problem: 'name is not a string' });
      return;
    }
    const before = problems.length;
    let path = name;
    let shard: ShardRange | undefined;
    if (method === 'shards') {
      try {
        const parsed = parseResourceName(name, method);
        path = parsed.path;
        shard = parsed.shard;
      } catch (err) {
        if (!isCairnError(err)) throw err;
        problems.push({ index, name, problem: 'not a shard name (path:start:end)' });
      }
    }
    const bad = pathProblem(path);
    if (bad !== undefined) problems.push({ index, name, problem: bad });
    const algorithmAt = typeof algorithm === 'string' ? algorithms.indexOf(algorithm) : -1;
    if (algorithmAt === -1) {
      problems.push({
        index,
        name,
        problem: `algorithm ${JSON.stringify(algorithm) ?? 'missing'} is not ${algorithms.join(' or ')}`,
      });
    }
    if (typeof digest !== 'string' || !digestPattern.test(digest)) {
      problems.push({ index, name, problem: `digest is not ${hexLength} hex characters` });
    }
    if (shard !== undefined && shardSize !== undefined) {
      if (shard.start % shardSize !== 0 || shard.end - shard.start > shardSize) {
        problems.push({ index, name, problem: `shard range does not fit shard size ${shardSize}` });
      }
    }
    if (problems.length === before) {
      const at = names.length;
      names.push(name);
      if (path !== name) paths[at] = path;
      algorithmIndex[at] = algorithmAt;
      digestWriter.write(digest as string, at * bytes, bytes, 'hex');
      if (shard !== undefined) {
        shards[2 * at] = shard.start;
        shards[2 * at + 1] = shard.end;
      }
      indices.push(index);
    }
  });
  checkUniqueNames(names, indices, problems);
  const count = names.length;
  const pathAt = (i: number): string => paths[i] ?? names[i]!;
  // "." names the model file itself; it cannot sit beside other files.
  let dot = false;
  let other = false;
  for (let i = 0; i < count; i++) {
    if (pathAt(i) === '.') dot = true;
    else other = true;
  }
  if (dot && other) {
    problems.push({ index: -1, name: '.', problem: '"." (single-file model) beside other files' });
  }
  if (method === 'shards') checkShardStarts(names, pathAt, shards, indices, problems);
  const ends = new Uint32Array(count);
  for (let i = 0; i < count; i++) ends[i] = (i + 1) * bytes;
  return {
    names,
    paths,
    algorithms,
    algorithmIndex: algorithmIndex.subarray(0, count),
    digests: digests.subarray(0, count * bytes),
    ends,
    shards: shards.subarray(0, 2 * count),
  };
}

/** Plain `<hash>` (spec) or the reference's `<hash>-sharded-<N>` for shards. */
function acceptedAlgorithms(
  method: Serialization['method'],
  hashType: HashAlgorithm,
  shardSize: number | undefined,
): string[] {
  switch (method) {
    case 'files':
      return [hashType];
    case 'shards':
      return [hashType, `${hashType}-sharded-${shardSize}`];
  }
}

/** Exact duplicates and names equal after NFC (look-alike substitution, DESIGN.md §6). */
function checkUniqueNames(
  names: readonly string[],
  indices: readonly number[],
  problems: ResourceProblem[],
): void {
  const seen = new Map<string, string>();
  names.forEach((name, i) => {
    const index = indices[i] ?? i;
    // ASCII is its own NFC form; normalising only other names keeps big manifests cheap.
    const key = ASCII.test(name) ? name : name.normalize('NFC');
    const first = seen.get(key);
    if (first === undefined) seen.set(key, name);
    else if (first === name) problems.push({ index, name, problem: 'duplicate name' });
    else
      problems.push({
        index,
        name,
        problem: `equal to ${JSON.stringify(first)} after Unicode normalisation (NFC)`,
      });
  });
}

/** Two shards of one file starting at the same offset would overlap. */
function checkShardStarts(
  names: readonly string[],
  pathAt: (i: number) => string,
  shards: Float64Array,
  indices: readonly number[],
  problems: ResourceProblem[],
): void {
  const starts = new Set<string>();
  names.forEach((name, i) => {
    const index = indices[i] ?? i;
    const start = shards[2 * i]!;
    if (start < 0) return;
    const key = `${pathAt(i).normalize('NFC')}\u0000${start}`;
    if (starts.has(key)) problems.push({ index, name, problem: 'overlaps another shard' });
    starts.add(key);
  });
}

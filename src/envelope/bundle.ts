import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { z } from 'zod';
import { InfraError, UsageError, ValidationError, VerificationError } from '../errors/index.js';
import {
  decodeBase64Strict,
  decodeBase64StrictBytes,
  decodeBase64StrictInPlace,
  encodeBase64,
} from './base64.js';
import {
  BUNDLE_MEDIA_TYPE_V03,
  MAX_BUNDLE_BYTES,
  MAX_CHAIN_CERTIFICATES,
  MAX_DSSE_SIGNATURES,
  MAX_JSON_DEPTH,
  MAX_TLOG_ENTRIES,
  isBundleMediaType,
  type BundleMediaType,
} from './constants.js';
import {
  formatJsonPath,
  hasOwnProtoKey,
  isJsonObject,
  readJsonBytes,
  readJsonEliding,
} from './json-input.js';
import type * as BundleSchema from './bundle-schema.js';

let schema: typeof BundleSchema | undefined;
/** The zod schema, loaded on first parse (see bundle-schema.ts). */
function bundleSchema(): typeof BundleSchema.bundleSchema {
  schema ??= createRequire(import.meta.url)('./bundle-schema.js') as typeof BundleSchema;
  return schema.bundleSchema;
}

/** What the bundle says identifies the signer. */
export type VerificationMaterialContent =
  | {
      readonly kind: 'publicKey';
      /** hex SHA-256 of the signer's SPKI PEM text (v1.1+); undefined when absent or null. */
      readonly hint: string | undefined;
      /** v0.3.1–v1.0.x files: base64 of the public key PEM text. */
      readonly legacyRawBytes: Buffer | undefined;
      readonly keyDetails: string | undefined;
    }
  | {
      readonly kind: 'x509CertificateChain';
      /** DER, leaf first. */
      readonly certificates: readonly Buffer[];
    }
  | {
      /** Keyless (Fulcio) leaf certificate, DER. */
      readonly kind: 'certificate';
      readonly rawBytes: Buffer;
    };

export interface DsseSignature {
  readonly sig: Buffer;
  /** Never used for verification; `""` (v1.1+), null (older) or absent (keyless). */
  readonly keyid: string | null | undefined;
}

export interface DsseEnvelope {
  /** The exact decoded payload bytes; signatures are checked over these, never a re-encoding. */
  readonly payload: Buffer;
  readonly payloadType: string;
  readonly signatures: readonly DsseSignature[];
}

/** A Sigstore bundle carrying a DSSE envelope, as read from untrusted JSON. */
export interface SigstoreBundle {
  readonly mediaType: BundleMediaType;
  readonly verificationMaterial: {
    readonly content: VerificationMaterialContent;
    /** Transparency-log entries, shape-checked only (the keyless verifier checks them). */
    readonly tlogEntries: readonly Readonly<Record<string, unknown>>[];
    readonly timestampVerificationData: Readonly<Record<string, unknown>> | undefined;
  };
  readonly dsseEnvelope: DsseEnvelope;
  /**
   * The parsed JSON as read but for `dsseEnvelope.payload`, which is set to null (megabytes of
   * base64 text on a big model; the decoded bytes are in `dsseEnvelope.payload`).
   * `bundleDocument` gives the whole document, for verifiers that need it (keyless).
   */
  readonly jsonWithoutPayload: unknown;
}

/** What `serializeBundle` writes: the reference's key and certificate layouts. */
export interface WritableBundle {
  readonly verificationMaterial:
    | { readonly kind: 'publicKey'; readonly hint: string }
    | { readonly kind: 'x509CertificateChain'; readonly certificates: readonly Uint8Array[] };
  readonly payload: Uint8Array;
  readonly payloadType: string;
  readonly signature: Uint8Array;
}

// ── schema ────────────────────────────────────────────────────────────────────────────────
// Objects that decide what gets verified, or by whom, are strict like the reference's pydantic
// models (`extra="forbid"`): an unknown field there is an error, not something to skip. Log
// entries and timestamps are only shape-checked here; the keyless verifier owns their meaning.

type ParsedBundle = z.output<typeof BundleSchema.bundleSchema>;

export interface BundleIssue {
  readonly path: string;
  readonly message: string;
}

export interface BundleReadOptions {
  /**
   * The caller owns `bytes` and will not read them again: a big bundle's payload may be decoded
   * over its own base64 text, and `dsseEnvelope.payload` is then a view of `bytes`.
   */
  readonly reuseBytes?: boolean;
}

/**
 * Reads a Sigstore bundle from untrusted bytes (STYLE.md §3): size and nesting limits before
 * parsing (BUNDLE_TOO_LARGE, BUNDLE_TOO_DEEP), JSON syntax (BUNDLE_MALFORMED), then a schema that
 * reports every bad field (BUNDLE_INVALID, `details.issues`), then the media type
 * (MEDIA_TYPE_UNSUPPORTED). Accepts what the reference accepts: hint or legacy rawBytes, keyid
 * absent/""/null, tlogEntries absent. Message-signature bundles are refused (BUNDLE_INVALID).
 */
export function bundleFromJSON(bytes: Uint8Array, options: BundleReadOptions = {}): SigstoreBundle {
  const elided =
    bytes.length >= ELIDE_MIN_BYTES
      ? bundleWithPayloadElided(bytes, options.reuseBytes ?? false)
      : undefined;
  if (elided !== undefined) return elided;
  const read = readJsonBytes(bytes, { maxBytes: MAX_BUNDLE_BYTES, maxDepth: MAX_JSON_DEPTH });
  if (!read.ok) {
    const f = read.failure;
    switch (f.kind) {
      case 'too-large':
        throw new ValidationError(
          'BUNDLE_TOO_LARGE',
          `The signature file is ${f.size} bytes; the limit is ${f.limit}`,
          { details: { size: f.size, limit: f.limit } },
        );
      case 'too-deep':
        throw new ValidationError(
          'BUNDLE_TOO_DEEP',
          `The signature file nests JSON deeper than ${f.limit} levels (at byte ${f.offset})`,
          { details: { offset: f.offset, limit: f.limit } },
        );
      case 'not-utf8':
        throw new ValidationError('BUNDLE_MALFORMED', 'The signature file is not UTF-8 text');
      case 'syntax':
        throw new ValidationError(
          'BUNDLE_MALFORMED',
          `The signature file is not valid JSON: ${f.message}`,
        );
    }
  }
  const json = read.value;
  const quick = quickBundle(json);
  if (quick !== undefined) return toBundle(quick, json);
  const parsed = bundleSchema().safeParse(json);
  if (!parsed.success) {
    const issues: BundleIssue[] = parsed.error.issues.map((i) => ({
      path: formatJsonPath(i.path),
      message: i.message,
    }));
    throw new ValidationError(
      'BUNDLE_INVALID',
      `The signature file is not a valid Sigstore bundle: ${issues
        .slice(0, 5)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ')}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`,
      { details: { issues } },
    );
  }
  return toBundle(parsed.data, json);
}

/** Bundles from this size on are first read with their payload's text left out. */
const ELIDE_MIN_BYTES = 256 * 1024;

/**
 * A big bundle (its base64 payload is nearly all of it) read without the payload as text: the
 * rest of the document is parsed with a random placeholder in the payload's place, and the
 * payload is decoded straight from the bytes. Neither the document's text nor the parser's copy
 * of the payload string is made: megabytes less on a model of many files. Only a bundle the fast
 * checks accept outright is read this way — the placeholder must land in `dsseEnvelope.payload`
 * (so the bytes decoded are that value's), the payload must be strict, non-empty base64 — and
 * it then gives the same bundle as the ordinary path; anything else is left to the ordinary path,
 * which gives the verdict and its error.
 */
function bundleWithPayloadElided(
  bytes: Uint8Array,
  reuseBytes: boolean,
): SigstoreBundle | undefined {
  // Unpredictable, so no document can hold it where the payload is expected by design.
  const placeholder = randomBytes(12).toString('base64');
  const read = readJsonEliding(
    bytes,
    { maxBytes: MAX_BUNDLE_BYTES, maxDepth: MAX_JSON_DEPTH },
    'payload',
    placeholder,
  );
  if (read === undefined) return undefined;
  const json = read.value;
  if (!isJsonObject(json) || !isJsonObject(json.dsseEnvelope)) return undefined;
  if (json.dsseEnvelope.payload !== placeholder) return undefined;
  const quick = quickBundle(json);
  if (quick?.dsseEnvelope === undefined || read.elided.length === 0) return undefined;
  // Last: decoding in place changes the bytes, after which the ordinary path could not read them
  // (nothing is written unless the whole payload is strict base64).
  const payload = reuseBytes
    ? decodeBase64StrictInPlace(read.elided)
    : decodeBase64StrictBytes(read.elided);
  if (payload === undefined) return undefined;
  return toBundle({ ...quick, dsseEnvelope: { ...quick.dsseEnvelope, payload } }, json);
}

// ── the schema without zod, for bundles it accepts outright ──────────────────────────────
// Loading zod costs 70–110 ms of CPU here, in every verification. A well-formed bundle needs
// none of it: the functions below apply the same rules as bundle-schema.ts and build the same
// output. Anything they do not accept outright (every error, and a message signature, which
// `toBundle` refuses) goes through the zod schema, which gives the verdict and the issue list.
// Loose objects (log entries, timestamps) with a JSON `__proto__` key are left to the schema as
// well: zod drops that key (unchecked) when it copies them. test/envelope/bundle-quick.test.ts
// holds these functions to the schema's verdicts and outputs.

type Json = Record<string, unknown>;

/** Own keys all in `allowed` (a JSON `__proto__` key never is: the schema path handles it). */
function onlyKeys(value: Json, allowed: readonly string[]): boolean {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) return false;
  return true;
}

const HEX_HINT = /^[0-9a-f]{64}$/;

function quickBase64(value: unknown, nonEmpty: boolean): Buffer | undefined {
  if (typeof value !== 'string') return undefined;
  const bytes = decodeBase64Strict(value);
  return bytes === undefined || (nonEmpty && bytes.length === 0) ? undefined : bytes;
}

function quickCertificate(value: unknown): { rawBytes: Buffer } | undefined {
  if (!isJsonObject(value) || !onlyKeys(value, ['rawBytes'])) return undefined;
  const rawBytes = quickBase64(value.rawBytes, true);
  return rawBytes === undefined ? undefined : { rawBytes };
}

type ParsedMaterial = ParsedBundle['verificationMaterial'];

function quickPublicKey(value: unknown): ParsedMaterial['publicKey'] {
  if (!isJsonObject(value) || !onlyKeys(value, ['hint', 'rawBytes', 'keyDetails'])) {
    return undefined;
  }
  const out: { hint?: string | null; rawBytes?: Buffer; keyDetails?: string } = {};
  const { hint, rawBytes, keyDetails } = value;
  if (hint !== undefined) {
    if (hint !== null && (typeof hint !== 'string' || !HEX_HINT.test(hint))) return undefined;
    out.hint = hint;
  }
  if (rawBytes !== undefined) {
    const bytes = quickBase64(rawBytes, true);
    if (bytes === undefined) return undefined;
    out.rawBytes = bytes;
  }
  if (keyDetails !== undefined) {
    if (typeof keyDetails !== 'string') return undefined;
    out.keyDetails = keyDetails;
  }
  return out;
}

const MATERIAL_KEYS = [
  'publicKey',
  'x509CertificateChain',
  'certificate',
  'tlogEntries',
  'timestampVerificationData',
];

function quickMaterial(value: unknown): ParsedMaterial | undefined {
  if (!isJsonObject(value) || !onlyKeys(value, MATERIAL_KEYS)) return undefined;
  const out: {
    -readonly [K in keyof ParsedMaterial]: ParsedMaterial[K];
  } = {};
  let kinds = 0;
  if (value.publicKey !== undefined) {
    out.publicKey = quickPublicKey(value.publicKey);
    if (out.publicKey === undefined) return undefined;
    kinds++;
  }
  const chain = value.x509CertificateChain;
  if (chain !== undefined) {
    if (!isJsonObject(chain) || !onlyKeys(chain, ['certificates'])) return undefined;
    const certs = chain.certificates;
    if (!Array.isArray(certs) || certs.length < 1 || certs.length > MAX_CHAIN_CERTIFICATES) {
      return undefined;
    }
    const certificates: { rawBytes: Buffer }[] = [];
    for (const c of certs) {
      const cert = quickCertificate(c);
      if (cert === undefined) return undefined;
      certificates.push(cert);
    }
    out.x509CertificateChain = { certificates };
    kinds++;
  }
  if (value.certificate !== undefined) {
    out.certificate = quickCertificate(value.certificate);
    if (out.certificate === undefined) return undefined;
    kinds++;
  }
  if (kinds !== 1) return undefined;
  const { tlogEntries, timestampVerificationData } = value;
  if (tlogEntries !== undefined) {
    if (!Array.isArray(tlogEntries) || tlogEntries.length > MAX_TLOG_ENTRIES) return undefined;
    if (!tlogEntries.every((e) => isJsonObject(e) && !hasOwnProtoKey(e))) return undefined;
    out.tlogEntries = tlogEntries;
  }
  if (timestampVerificationData !== undefined) {
    if (!isJsonObject(timestampVerificationData) || hasOwnProtoKey(timestampVerificationData)) {
      return undefined;
    }
    out.timestampVerificationData = timestampVerificationData;
  }
  return out;
}

type ParsedEnvelope = NonNullable<ParsedBundle['dsseEnvelope']>;

function quickEnvelope(value: unknown): ParsedEnvelope | undefined {
  if (!isJsonObject(value) || !onlyKeys(value, ['payload', 'payloadType', 'signatures'])) {
    return undefined;
  }
  const { payloadType, signatures } = value;
  if (typeof payloadType !== 'string') return undefined;
  if (
    !Array.isArray(signatures) ||
    signatures.length < 1 ||
    signatures.length > MAX_DSSE_SIGNATURES
  ) {
    return undefined;
  }
  const sigs: ParsedEnvelope['signatures'][number][] = [];
  for (const entry of signatures) {
    if (!isJsonObject(entry) || !onlyKeys(entry, ['sig', 'keyid'])) return undefined;
    const sig = quickBase64(entry.sig, true);
    const keyid = entry.keyid;
    if (sig === undefined) return undefined;
    if (keyid === undefined) sigs.push({ sig });
    else if (keyid === null || typeof keyid === 'string') sigs.push({ sig, keyid });
    else return undefined;
  }
  // Last: the payload is most of a big bundle's bytes.
  const payload = quickBase64(value.payload, false);
  return payload === undefined ? undefined : { payload, payloadType, signatures: sigs };
}

/** bundle-schema.ts's output for `json`, or undefined: then the schema decides. */
export function quickBundle(json: unknown): ParsedBundle | undefined {
  if (
    !isJsonObject(json) ||
    !onlyKeys(json, ['mediaType', 'verificationMaterial', 'dsseEnvelope'])
  ) {
    return undefined;
  }
  const { mediaType } = json;
  if (typeof mediaType !== 'string') return undefined;
  const verificationMaterial = quickMaterial(json.verificationMaterial);
  if (verificationMaterial === undefined) return undefined;
  const dsseEnvelope = quickEnvelope(json.dsseEnvelope);
  return dsseEnvelope === undefined ? undefined : { mediaType, verificationMaterial, dsseEnvelope };
}

function toBundle(data: ParsedBundle, json: unknown): SigstoreBundle {
  if (data.dsseEnvelope === undefined) {
    const issue =
      data.messageSignature === undefined
        ? { path: 'dsseEnvelope', message: 'is required' }
        : {
            path: 'messageSignature',
            message: 'message-signature bundles are not OMS signatures (OMS uses a DSSE envelope)',
          };
    throw new ValidationError('BUNDLE_INVALID', `The signature file ${issue.message}`, {
      details: { issues: [issue] },
      hint: 'OMS signatures are Sigstore bundles with a dsseEnvelope; sign the model with `cairn sign`.',
    });
  }
  if (data.messageSignature !== undefined) {
    const issue = { path: 'messageSignature', message: 'must not appear beside dsseEnvelope' };
    throw new ValidationError('BUNDLE_INVALID', `The signature file ${issue.message}`, {
      details: { issues: [issue] },
    });
  }
  if (!isBundleMediaType(data.mediaType)) {
    throw new VerificationError(
      'MEDIA_TYPE_UNSUPPORTED',
      `Unknown bundle media type ${JSON.stringify(data.mediaType)}`,
      { details: { mediaType: data.mediaType } },
    );
  }
  const vm = data.verificationMaterial;
  let content: VerificationMaterialContent;
  if (vm.publicKey !== undefined) {
    content = {
      kind: 'publicKey',
      hint: vm.publicKey.hint ?? undefined,
      legacyRawBytes: vm.publicKey.rawBytes,
      keyDetails: vm.publicKey.keyDetails,
    };
  } else if (vm.x509CertificateChain !== undefined) {
    content = {
      kind: 'x509CertificateChain',
      certificates: vm.x509CertificateChain.certificates.map((c) => c.rawBytes),
    };
  } else {
    // The schema guarantees exactly one of the three.
    content = { kind: 'certificate', rawBytes: vm.certificate!.rawBytes };
  }
  const env = data.dsseEnvelope;
  return {
    mediaType: data.mediaType,
    verificationMaterial: {
      content,
      tlogEntries: vm.tlogEntries ?? [],
      timestampVerificationData: vm.timestampVerificationData,
    },
    dsseEnvelope: {
      payload: env.payload,
      payloadType: env.payloadType,
      signatures: env.signatures.map((s) => ({ sig: s.sig, keyid: s.keyid })),
    },
    jsonWithoutPayload: withoutPayload(json),
  };
}

/**
 * Drops the payload's base64 text from the parsed document (in place: the document is the
 * parser's own), so nothing holds it besides the decoded bytes.
 */
function withoutPayload(json: unknown): unknown {
  if (isJsonObject(json) && isJsonObject(json.dsseEnvelope)) json.dsseEnvelope.payload = null;
  return json;
}

/**
 * The bundle's whole JSON document as read. The payload text is the decoded payload encoded
 * again, which is the text read: only canonical base64 is accepted (`decodeBase64Strict`).
 */
export function bundleDocument(bundle: SigstoreBundle): unknown {
  const json = bundle.jsonWithoutPayload;
  if (!isJsonObject(json) || !isJsonObject(json.dsseEnvelope)) return json;
  return {
    ...json,
    dsseEnvelope: { ...json.dsseEnvelope, payload: encodeBase64(bundle.dsseEnvelope.payload) },
  };
}

/** Length of the standard padded base64 of `bytes` bytes. */
function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

/**
 * Refuses to write a bundle that verification would refuse as too large (MAX_BUNDLE_BYTES): the
 * statement of a model of some 70,000 files or more does not fit. `size` is the bundle's length.
 */
function checkBundleSize(size: number): void {
  if (size <= MAX_BUNDLE_BYTES) return;
  throw new UsageError(
    'SIGNATURE_TOO_LARGE',
    `The signature would be ${size} bytes; verification accepts at most ${MAX_BUNDLE_BYTES}`,
    { details: { size, limit: MAX_BUNDLE_BYTES } },
  );
}

/**
 * Fails early, before anything is signed, when a payload of `payloadBytes` cannot fit in a bundle
 * (its base64 alone is over the limit). `serializeBundle` checks the exact size.
 */
export function checkBundlePayloadSize(payloadBytes: number): void {
  checkBundleSize(base64Length(payloadBytes));
}

/**
 * The exact bytes the reference writes for key and certificate bundles: compact JSON in a fixed
 * key order, `tlogEntries: []`, `keyid: ""`, standard padded base64, no trailing newline.
 */
export function serializeBundle(bundle: WritableBundle): Buffer {
  const material = bundle.verificationMaterial;
  let content: Record<string, unknown>;
  switch (material.kind) {
    case 'publicKey':
      content = { publicKey: { hint: material.hint } };
      break;
    case 'x509CertificateChain':
      content = {
        x509CertificateChain: {
          certificates: material.certificates.map((c) => ({ rawBytes: encodeBase64(c) })),
        },
      };
      break;
  }
  // The payload (megabytes for a big model) is base64-encoded straight into the output, a slice
  // at a time: no whole base64 string, and no JSON text holding it, besides the bytes returned.
  const marker = `cairn-payload-${randomUUID()}`;
  const doc = {
    mediaType: BUNDLE_MEDIA_TYPE_V03,
    verificationMaterial: { ...content, tlogEntries: [] },
    dsseEnvelope: {
      payload: marker,
      payloadType: bundle.payloadType,
      signatures: [{ sig: encodeBase64(bundle.signature), keyid: '' }],
    },
  };
  const [head, tail] = JSON.stringify(doc).split(marker) as [string, string];
  const payload = Buffer.from(
    bundle.payload.buffer,
    bundle.payload.byteOffset,
    bundle.payload.byteLength,
  );
  const size = Buffer.byteLength(head) + base64Length(payload.length) + Buffer.byteLength(tail);
  checkBundleSize(size);
  const out = Buffer.allocUnsafe(size);
  let at = out.write(head, 0, 'utf8');
  for (let from = 0; from < payload.length; from += BASE64_SLICE_BYTES) {
    at += out.write(payload.toString('base64', from, from + BASE64_SLICE_BYTES), at, 'latin1');
  }
  at += out.write(tail, at, 'utf8');
  if (at !== out.length) {
    throw new InfraError('INTERNAL', `Bundle serialization wrote ${at} of ${out.length} bytes`);
  }
  return out;
}

/** Payload bytes base64-encoded per slice: a multiple of 3, so no slice but the last is padded. */
const BASE64_SLICE_BYTES = 3 * 64 * 1024;

import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import type { z } from 'zod';
import {
  OMS_PREDICATE_TYPE,
  decodeBase64Strict,
  encodeBase64,
  pae,
  readJsonBytes,
} from '../envelope/index.js';
import { constantTimeEqual, hashBytes } from '../digest/index.js';
import { UsageError, ValidationError, VerificationError } from '../errors/index.js';
import { supportedKeyType, verifySignature } from './algorithms.js';
import { parseCertificates } from './certificates.js';
import { publicKeyDer, publicKeyHint } from './key-material.js';
import type { KeyType, Signer } from './types.js';
import {
  MAX_DEPTH,
  TRUST_ROOT_CHECKPOINT_MEDIA_TYPE,
  TRUST_ROOT_PAYLOAD_TYPE,
} from './trust-root-limits.js';
import type * as Schemas from './trust-root-schema.js';

export { TRUST_ROOT_CHECKPOINT_MEDIA_TYPE, TRUST_ROOT_PAYLOAD_TYPE } from './trust-root-limits.js';

let schemas: typeof Schemas | undefined;
/** The zod schemas, loaded on first parse (see trust-root-schema.ts). */
function schema(): typeof Schemas {
  schemas ??= createRequire(import.meta.url)('./trust-root-schema.js') as typeof Schemas;
  return schemas;
}

/**
 * Cairn's trust root: a versioned JSON document listing who may sign what, in a DSSE envelope
 * signed by a threshold of root keys (TUF's root role, for model signers). Format: docs/trust.md.
 *
 * Rules enforced here:
 * - thresholds count distinct keys (by SPKI), however many signatures one key made;
 * - a new version must be higher than the trusted one and be signed by a threshold of the
 *   previous version's root keys AND of its own;
 * - unknown fields anywhere in the document or envelope are refused, every bad path reported;
 * - a key or identity may appear in one signer entry only (no overlapping grants to resolve);
 * - thresholds over model signatures count distinct signers, a rotated key and its successor
 *   (`replaces`) being one signer;
 * - a verifier that remembers the last trust root it accepted (a checkpoint) refuses older ones.
 */

export const TRUST_ROOT_MAX_BYTES = 1024 * 1024;
export type TrustRootDocument = z.output<typeof Schemas.documentSchema>;
export type TrustedSigner = TrustRootDocument['signers'][number];
export type SignerIdentity = TrustedSigner['identity'];
export type SignerScopes = TrustedSigner['scopes'];
export type RootKeyEntry = TrustRootDocument['root']['keys'][number];

export interface TrustRootIssue {
  readonly path: string;
  readonly message: string;
}

/** A trust root whose signatures were checked: the document plus who signed it. */
export interface TrustRoot {
  readonly document: TrustRootDocument;
  /** The exact payload bytes that were signed. */
  readonly payload: Buffer;
  /** Distinct root key ids whose signatures verified, sorted. */
  readonly signedBy: readonly string[];
}

function pathOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

function invalidRoot(issues: readonly TrustRootIssue[]): ValidationError {
  const shown = issues
    .slice(0, 5)
    .map((i) => `${i.path}: ${i.message}`)
    .join('; ');
  return new ValidationError(
    'TRUST_ROOT_INVALID',
    `The trust root is not valid: ${shown}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`,
    { details: { issues } },
  );
}

function keyFromPem(text: string): KeyObject | undefined {
  try {
    const key = createPublicKey(text);
    return supportedKeyType(key) === undefined ? undefined : key;
  } catch {
    return undefined;
  }
}

/**
 * Validates an untrusted trust root document: the schema (strict: unknown fields are refused),
 * then the rules the schema cannot express. Every problem is collected; TRUST_ROOT_INVALID lists
 * them all in `details.issues`.
 */
export function trustRootDocumentFromJSON(input: unknown): TrustRootDocument {
  const parsed = schema().documentSchema.safeParse(input);
  if (!parsed.success) {
    throw invalidRoot(
      parsed.error.issues.map((i) => ({ path: pathOf(i.path), message: i.message })),
    );
  }
  const doc = parsed.data;
  const issues: TrustRootIssue[] = [];
  const seenRootKeys = new Map<string, number>();
  doc.root.keys.forEach((k, i) => {
    const key = keyFromPem(k.publicKey);
    if (key === undefined) {
      issues.push({ path: `root.keys[${i}].publicKey`, message: 'not a supported public key' });
      return;
    }
    if (publicKeyHint(key) !== k.keyid) {
      issues.push({ path: `root.keys[${i}].keyid`, message: 'is not the SHA-256 of the key PEM' });
    }
    const der = publicKeyDer(key).toString('hex');
    const first = seenRootKeys.get(der);
    if (first !== undefined) {
      issues.push({ path: `root.keys[${i}]`, message: `duplicates root.keys[${first}]` });
    } else seenRootKeys.set(der, i);
  });
  if (doc.root.threshold > doc.root.keys.length) {
    issues.push({ path: 'root.threshold', message: 'is larger than the number of root keys' });
  }
  const ids = new Map<string, number>();
  const identities = new Map<string, number>();
  doc.signers.forEach((s, i) => {
    const at = `signers[${i}]`;
    const firstId = ids.get(s.id);
    if (firstId !== undefined) {
      issues.push({ path: `${at}.id`, message: `duplicates signers[${firstId}].id` });
    } else ids.set(s.id, i);
    let identityKey: string;
    switch (s.identity.kind) {
      case 'key': {
        const key = keyFromPem(s.identity.publicKey);
        if (key === undefined) {
          issues.push({ path: `${at}.identity.publicKey`, message: 'not a supported public key' });
          return;
        }
        if (publicKeyHint(key) !== s.identity.keyid) {
          issues.push({
            path: `${at}.identity.keyid`,
            message: 'is not the SHA-256 of the key PEM',
          });
        }
        identityKey = `key:${publicKeyDer(key).toString('hex')}`;
        break;
      }
      case 'certificate':
        (s.identity.roots ?? []).forEach((r, j) => {
          if (!certificateParses(r)) {
            issues.push({
              path: `${at}.identity.roots[${j}]`,
              message: 'is not a parsable certificate',
            });
          }
        });
        identityKey = `certificate:${JSON.stringify([s.identity.subject, s.identity.issuer])}`;
        break;
      case 'keyless':
        identityKey = `keyless:${JSON.stringify([s.identity.identity, s.identity.issuer])}`;
        break;
    }
    // One entry per key or identity: two entries would overlap, and which scope or window
    // applies would depend on lookup order.
    const firstIdentity = identities.get(identityKey);
    if (firstIdentity !== undefined) {
      issues.push({
        path: `${at}.identity`,
        message: `the same key or identity is already granted by signers[${firstIdentity}]`,
      });
    } else identities.set(identityKey, i);
    for (const list of ['repositories', 'environments', 'predicateTypes'] as const) {
      const seen = new Set<string>();
      s.scopes[list].forEach((p, j) => {
        if (seen.has(p)) {
          issues.push({ path: `${at}.scopes.${list}[${j}]`, message: `repeats "${p}"` });
        }
        seen.add(p);
      });
    }
    if (s.notAfter !== undefined && Date.parse(s.notAfter) <= Date.parse(s.notBefore)) {
      issues.push({ path: `${at}.notAfter`, message: 'must be after notBefore' });
    }
    if (s.status === 'revoked' && s.revocation === undefined) {
      issues.push({
        path: `${at}.revocation`,
        message: 'a revoked signer needs a revocation record',
      });
    }
    if (s.status === 'active' && s.revocation !== undefined) {
      issues.push({
        path: `${at}.revocation`,
        message: 'an active signer has no revocation record',
      });
    }
  });
  doc.signers.forEach((s, i) => {
    if (s.replaces === undefined) return;
    if (!ids.has(s.replaces) || s.replaces === s.id) {
      issues.push({
        path: `signers[${i}].replaces`,
        message: `names no other signer ("${s.replaces}")`,
      });
    } else if (principalOf(doc, s.id) === undefined) {
      issues.push({ path: `signers[${i}].replaces`, message: 'forms a cycle' });
    }
  });
  if (issues.length > 0) throw invalidRoot(issues);
  return doc;
}

function certificateParses(pemText: string): boolean {
  try {
    return parseCertificates(Buffer.from(pemText)).length === 1;
  } catch {
    return false;
  }
}

/**
 * The first signer of `id`'s rotation line (following `replaces`), which is what a threshold
 * counts: a rotated key and its successor are one signer. Undefined for a cycle or unknown id.
 */
function principalOf(doc: TrustRootDocument, id: string): string | undefined {
  const byId = new Map(doc.signers.map((s) => [s.id, s]));
  let current = byId.get(id);
  for (let steps = 0; current !== undefined && steps <= doc.signers.length; steps++) {
    if (current.replaces === undefined) return current.id;
    current = byId.get(current.replaces);
  }
  return undefined;
}

// ── envelope ────────────────────────────────────────────────────────────────────────────

interface ParsedEnvelope {
  readonly document: TrustRootDocument;
  readonly payload: Buffer;
  readonly signatures: readonly { readonly keyid: string; readonly sig: Buffer }[];
}

/** Reads a trust root file's envelope and document without checking any signature. */
export function readTrustRootUnverified(bytes: Uint8Array): ParsedEnvelope {
  const read = readJsonBytes(bytes, { maxBytes: TRUST_ROOT_MAX_BYTES, maxDepth: MAX_DEPTH });
  if (!read.ok) {
    throw new ValidationError(
      'TRUST_ROOT_MALFORMED',
      `The trust root file cannot be read (${read.failure.kind})`,
      {
        details: { failure: read.failure },
      },
    );
  }
  const env = schema().envelopeSchema.safeParse(read.value);
  if (!env.success) {
    throw invalidRoot(
      env.error.issues.map((i) => ({ path: `envelope.${pathOf(i.path)}`, message: i.message })),
    );
  }
  const payload = decodeBase64Strict(env.data.payload);
  const issues: TrustRootIssue[] = [];
  if (payload === undefined) issues.push({ path: 'envelope.payload', message: 'is not base64' });
  const signatures = env.data.signatures.map((s, i) => {
    const sig = decodeBase64Strict(s.sig);
    if (sig === undefined)
      issues.push({ path: `envelope.signatures[${i}].sig`, message: 'is not base64' });
    return { keyid: s.keyid, sig: sig ?? Buffer.alloc(0) };
  });
  if (issues.length > 0 || payload === undefined) throw invalidRoot(issues);
  const inner = readJsonBytes(payload, { maxBytes: TRUST_ROOT_MAX_BYTES, maxDepth: MAX_DEPTH });
  if (!inner.ok) {
    throw new ValidationError(
      'TRUST_ROOT_MALFORMED',
      `The trust root payload cannot be read (${inner.failure.kind})`,
      {
        details: { failure: inner.failure },
      },
    );
  }
  return { document: trustRootDocumentFromJSON(inner.value), payload, signatures };
}

/** The distinct root keys (by SPKI) among `keys` whose signature over the payload verifies. */
function distinctSigners(envelope: ParsedEnvelope, keys: readonly RootKeyEntry[]): string[] {
  const message = pae(TRUST_ROOT_PAYLOAD_TYPE, envelope.payload);
  const byId = new Map(keys.map((k) => [k.keyid, k]));
  const verified = new Set<string>();
  for (const s of envelope.signatures) {
    const entry = byId.get(s.keyid);
    if (entry === undefined || verified.has(entry.keyid)) continue;
    const key = keyFromPem(entry.publicKey);
    if (key !== undefined && verifySignature(key, message, s.sig)) verified.add(entry.keyid);
  }
  // keyids are hashes of the keys and duplicate keys are refused, so distinct ids are distinct keys.
  return [...verified].sort();
}

export interface VerifyTrustRootOptions {
  /**
   * The trust root already trusted. When given, the new one must have a higher version and be
   * signed by a threshold of this one's root keys as well as its own.
   */
  readonly previous?: TrustRoot;
  /**
   * What the verifier remembers of the last trust root it accepted (`trustRootCheckpoint`). An
   * older version is refused; the same version must be the same document; a newer one must be
   * signed by a threshold of the remembered version's root keys as well as its own.
   */
  readonly checkpoint?: TrustRootCheckpoint;
}

/** The highest trust root version a verifier has accepted from one location, and its root keys. */
export type TrustRootCheckpoint = z.output<typeof Schemas.checkpointSchema>;

/** Validates a stored checkpoint (untrusted bytes on disk): strict, every bad path listed. */
export function trustRootCheckpointFromJSON(input: unknown): TrustRootCheckpoint {
  const parsed = schema().checkpointSchema.safeParse(input);
  if (!parsed.success) {
    throw new ValidationError(
      'TRUST_ROOT_STATE_INVALID',
      'The trust root checkpoint is not valid',
      {
        details: {
          issues: parsed.error.issues.map((i) => ({ path: pathOf(i.path), message: i.message })),
        },
      },
    );
  }
  return parsed.data;
}

/** The checkpoint to remember after accepting `root` from `location`. */
export function trustRootCheckpoint(
  root: TrustRoot,
  location: string,
  at: Date,
): TrustRootCheckpoint {
  return {
    mediaType: TRUST_ROOT_CHECKPOINT_MEDIA_TYPE,
    location,
    version: root.document.version,
    payloadSha256: hashBytes('sha256', root.payload).toString('hex'),
    root: root.document.root,
    recordedAt: isoTime(at),
  };
}

/**
 * Verifies a trust root file: structure, then a threshold of distinct root keys of its own
 * (TRUST_ROOT_SIGNATURE_INVALID), then, against a previous version or a checkpoint, rollback
 * (TRUST_ROOT_ROLLBACK) and the earlier version's threshold. A root with neither is trusted on
 * first use: pin it out of band (docs/trust.md).
 */
export function verifyTrustRoot(
  bytes: Uint8Array,
  options: VerifyTrustRootOptions = {},
): TrustRoot {
  const envelope = readTrustRootUnverified(bytes);
  const doc = envelope.document;
  const own = distinctSigners(envelope, doc.root.keys);
  if (own.length < doc.root.threshold) {
    throw new VerificationError(
      'TRUST_ROOT_SIGNATURE_INVALID',
      `Trust root v${doc.version} has ${own.length} valid signature(s) from distinct root keys; ${doc.root.threshold} needed`,
      { details: { version: doc.version, valid: own.length, threshold: doc.root.threshold } },
    );
  }
  const previous = options.previous;
  if (previous !== undefined) {
    checkSuccession(envelope, previous.document.version, previous.document.root, 'previous');
  }
  const checkpoint = options.checkpoint;
  if (checkpoint !== undefined) {
    const sameDocument = constantTimeEqual(
      hashBytes('sha256', envelope.payload),
      Buffer.from(checkpoint.payloadSha256, 'hex'),
    );
    if (doc.version === checkpoint.version && !sameDocument) {
      throw new VerificationError(
        'TRUST_ROOT_ROLLBACK',
        `Trust root v${doc.version} differs from the v${checkpoint.version} accepted before at ${checkpoint.recordedAt}`,
        {
          details: { version: doc.version, trusted: checkpoint.version, reason: 'same-version' },
          hint: 'Two different documents carry one version: the root keys may be misused. Find out which one is genuine before trusting either.',
        },
      );
    }
    if (doc.version !== checkpoint.version) {
      checkSuccession(envelope, checkpoint.version, checkpoint.root, 'checkpoint');
    }
  }
  return { document: doc, payload: envelope.payload, signedBy: own };
}

/** A newer version than `trustedVersion`, signed by a threshold of the trusted root keys too. */
function checkSuccession(
  envelope: ParsedEnvelope,
  trustedVersion: number,
  trustedRoot: TrustRootDocument['root'],
  against: 'previous' | 'checkpoint',
): void {
  const version = envelope.document.version;
  if (version <= trustedVersion) {
    throw new VerificationError(
      'TRUST_ROOT_ROLLBACK',
      `Trust root v${version} is not newer than the trusted v${trustedVersion}`,
      { details: { version, trusted: trustedVersion, against } },
    );
  }
  const old = distinctSigners(envelope, trustedRoot.keys);
  if (old.length < trustedRoot.threshold) {
    throw new VerificationError(
      'TRUST_ROOT_SIGNATURE_INVALID',
      `Trust root v${version} is signed by ${old.length} of the root keys of the trusted v${trustedVersion}; ${trustedRoot.threshold} needed`,
      {
        details: {
          version,
          trustedVersion,
          validPrevious: old.length,
          thresholdPrevious: trustedRoot.threshold,
          against,
        },
        ...(against === 'checkpoint' && version > trustedVersion + 1
          ? {
              hint: `Versions between v${trustedVersion} and v${version} were skipped and the root keys changed: check each step with \`cairn trust verify vN --previous vN-1\`, then remove the checkpoint to trust v${version}.`,
            }
          : {}),
      },
    );
  }
}

/**
 * Signs a trust root document with the given root signers (file keys or PKCS#11 tokens) and
 * returns the envelope bytes. Each signer's key id is its public key hint. It does not check the
 * threshold: verify the result (with the previous version) before writing it.
 */
export async function signTrustRoot(
  document: TrustRootDocument,
  signers: readonly Signer[],
): Promise<Buffer> {
  const doc = trustRootDocumentFromJSON(document);
  const payload = Buffer.from(`${JSON.stringify(doc, null, 2)}\n`);
  const message = pae(TRUST_ROOT_PAYLOAD_TYPE, payload);
  const signatures: { keyid: string; sig: string }[] = [];
  const seen = new Set<string>();
  for (const signer of signers) {
    const kid = publicKeyHint(signer.publicKey);
    if (seen.has(kid)) continue;
    seen.add(kid);
    signatures.push({ keyid: kid, sig: encodeBase64(await signer.sign(message)) });
  }
  const envelope = {
    payloadType: TRUST_ROOT_PAYLOAD_TYPE,
    payload: encodeBase64(payload),
    signatures,
  };
  return Buffer.from(`${JSON.stringify(envelope, null, 2)}\n`);
}

// ── building and changing a trust root ──────────────────────────────────────────────────

/** A root-key or signer-key entry for a public key: its key id (hint) and SPKI PEM. */
export function keyEntry(key: KeyObject): { keyid: string; publicKey: string } {
  const spki = key.type === 'private' ? createPublicKey(key) : key;
  return {
    keyid: publicKeyHint(spki),
    publicKey: spki.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** Version 1: the root keys and threshold, no signers yet. */
export function initialTrustRoot(
  rootKeys: readonly KeyObject[],
  threshold: number,
  at: Date,
): TrustRootDocument {
  return trustRootDocumentFromJSON({
    mediaType: TRUST_ROOT_PAYLOAD_TYPE,
    version: 1,
    issuedAt: isoTime(at),
    root: { threshold, keys: rootKeys.map(keyEntry) },
    signers: [],
  });
}

export interface NewSigner {
  readonly id: string;
  readonly identity:
    | { readonly kind: 'key'; readonly publicKey: KeyObject }
    | {
        readonly kind: 'certificate';
        readonly subject: string;
        readonly issuer: string;
        /** PEM CA roots the chain must lead to (else the verifier gives them). */
        readonly roots?: readonly string[];
      }
    | { readonly kind: 'keyless'; readonly identity: string; readonly issuer: string };
  readonly repositories: readonly string[];
  readonly environments: readonly string[];
  /** Default: the OMS signature predicate only. */
  readonly predicateTypes?: readonly string[];
  /** Default: the change time. */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

function signerEntry(s: NewSigner, at: Date): TrustedSigner {
  let identity: SignerIdentity;
  switch (s.identity.kind) {
    case 'key':
      identity = { kind: 'key', ...keyEntry(s.identity.publicKey) };
      break;
    case 'certificate': {
      const { roots, ...rest } = s.identity;
      identity = { ...rest, ...(roots === undefined ? {} : { roots: [...roots] }) };
      break;
    }
    case 'keyless':
      identity = { ...s.identity };
      break;
  }
  return {
    id: s.id,
    identity,
    scopes: {
      repositories: [...s.repositories],
      environments: [...s.environments],
      predicateTypes: [...(s.predicateTypes ?? [OMS_PREDICATE_TYPE])],
    },
    notBefore: isoTime(s.notBefore ?? at),
    ...(s.notAfter === undefined ? {} : { notAfter: isoTime(s.notAfter) }),
    status: 'active',
  };
}

/** The next version with `change` applied; validated, so a bad change never gets signed. */
function nextVersion(
  doc: TrustRootDocument,
  at: Date,
  change: (signers: TrustedSigner[]) => TrustedSigner[],
): TrustRootDocument {
  const next = {
    ...doc,
    version: doc.version + 1,
    issuedAt: isoTime(at),
    signers: change(doc.signers.map((s) => ({ ...s }))),
  };
  return validatedChange(next);
}

/** A changed document, validated as a whole; a bad change is the caller's usage error. */
function validatedChange(next: unknown): TrustRootDocument {
  try {
    return trustRootDocumentFromJSON(next);
  } catch (err) {
    if (err instanceof ValidationError) {
      throw new UsageError('TRUST_ROOT_CHANGE_INVALID', err.message, {
        cause: err,
        ...(err.details === undefined ? {} : { details: err.details }),
      });
    }
    throw err;
  }
}

function indexOfSigner(doc: TrustRootDocument, id: string): number {
  const i = doc.signers.findIndex((s) => s.id === id);
  if (i === -1) {
    throw new UsageError('TRUST_ROOT_CHANGE_INVALID', `No signer "${id}" in the trust root`, {
      details: { signer: id },
    });
  }
  return i;
}

export function addSigner(doc: TrustRootDocument, signer: NewSigner, at: Date): TrustRootDocument {
  if (doc.signers.some((s) => s.id === signer.id)) {
    throw new UsageError('TRUST_ROOT_CHANGE_INVALID', `Signer "${signer.id}" already exists`, {
      hint: 'Choose another --id, or use `cairn trust rotate` to replace its key.',
    });
  }
  return nextVersion(doc, at, (signers) => [...signers, signerEntry(signer, at)]);
}

/**
 * Rotation: the new key joins with the old signer's scopes (unless given), and the old signer's
 * notAfter becomes `oldNotAfter` (default: now), so signatures it makes after that fail.
 */
export function rotateSigner(
  doc: TrustRootDocument,
  oldId: string,
  replacement: Omit<NewSigner, 'repositories' | 'environments'> &
    Partial<Pick<NewSigner, 'repositories' | 'environments'>>,
  at: Date,
  oldNotAfter: Date = at,
): TrustRootDocument {
  const i = indexOfSigner(doc, oldId);
  const old = doc.signers[i]!;
  if (old.status === 'revoked') {
    throw new UsageError(
      'TRUST_ROOT_CHANGE_INVALID',
      `Signer "${oldId}" is revoked; add a new signer instead`,
    );
  }
  if (Date.parse(isoTime(oldNotAfter)) <= Date.parse(old.notBefore)) {
    throw new UsageError('TRUST_ROOT_CHANGE_INVALID', 'The old key would end before it started');
  }
  const entry: TrustedSigner = {
    ...signerEntry(
      {
        ...replacement,
        repositories: replacement.repositories ?? old.scopes.repositories,
        environments: replacement.environments ?? old.scopes.environments,
        predicateTypes: replacement.predicateTypes ?? old.scopes.predicateTypes,
      },
      at,
    ),
    replaces: oldId,
  };
  return nextVersion(doc, at, (signers) => {
    const current = signers[i]!;
    const end = isoTime(oldNotAfter);
    signers[i] =
      current.notAfter !== undefined && Date.parse(current.notAfter) < Date.parse(end)
        ? current
        : { ...current, notAfter: end };
    return [...signers, entry];
  });
}

export function revokeSigner(
  doc: TrustRootDocument,
  id: string,
  revocation: { readonly reason: string; readonly compromisedSince: Date },
  at: Date,
): TrustRootDocument {
  const i = indexOfSigner(doc, id);
  if (doc.signers[i]!.status === 'revoked') {
    throw new UsageError('TRUST_ROOT_CHANGE_INVALID', `Signer "${id}" is already revoked`);
  }
  return nextVersion(doc, at, (signers) => {
    signers[i] = {
      ...signers[i]!,
      status: 'revoked',
      revocation: {
        reason: revocation.reason,
        compromisedSince: isoTime(revocation.compromisedSince),
        revokedAt: isoTime(at),
      },
    };
    return signers;
  });
}

/**
 * Root key rotation: add and remove root keys and/or change the threshold. The new version must
 * then be signed by a threshold of the old root keys and of the new ones (`verifyTrustRoot`
 * with `previous`), so added keys sign it too.
 */
export function rotateRootKeys(
  doc: TrustRootDocument,
  change: {
    readonly add?: readonly KeyObject[];
    readonly remove?: readonly string[];
    readonly threshold?: number;
  },
  at: Date,
): TrustRootDocument {
  const remove = new Set(change.remove ?? []);
  for (const id of remove) {
    if (!doc.root.keys.some((k) => k.keyid === id)) {
      throw new UsageError('TRUST_ROOT_CHANGE_INVALID', `No root key ${id} in the trust root`);
    }
  }
  const keys = [
    ...doc.root.keys.filter((k) => !remove.has(k.keyid)),
    ...(change.add ?? []).map(keyEntry),
  ];
  const root = { threshold: change.threshold ?? doc.root.threshold, keys };
  return validatedChange({ ...doc, version: doc.version + 1, issuedAt: isoTime(at), root });
}

/** RFC 3339 UTC without milliseconds when they are zero. */
export function isoTime(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new UsageError('USAGE', 'Invalid date');
  const iso = d.toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

// ── what a change grants or removes ─────────────────────────────────────────────────────

export interface TrustChange {
  /** `+` trust granted, `-` trust removed, `~` trust changed (window, scope). */
  readonly sign: '+' | '-' | '~';
  readonly subject: string;
  readonly text: string;
}

function describeIdentity(identity: SignerIdentity): string {
  switch (identity.kind) {
    case 'key':
      return `key ${identity.keyid.slice(0, 16)}…`;
    case 'certificate':
      return `certificate subject "${identity.subject}" issuer "${identity.issuer}"${identity.roots === undefined ? '' : ` under ${identity.roots.length} CA root(s)`}`;
    case 'keyless':
      return `identity "${identity.identity}" via ${identity.issuer}`;
  }
}

function describeScopes(s: SignerScopes): string {
  return `repositories [${s.repositories.join(', ')}], environments [${s.environments.join(', ')}], predicates [${s.predicateTypes.join(', ')}]`;
}

function windowOf(s: TrustedSigner): string {
  return `${s.notBefore} → ${s.notAfter ?? 'no end'}`;
}

/** What trust `next` grants or removes compared with `previous` (undefined: everything is new). */
export function diffTrustRoots(
  previous: TrustRootDocument | undefined,
  next: TrustRootDocument,
): TrustChange[] {
  const out: TrustChange[] = [];
  const oldRoot = new Set(previous?.root.keys.map((k) => k.keyid) ?? []);
  const newRoot = new Set(next.root.keys.map((k) => k.keyid));
  for (const k of newRoot) {
    if (!oldRoot.has(k))
      out.push({
        sign: '+',
        subject: 'root',
        text: `root key ${k.slice(0, 16)}… may sign the trust root`,
      });
  }
  for (const k of oldRoot) {
    if (!newRoot.has(k))
      out.push({ sign: '-', subject: 'root', text: `root key ${k.slice(0, 16)}… removed` });
  }
  if (previous === undefined || previous.root.threshold !== next.root.threshold) {
    out.push({
      sign: previous === undefined ? '+' : '~',
      subject: 'root',
      text: `root threshold ${previous === undefined ? '' : `${previous.root.threshold} → `}${next.root.threshold} of ${next.root.keys.length}`,
    });
  }
  const before = new Map(previous?.signers.map((s) => [s.id, s]) ?? []);
  for (const s of next.signers) {
    const old = before.get(s.id);
    before.delete(s.id);
    if (old === undefined) {
      if (s.status === 'active') {
        out.push({
          sign: '+',
          subject: s.id,
          text: `grant ${s.id} (${describeIdentity(s.identity)}): ${describeScopes(s.scopes)}, valid ${windowOf(s)}${s.replaces === undefined ? '' : `; takes over from ${s.replaces} (one signer for thresholds)`}`,
        });
      }
      continue;
    }
    if (old.status === 'active' && s.status === 'revoked') {
      out.push({
        sign: '-',
        subject: s.id,
        text: `revoke ${s.id} (${describeIdentity(s.identity)}): "${s.revocation?.reason ?? ''}", compromised since ${s.revocation?.compromisedSince ?? '?'}; every signature by it now fails`,
      });
      continue;
    }
    if (windowOf(old) !== windowOf(s)) {
      out.push({
        sign: '~',
        subject: s.id,
        text: `${s.id} valid ${windowOf(old)} ⇒ ${windowOf(s)}`,
      });
    }
    if (describeScopes(old.scopes) !== describeScopes(s.scopes)) {
      out.push({
        sign: '~',
        subject: s.id,
        text: `${s.id} scopes ${describeScopes(old.scopes)} ⇒ ${describeScopes(s.scopes)}`,
      });
    }
  }
  for (const s of before.values()) {
    out.push({
      sign: '-',
      subject: s.id,
      text: `remove ${s.id} (${describeIdentity(s.identity)})`,
    });
  }
  return out;
}

// ── checking a verified signature against the trust root ────────────────────────────────

/**
 * The verified facts about a signature, as `verify` reports them (`VerifiedSignature` fits this
 * shape; keys sit below verify and so take it structurally).
 */
export interface VerifiedSignerEvidence {
  readonly signer:
    | { readonly kind: 'key'; readonly keyType: KeyType; readonly hint: string }
    | { readonly kind: 'certificate'; readonly subject: string; readonly issuer: string }
    | {
        readonly kind: 'keyless';
        readonly identity: string;
        readonly issuer: string;
        /** Set only when a transparency log attested the time (verified by `verify`). */
        readonly integratedTime?: string;
      };
  readonly predicateType: string;
}

export interface TrustRootCheckOptions {
  /** `team/model`; when absent the signer must be scoped to every repository (`**`). */
  readonly repository?: string;
  /** When absent the signer must be scoped to every environment (`**`). */
  readonly environment?: string;
  /** Reference time: verification time, and the signing time when no trusted time exists. */
  readonly at: Date;
}

/** Which signer matched and what was checked. */
export interface TrustedSignatureFacts {
  readonly signerId: string;
  /**
   * The first signer of `signerId`'s rotation line (`replaces`): what thresholds count, so a
   * rotated key and its successor are one signer.
   */
  readonly principal: string;
  readonly identity: SignerIdentity;
  /** The signing time used for the window and revocation checks, and where it came from. */
  readonly signingTime: string;
  readonly signingTimeSource: 'transparency-log' | 'verification-time';
  readonly checked: readonly ('identity' | 'status' | 'validity-window' | 'scope')[];
}

/** The trust root entry for a key-mode bundle's key hint, for building the verification trust. */
export function trustedKeyForHint(root: TrustRoot, hint: string | undefined): KeyObject {
  const entry = root.document.signers.find(
    (s) => s.identity.kind === 'key' && s.identity.keyid === hint,
  );
  if (entry === undefined || entry.identity.kind !== 'key') {
    throw new VerificationError('SIGNER_UNTRUSTED', 'The signature key is not in the trust root', {
      details: { hint: hint ?? null, trustRootVersion: root.document.version },
    });
  }
  return createPublicKey(entry.identity.publicKey);
}

function matches(s: TrustedSigner, e: VerifiedSignerEvidence['signer']): boolean {
  switch (e.kind) {
    case 'key':
      return s.identity.kind === 'key' && s.identity.keyid === e.hint;
    case 'certificate':
      return (
        s.identity.kind === 'certificate' &&
        s.identity.subject === e.subject &&
        s.identity.issuer === e.issuer
      );
    case 'keyless':
      return (
        s.identity.kind === 'keyless' &&
        s.identity.identity === e.identity &&
        s.identity.issuer === e.issuer
      );
  }
}

/** Anchored glob: `*` matches within one `/` segment, `**` across segments; nothing else is special. */
export function globMatches(pattern: string, value: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else re += c.replace(/[.\\+?^${}()|[\]/]/g, '\\$&');
  }
  return new RegExp(`${re}$`).test(value);
}

function scopeAllows(patterns: readonly string[], value: string | undefined): boolean {
  if (value === undefined) return patterns.includes('**');
  return patterns.some((p) => globMatches(p, value));
}

/**
 * Checks a verified signature against the trust root: the signer is listed (SIGNER_UNTRUSTED),
 * not revoked (SIGNER_REVOKED), inside its validity window (SIGNER_EXPIRED), and allowed for the
 * repository, environment and predicate type (SIGNER_OUT_OF_SCOPE). The signing time is the
 * transparency-log time when `verify` established one; otherwise there is none to trust, and the
 * verification time stands in for it — so an expired key fails from notAfter on, and a revoked
 * key fails always (docs/trust.md, "Time").
 */
export function verifyAgainstTrustRoot(
  verified: VerifiedSignerEvidence,
  root: TrustRoot,
  options: TrustRootCheckOptions,
): TrustedSignatureFacts {
  const e = verified.signer;
  const entry = root.document.signers.find((s) => matches(s, e));
  if (entry === undefined) {
    throw new VerificationError('SIGNER_UNTRUSTED', 'The signer is not in the trust root', {
      details: { signer: e, trustRootVersion: root.document.version },
    });
  }
  const logged = e.kind === 'keyless' ? e.integratedTime : undefined;
  const signingTime = logged === undefined ? options.at : new Date(logged);
  const source = logged === undefined ? 'verification-time' : 'transparency-log';
  const details = {
    signerId: entry.id,
    signingTime: isoTime(signingTime),
    signingTimeSource: source,
  };
  if (entry.status === 'revoked') {
    const since = Date.parse(entry.revocation?.compromisedSince ?? '');
    // Only a logged time can prove a signature predates the compromise.
    if (logged === undefined || !(signingTime.getTime() < since)) {
      throw new VerificationError('SIGNER_REVOKED', `Signer "${entry.id}" is revoked`, {
        details: { ...details, revocation: entry.revocation },
      });
    }
  }
  const t = signingTime.getTime();
  if (
    t < Date.parse(entry.notBefore) ||
    (entry.notAfter !== undefined && t > Date.parse(entry.notAfter))
  ) {
    throw new VerificationError(
      'SIGNER_EXPIRED',
      `Signer "${entry.id}" is valid ${windowOf(entry)}, not at ${isoTime(signingTime)}`,
      { details: { ...details, notBefore: entry.notBefore, notAfter: entry.notAfter ?? null } },
    );
  }
  const scopes = entry.scopes;
  const problems: string[] = [];
  if (!scopeAllows(scopes.repositories, options.repository)) {
    problems.push(
      options.repository === undefined
        ? 'no --repository given and the signer is not scoped to all (**)'
        : `repository ${options.repository}`,
    );
  }
  if (!scopeAllows(scopes.environments, options.environment)) {
    problems.push(
      options.environment === undefined
        ? 'no --environment given and the signer is not scoped to all (**)'
        : `environment ${options.environment}`,
    );
  }
  if (!scopes.predicateTypes.includes(verified.predicateType)) {
    problems.push(`predicate ${verified.predicateType}`);
  }
  if (problems.length > 0) {
    throw new VerificationError(
      'SIGNER_OUT_OF_SCOPE',
      `Signer "${entry.id}" may not sign for ${problems.join(', ')}`,
      { details: { ...details, scopes, problems } },
    );
  }
  return {
    signerId: entry.id,
    principal: principalOf(root.document, entry.id) ?? entry.id,
    identity: entry.identity,
    signingTime: isoTime(signingTime),
    signingTimeSource: source,
    checked: ['identity', 'status', 'validity-window', 'scope'],
  };
}

/** Which trust root signers a threshold counted. */
export interface DistinctSigners {
  /** Distinct principals (rotation lines), sorted: the number compared with the threshold. */
  readonly counted: readonly string[];
  /** Every signer id that matched, sorted. */
  readonly signerIds: readonly string[];
}

/**
 * Thresholds over several verified signatures (e.g. a model signature plus co-signatures):
 * counts distinct trust root signers — one signer's many signatures count once, and so do a
 * rotated key and its successor (same `principal`). THRESHOLD_NOT_MET names who did sign.
 */
export function requireDistinctSigners(
  results: readonly TrustedSignatureFacts[],
  threshold: number,
): DistinctSigners {
  const counted = [...new Set(results.map((r) => r.principal))].sort();
  const signerIds = [...new Set(results.map((r) => r.signerId))].sort();
  if (counted.length < threshold) {
    throw new VerificationError(
      'THRESHOLD_NOT_MET',
      `${counted.length} distinct trusted signer(s); ${threshold} required`,
      { details: { counted, signers: signerIds, threshold } },
    );
  }
  return { counted, signerIds };
}

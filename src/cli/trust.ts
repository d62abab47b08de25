import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { trustsFromRoot } from '../attest/index.js';
import { hashBytes } from '../digest/index.js';
import { InfraError, UsageError, ValidationError, VerificationError } from '../errors/index.js';
import {
  TRUST_ROOT_MAX_BYTES,
  addSigner,
  diffTrustRoots,
  fileSigner,
  initialTrustRoot,
  loadPrivateKey,
  loadPublicKey,
  parseCertificates,
  requireDistinctSigners,
  revokeSigner,
  rotateRootKeys,
  rotateSigner,
  signTrustRoot,
  trustRootCheckpoint,
  trustRootCheckpointFromJSON,
  verifyAgainstTrustRoot,
  verifyTrustRoot,
  type NewSigner,
  type Pkcs11Signer,
  type Signer,
  type TrustChange,
  type TrustRoot,
  type TrustRootCheckpoint,
  type TrustRootDocument,
  type TrustedSignatureFacts,
} from '../keys/index.js';
import {
  MAX_CERT_BYTES,
  MAX_KEY_BYTES,
  defaultSignaturePath,
  inspectSignature,
  readSmallFile,
  verifyModel,
  ManifestCache,
  writeFileAtomic,
  type ModelVerification,
} from '../model/index.js';
import type { BundleClaims, VerificationTrust } from '../verify/index.js';
import { modelRelativeIgnorePaths, parsePositiveInt, readPassphrase } from './inputs.js';
import { openPkcs11Signer } from './commands.js';
import { note, printJson, say, type Io } from './output.js';

// ── shared inputs ───────────────────────────────────────────────────────────────────────

/** Flags naming the root keys that sign a new trust root version. */
export interface RootKeyFlags {
  readonly rootKey?: string[];
  readonly rootPkcs11Uri?: string[];
  readonly passphraseFile?: string;
  readonly allowUnencryptedKey?: boolean;
  readonly json?: boolean;
}

function parseTime(value: string, flag: string): Date {
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/.test(value)
    ? Date.parse(value)
    : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError('USAGE', `${flag} must be an RFC 3339 UTC time like 2026-01-31T12:00:00Z`);
  }
  return new Date(ms);
}

/** Loads the root signers; `close` releases any token sessions. */
function rootSigners(io: Io, flags: RootKeyFlags): { signers: Signer[]; close: () => void } {
  const files = flags.rootKey ?? [];
  const uris = flags.rootPkcs11Uri ?? [];
  if (files.length + uris.length === 0) {
    throw new UsageError(
      'USAGE',
      'Give the root keys that sign the trust root: --root-key or --root-pkcs11-uri',
    );
  }
  const opened: Pkcs11Signer[] = [];
  const close = () => {
    for (const s of opened) s.close();
  };
  try {
    const passphrase = readPassphrase(io, flags.passphraseFile);
    const signers: Signer[] = files.map((p) => {
      const pem = readSmallFile(resolve(io.cwd, p), MAX_KEY_BYTES, 'Root key').toString('utf8');
      const key = loadPrivateKey(pem, passphrase);
      if (!key.encrypted && flags.allowUnencryptedKey !== true) {
        note(
          io,
          `warning: root key ${p} is not encrypted at rest; encrypt it (cairn keygen --encrypt) or keep it in a token (--root-pkcs11-uri). --allow-unencrypted-key silences this.`,
        );
      }
      return fileSigner(key);
    });
    for (const u of uris) {
      const s = openPkcs11Signer(io, u);
      opened.push(s);
      signers.push(s);
    }
    return { signers, close };
  } catch (err) {
    close();
    throw err;
  }
}

/** Reads and verifies a trust root file (its own threshold). */
export function loadTrustRoot(io: Io, path: string, previous?: TrustRoot): TrustRoot {
  const bytes = readSmallFile(resolve(io.cwd, path), TRUST_ROOT_MAX_BYTES, 'Trust root');
  return verifyTrustRoot(bytes, previous === undefined ? {} : { previous });
}

function printChanges(io: Io, changes: readonly TrustChange[]): void {
  if (changes.length === 0) say(io, '  (no change in trust)');
  for (const c of changes) say(io, `  ${c.sign} ${c.text}`);
}

/**
 * One trust root change: verify the current file, apply the change as the next version, sign it
 * with the root keys given, check it against the current version (threshold of both, version
 * up), then replace the file atomically and print what trust was granted or removed.
 */
async function changeTrustRoot(
  io: Io,
  path: string,
  flags: RootKeyFlags,
  change: (doc: TrustRootDocument, at: Date) => TrustRootDocument,
): Promise<number> {
  const current = loadTrustRoot(io, path);
  const at = new Date();
  const next = change(current.document, at);
  const { signers, close } = rootSigners(io, flags);
  let bytes: Buffer;
  try {
    bytes = await signTrustRoot(next, signers);
  } finally {
    close();
  }
  try {
    verifyTrustRoot(bytes, { previous: current });
  } catch (err) {
    if (err instanceof VerificationError && err.code === 'TRUST_ROOT_SIGNATURE_INVALID') {
      throw new VerificationError(err.code, err.message, {
        cause: err,
        hint: `Sign with at least ${current.document.root.threshold} root keys of v${current.document.version} and ${next.root.threshold} of v${next.version} (--root-key / --root-pkcs11-uri). Nothing was written.`,
        ...(err.details === undefined ? {} : { details: err.details }),
      });
    }
    throw err;
  }
  writeFileAtomic(resolve(io.cwd, path), bytes, { overwrite: true, mode: 0o644 });
  const changes = diffTrustRoots(current.document, next);
  if (flags.json) {
    printJson(io, { ok: true, path: resolve(io.cwd, path), version: next.version, changes });
  } else {
    say(
      io,
      `Trust root v${next.version} written to ${resolve(io.cwd, path)} (was v${current.document.version}):`,
    );
    printChanges(io, changes);
  }
  return 0;
}

// ── commands ────────────────────────────────────────────────────────────────────────────

export interface TrustInitFlags extends RootKeyFlags {
  readonly threshold: string;
  readonly rootPublicKey?: string[];
  readonly force?: boolean;
}

export async function trustInitCommand(
  io: Io,
  path: string,
  flags: TrustInitFlags,
): Promise<number> {
  const threshold = parsePositiveInt(flags.threshold, '--threshold');
  const { signers, close } = rootSigners(io, flags);
  let bytes: Buffer;
  let doc: TrustRootDocument;
  try {
    const extra = (flags.rootPublicKey ?? []).map((p) =>
      loadPublicKey(
        readSmallFile(resolve(io.cwd, p), MAX_KEY_BYTES, 'Root public key').toString('utf8'),
      ),
    );
    doc = initialTrustRoot([...signers.map((s) => s.publicKey), ...extra], threshold, new Date());
    bytes = await signTrustRoot(doc, signers);
  } finally {
    close();
  }
  verifyTrustRoot(bytes);
  const target = resolve(io.cwd, path);
  writeFileAtomic(target, bytes, { overwrite: flags.force ?? false, mode: 0o644 });
  const changes = diffTrustRoots(undefined, doc);
  if (flags.json) {
    printJson(io, { ok: true, path: target, version: 1, changes });
  } else {
    say(io, `Trust root v1 written to ${target}:`);
    printChanges(io, changes);
    say(
      io,
      `Pin it out of band: sha256 of the file or the root key ids above are what verifiers trust first.`,
    );
  }
  return 0;
}

export interface AddSignerFlags extends RootKeyFlags {
  readonly id: string;
  readonly publicKey?: string;
  readonly certificateSubject?: string;
  readonly certificateIssuer?: string;
  readonly certificateRoot?: string[];
  readonly identity?: string;
  readonly identityProvider?: string;
  readonly repository?: string[];
  readonly environment?: string[];
  readonly predicateType?: string[];
  readonly notBefore?: string;
  readonly notAfter?: string;
}

function identityFrom(io: Io, flags: AddSignerFlags): NewSigner['identity'] {
  const modes = [
    flags.publicKey !== undefined,
    flags.certificateSubject !== undefined || flags.certificateIssuer !== undefined,
    flags.identity !== undefined || flags.identityProvider !== undefined,
  ].filter(Boolean).length;
  if (modes !== 1) {
    throw new UsageError(
      'USAGE',
      'Give exactly one of --public-key, --certificate-subject with --certificate-issuer, or --identity with --identity-provider',
    );
  }
  if (flags.publicKey !== undefined) {
    const pem = readSmallFile(resolve(io.cwd, flags.publicKey), MAX_KEY_BYTES, 'Public key');
    return { kind: 'key', publicKey: loadPublicKey(pem.toString('utf8')) };
  }
  if (flags.certificateSubject !== undefined || flags.certificateIssuer !== undefined) {
    if (flags.certificateSubject === undefined || flags.certificateIssuer === undefined) {
      throw new UsageError('USAGE', '--certificate-subject and --certificate-issuer go together');
    }
    // Stored as PEM, one certificate per entry, so the trust root alone anchors the chain.
    const roots = (flags.certificateRoot ?? []).flatMap((p) =>
      parseCertificates(readSmallFile(resolve(io.cwd, p), MAX_CERT_BYTES, 'Certificate file')),
    );
    return {
      kind: 'certificate',
      subject: flags.certificateSubject,
      issuer: flags.certificateIssuer,
      ...(roots.length === 0 ? {} : { roots: roots.map((c) => c.toString()) }),
    };
  }
  if (flags.certificateRoot !== undefined) {
    throw new UsageError('USAGE', '--certificate-root goes with --certificate-subject');
  }
  if (flags.identity === undefined || flags.identityProvider === undefined) {
    throw new UsageError('USAGE', '--identity and --identity-provider go together');
  }
  return { kind: 'keyless', identity: flags.identity, issuer: flags.identityProvider };
}

export function trustAddSignerCommand(
  io: Io,
  path: string,
  flags: AddSignerFlags,
): Promise<number> {
  const identity = identityFrom(io, flags);
  if (flags.repository === undefined || flags.environment === undefined) {
    throw new UsageError(
      'USAGE',
      'Scope the signer with --repository and --environment (use "**" for all, explicitly)',
    );
  }
  const signer: NewSigner = {
    id: flags.id,
    identity,
    repositories: flags.repository,
    environments: flags.environment,
    ...(flags.predicateType === undefined ? {} : { predicateTypes: flags.predicateType }),
    ...(flags.notBefore === undefined
      ? {}
      : { notBefore: parseTime(flags.notBefore, '--not-before') }),
    ...(flags.notAfter === undefined ? {} : { notAfter: parseTime(flags.notAfter, '--not-after') }),
  };
  return changeTrustRoot(io, path, flags, (doc, at) => addSigner(doc, signer, at));
}

export interface RotateFlags extends RootKeyFlags {
  readonly signer?: string;
  readonly newId?: string;
  readonly publicKey?: string;
  readonly oldNotAfter?: string;
  readonly notAfter?: string;
  readonly addRootKey?: string[];
  readonly removeRootKey?: string[];
  readonly rootThreshold?: string;
}

export function trustRotateCommand(io: Io, path: string, flags: RotateFlags): Promise<number> {
  const rootChange =
    flags.addRootKey !== undefined ||
    flags.removeRootKey !== undefined ||
    flags.rootThreshold !== undefined;
  if (rootChange === (flags.signer !== undefined)) {
    throw new UsageError(
      'USAGE',
      'Rotate either a signer (--signer, --new-id, --public-key) or the root keys (--add-root-key, --remove-root-key, --root-threshold)',
    );
  }
  if (rootChange) {
    const add = (flags.addRootKey ?? []).map((p) =>
      loadPublicKey(
        readSmallFile(resolve(io.cwd, p), MAX_KEY_BYTES, 'Root public key').toString('utf8'),
      ),
    );
    const threshold =
      flags.rootThreshold === undefined
        ? undefined
        : parsePositiveInt(flags.rootThreshold, '--root-threshold');
    return changeTrustRoot(io, path, flags, (doc, at) =>
      rotateRootKeys(
        doc,
        {
          add,
          ...(flags.removeRootKey === undefined ? {} : { remove: flags.removeRootKey }),
          ...(threshold === undefined ? {} : { threshold }),
        },
        at,
      ),
    );
  }
  if (flags.newId === undefined || flags.publicKey === undefined) {
    throw new UsageError('USAGE', 'Signer rotation needs --new-id and --public-key');
  }
  const newId = flags.newId;
  const signerId = flags.signer!;
  const pem = readSmallFile(resolve(io.cwd, flags.publicKey), MAX_KEY_BYTES, 'Public key');
  const publicKey = loadPublicKey(pem.toString('utf8'));
  const oldEnd =
    flags.oldNotAfter === undefined ? undefined : parseTime(flags.oldNotAfter, '--old-not-after');
  const newEnd =
    flags.notAfter === undefined ? undefined : parseTime(flags.notAfter, '--not-after');
  return changeTrustRoot(io, path, flags, (doc, at) =>
    rotateSigner(
      doc,
      signerId,
      {
        id: newId,
        identity: { kind: 'key', publicKey },
        ...(newEnd === undefined ? {} : { notAfter: newEnd }),
      },
      at,
      oldEnd ?? at,
    ),
  );
}

export interface RevokeFlags extends RootKeyFlags {
  readonly reason: string;
  readonly compromisedSince: string;
}

export function trustRevokeCommand(
  io: Io,
  path: string,
  signer: string,
  flags: RevokeFlags,
): Promise<number> {
  const compromisedSince = parseTime(flags.compromisedSince, '--compromised-since');
  return changeTrustRoot(io, path, flags, (doc, at) =>
    revokeSigner(doc, signer, { reason: flags.reason, compromisedSince }, at),
  );
}

export function trustShowCommand(io: Io, path: string, flags: { json?: boolean }): number {
  const root = loadTrustRoot(io, path);
  const doc = root.document;
  if (flags.json) {
    printJson(io, { ok: true, verified: true, signedBy: root.signedBy, ...doc });
    return 0;
  }
  say(
    io,
    `Trust root v${doc.version} issued ${doc.issuedAt} — signatures verified (${root.signedBy.length} of ${doc.root.keys.length} root keys, threshold ${doc.root.threshold})`,
  );
  say(io, 'Root keys:');
  for (const k of doc.root.keys)
    say(io, `  ${k.keyid}${root.signedBy.includes(k.keyid) ? '  (signed this version)' : ''}`);
  say(io, `Signers (${doc.signers.length}):`);
  for (const s of doc.signers) {
    const who =
      s.identity.kind === 'key'
        ? `key ${s.identity.keyid}`
        : s.identity.kind === 'certificate'
          ? `certificate subject "${s.identity.subject}" issuer "${s.identity.issuer}"`
          : `identity "${s.identity.identity}" via ${s.identity.issuer}`;
    say(io, `  ${s.id}  [${s.status.toUpperCase()}]  ${who}`);
    say(io, `    repositories: ${s.scopes.repositories.join(', ')}`);
    say(io, `    environments: ${s.scopes.environments.join(', ')}`);
    say(io, `    predicates:   ${s.scopes.predicateTypes.join(', ')}`);
    say(io, `    valid:        ${s.notBefore} → ${s.notAfter ?? 'no end'}`);
    if (s.revocation !== undefined) {
      say(
        io,
        `    revoked:      ${s.revocation.revokedAt}: ${s.revocation.reason} (compromised since ${s.revocation.compromisedSince})`,
      );
    }
  }
  return 0;
}

export function trustVerifyCommand(
  io: Io,
  path: string,
  flags: { previous?: string; json?: boolean },
): number {
  const previous = flags.previous === undefined ? undefined : loadTrustRoot(io, flags.previous);
  const root = loadTrustRoot(io, path, previous);
  const changes = previous === undefined ? [] : diffTrustRoots(previous.document, root.document);
  if (flags.json) {
    printJson(io, {
      ok: true,
      version: root.document.version,
      signedBy: root.signedBy,
      ...(previous === undefined ? {} : { previousVersion: previous.document.version, changes }),
    });
    return 0;
  }
  say(
    io,
    `Trust root v${root.document.version} verified: ${root.signedBy.length} distinct root signatures (threshold ${root.document.root.threshold})`,
  );
  if (previous !== undefined) {
    say(
      io,
      `  update from v${previous.document.version} is signed by the previous threshold too; changes:`,
    );
    printChanges(io, changes);
  }
  return 0;
}

// ── cairn verify --trust-root ───────────────────────────────────────────────────────────

export interface TrustRootVerifyFlags {
  readonly trustRoot: string;
  readonly repository?: string;
  readonly environment?: string;
  /** One or more bundles (repeatable `--signature`); default the model's own. */
  readonly signature?: readonly string[];
  /** Distinct trust root signers required (default 1). */
  readonly threshold?: string;
  /** Directory remembering the highest trust root version seen (rollback protection). */
  readonly trustRootState?: string;
  readonly certificateChain?: string[];
  readonly ignorePaths?: string[];
  readonly ignoreGitPaths: boolean;
  readonly allowSymlinks?: boolean;
  readonly ignoreUnsignedFiles?: boolean;
  readonly json?: boolean;
}

/** One bundle's outcome in a threshold verification. */
export type SignatureOutcome =
  | { readonly signature: string; readonly ok: true; readonly signerId: string }
  | {
      readonly signature: string;
      readonly ok: false;
      readonly code: string;
      readonly message: string;
    };

export interface TrustRootVerification extends ModelVerification {
  readonly trustRoot: {
    readonly version: number;
    /** The signer of the first bundle that verified. */
    readonly signer: TrustedSignatureFacts;
    /** Every signer that matched, one entry per verified bundle. */
    readonly signers: readonly TrustedSignatureFacts[];
    readonly threshold: number;
    /** The distinct principals counted toward the threshold. */
    readonly counted: readonly string[];
    readonly signatures: readonly SignatureOutcome[];
    /** The checkpoint file that remembers the highest version seen. */
    readonly checkpoint: string;
  };
}

/**
 * Where checkpoints live: --trust-root-state, else CAIRN_STATE_DIR, else $XDG_STATE_HOME/cairn,
 * else ~/.local/state/cairn. With none of them there is nowhere to remember versions, and
 * verification stops rather than silently losing rollback protection.
 */
function stateDirectory(io: Io, flag: string | undefined): string {
  const env = (name: string) => {
    const v = io.env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const xdg = env('XDG_STATE_HOME');
  const home = env('HOME');
  const dir =
    flag ??
    env('CAIRN_STATE_DIR') ??
    (xdg === undefined ? undefined : join(xdg, 'cairn')) ??
    (home === undefined ? undefined : join(home, '.local', 'state', 'cairn'));
  if (dir === undefined) {
    throw new InfraError(
      'TRUST_ROOT_STATE_UNAVAILABLE',
      'No directory to remember trust root versions in (no --trust-root-state, CAIRN_STATE_DIR, XDG_STATE_HOME or HOME)',
    );
  }
  return resolve(io.cwd, dir);
}

/** One checkpoint file per trust root location (its real path). */
function checkpointPath(stateDir: string, location: string): string {
  return join(
    stateDir,
    'trust-roots',
    `${hashBytes('sha256', Buffer.from(location)).toString('hex')}.json`,
  );
}

function readCheckpoint(path: string): TrustRootCheckpoint | undefined {
  if (!existsSync(path)) return undefined;
  let bytes: Buffer;
  try {
    bytes = readSmallFile(path, 64 * 1024, 'Trust root checkpoint');
  } catch (err) {
    throw new InfraError('TRUST_ROOT_STATE_UNAVAILABLE', `Cannot read ${path}`, {
      cause: err,
      details: { path },
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ValidationError('TRUST_ROOT_STATE_INVALID', `${path} is not JSON`, {
      details: { path },
    });
  }
  return trustRootCheckpointFromJSON(value);
}

function writeCheckpoint(path: string, checkpoint: TrustRootCheckpoint): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Another verifier may have recorded a newer version meanwhile: never lower it.
    const current = readCheckpoint(path);
    if (current !== undefined && current.version >= checkpoint.version) return;
    writeFileAtomic(path, Buffer.from(`${JSON.stringify(checkpoint, null, 2)}\n`), {
      overwrite: true,
      mode: 0o600,
    });
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new InfraError('TRUST_ROOT_STATE_UNAVAILABLE', `Cannot write ${path}`, {
      cause: err,
      details: { path },
    });
  }
}

/**
 * Loads the trust root for verification with rollback protection: it must not be older than the
 * version remembered for its location, a newer one must be signed by the remembered root keys'
 * threshold, and the accepted version is remembered (atomically) before anything else happens.
 */
export function loadTrustRootWithCheckpoint(
  io: Io,
  path: string,
  stateFlag: string | undefined,
): { root: TrustRoot; checkpoint: string } {
  const file = resolve(io.cwd, path);
  const bytes = readSmallFile(file, TRUST_ROOT_MAX_BYTES, 'Trust root');
  const location = realpathSync(file);
  const at = checkpointPath(stateDirectory(io, stateFlag), location);
  const checkpoint = readCheckpoint(at);
  let root: TrustRoot;
  try {
    root = verifyTrustRoot(bytes, checkpoint === undefined ? {} : { checkpoint });
  } catch (err) {
    if (err instanceof VerificationError && checkpoint !== undefined) {
      throw new VerificationError(err.code, err.message, {
        cause: err,
        hint: `${err.hint} Highest version accepted from ${location}: v${checkpoint.version} (remembered in ${at}).`,
        details: { ...(err.details ?? {}), checkpoint: at },
      });
    }
    throw err;
  }
  if (checkpoint === undefined || root.document.version > checkpoint.version) {
    writeCheckpoint(at, trustRootCheckpoint(root, location, new Date()));
  }
  return { root, checkpoint: at };
}

/** The verification trust for one bundle, taken from the trust root entry it claims. */
function trustForBundle(
  io: Io,
  root: TrustRoot,
  claims: BundleClaims,
  certificateChain: readonly string[] | undefined,
): VerificationTrust[] {
  // The verifier's CA roots, used only when the trust root's entry names none of its own.
  const verifierRoots = certificateChain?.flatMap((p) =>
    parseCertificates(readSmallFile(resolve(io.cwd, p), MAX_CERT_BYTES, 'Certificate file')),
  );
  return trustsFromRoot(root, claims, verifierRoots);
}

interface ModelTarget {
  readonly modelPath: string;
  readonly ignorePaths: readonly string[];
  /** Bundles that record the same way of hashing share one pass over the model. */
  readonly manifests: ManifestCache;
}

/** Verifies one bundle against the model and the trust root; the facts or the refusal. */
async function verifyOneSignature(
  io: Io,
  root: TrustRoot,
  target: ModelTarget,
  signaturePath: string,
  flags: TrustRootVerifyFlags,
  at: Date,
): Promise<{ result: ModelVerification; signer: TrustedSignatureFacts }> {
  const trusts = trustForBundle(
    io,
    root,
    await inspectSignature(signaturePath),
    flags.certificateChain,
  );
  let lastError: unknown;
  for (const trust of trusts) {
    let result: ModelVerification;
    try {
      result = await verifyModel(target.modelPath, {
        trust,
        signaturePath,
        ignorePaths: target.ignorePaths,
        ignoreGitPaths: flags.ignoreGitPaths,
        allowSymlinks: flags.allowSymlinks ?? false,
        ignoreUnsignedFiles: flags.ignoreUnsignedFiles ?? false,
        manifestCache: target.manifests,
      });
    } catch (err) {
      lastError = err;
      continue;
    }
    const signer = verifyAgainstTrustRoot(result, root, {
      ...(flags.repository === undefined ? {} : { repository: flags.repository }),
      ...(flags.environment === undefined ? {} : { environment: flags.environment }),
      at,
    });
    return { result, signer };
  }
  throw lastError;
}

/**
 * Verifies a model against a trust root instead of a single key: each bundle's key (or identity)
 * must be a listed signer; the signature and model are verified with that signer's material;
 * then revocation, validity window and scope (repository, environment, predicate type) are
 * checked. With several bundles or `--threshold N`, at least N distinct trust root signers must
 * verify (a signer's several signatures, or a rotated key and its successor, count once); each
 * bundle's outcome is reported. Rollback protection: see `loadTrustRootWithCheckpoint`.
 */
export async function verifyModelWithTrustRoot(
  io: Io,
  model: string,
  flags: TrustRootVerifyFlags,
  at: Date = new Date(),
): Promise<TrustRootVerification> {
  const threshold =
    flags.threshold === undefined ? 1 : parsePositiveInt(flags.threshold, '--threshold');
  const { root, checkpoint } = loadTrustRootWithCheckpoint(
    io,
    flags.trustRoot,
    flags.trustRootState,
  );
  const modelPath = resolve(io.cwd, model);
  const target: ModelTarget = {
    modelPath,
    ignorePaths: modelRelativeIgnorePaths(io, model, flags.ignorePaths ?? []),
    manifests: new ManifestCache(),
  };
  const given = flags.signature ?? [];
  const paths = [
    ...new Set(
      given.length === 0 ? [defaultSignaturePath(modelPath)] : given.map((p) => resolve(io.cwd, p)),
    ),
  ];
  const single = paths.length === 1 && threshold === 1;
  const verified: { result: ModelVerification; signer: TrustedSignatureFacts }[] = [];
  const outcomes: SignatureOutcome[] = [];
  for (const path of paths) {
    try {
      const one = await verifyOneSignature(io, root, target, path, flags, at);
      verified.push(one);
      outcomes.push({ signature: path, ok: true, signerId: one.signer.signerId });
    } catch (err) {
      // A changed model fails every bundle alike, and bad input is not a refusal by a signer:
      // both stop here. A bundle its signer cannot vouch for just does not count.
      if (single || !(err instanceof VerificationError) || err.code === 'MODEL_MISMATCH') throw err;
      outcomes.push({ signature: path, ok: false, code: err.code, message: err.message });
    }
  }
  const signers = verified.map((v) => v.signer);
  let counted: readonly string[];
  try {
    counted = requireDistinctSigners(signers, threshold).counted;
  } catch (err) {
    if (err instanceof VerificationError) {
      throw new VerificationError(err.code, err.message, {
        cause: err,
        details: { ...(err.details ?? {}), signatures: outcomes },
      });
    }
    throw err;
  }
  const first = verified[0]!;
  return {
    ...first.result,
    trustRoot: {
      version: root.document.version,
      signer: first.signer,
      signers,
      threshold,
      counted,
      signatures: outcomes,
      checkpoint,
    },
  };
}

/** `cairn verify MODEL --trust-root ROOT`: verification plus printing, as verifyCommand does. */
export async function trustRootVerifyCommand(
  io: Io,
  model: string,
  flags: TrustRootVerifyFlags,
): Promise<number> {
  const result = await verifyModelWithTrustRoot(io, model, flags);
  if (flags.json) {
    printJson(io, { ok: true, ...result });
    return 0;
  }
  const tr = result.trustRoot;
  for (const w of result.warnings) note(io, `warning: ${w}`);
  for (const o of tr.signatures) {
    if (!o.ok) note(io, `warning: ${o.signature} does not count: ${o.code}: ${o.message}`);
  }
  say(io, 'Verification succeeded');
  say(io, `  digest:    ${result.digest}`);
  for (const s of tr.signers) {
    say(
      io,
      `  signer:    ${s.signerId}${s.principal === s.signerId ? '' : ` (rotation of ${s.principal})`} (trust root v${tr.version}); checked ${s.checked.join(', ')} at ${s.signingTime} (${s.signingTimeSource})`,
    );
  }
  if (tr.signatures.length > 1 || tr.threshold > 1) {
    say(
      io,
      `  threshold: ${tr.counted.length} distinct signer(s) of ${tr.threshold} required: ${tr.counted.join(', ')}`,
    );
  }
  say(
    io,
    `  resources: ${result.resourcesChecked} checked (${result.serialization.method}/${result.serialization.hashType})`,
  );
  return 0;
}

// ── registration ────────────────────────────────────────────────────────────────────────

export { registerTrustCommands } from './trust-register.js';

export { openPkcs11Signer };

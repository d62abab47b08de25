import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Pkcs11js from 'pkcs11js';
import { InfraError, UsageError, type CairnError } from '../errors/index.js';
import { signatureHashFor, verifySignatureOverParts } from './algorithms.js';
import { DerError, TAG, decodeOid, readWhole } from './der.js';
import { parsePkcs11Uri, type Pkcs11Uri } from './pkcs11-uri.js';
import { signInputParts, type KeyType, type SignInput, type Signer } from './types.js';

/** Environment variable holding the token PIN when the URI has no pin-source. */
export const PKCS11_PIN_ENV = 'CAIRN_PKCS11_PIN';
/** Environment variable naming the module when the URI has no module-path. */
export const PKCS11_MODULE_ENV = 'CAIRN_PKCS11_MODULE';

/** A signer whose private key never leaves a PKCS#11 token. Close it when done. */
export interface Pkcs11Signer extends Signer {
  /** The token's label (unpadded) and the key's label/id, for messages and JSON output. */
  readonly token: string;
  readonly keyLabel: string | undefined;
  readonly keyId: string | undefined;
  /** Ends the session and releases the module. Idempotent. */
  close(): void;
}

export interface Pkcs11Options {
  /** The user PIN (from `readPkcs11Pin`). Never taken from argv. */
  readonly pin: string;
  /** Used when the URI has no module-path (the CAIRN_PKCS11_MODULE value). */
  readonly defaultModulePath?: string;
}

// Constants pkcs11js does not export (PKCS#11 v3.0).
const CKK_EC_EDWARDS = 0x40;
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;

// CKR codes Cairn maps to its own error codes.
const CKR = {
  DEVICE_ERROR: 0x30,
  DEVICE_MEMORY: 0x31,
  DEVICE_REMOVED: 0x32,
  KEY_TYPE_INCONSISTENT: 0x63,
  KEY_FUNCTION_NOT_PERMITTED: 0x68,
  MECHANISM_INVALID: 0x70,
  PIN_INCORRECT: 0xa0,
  PIN_INVALID: 0xa1,
  PIN_LEN_RANGE: 0xa2,
  PIN_EXPIRED: 0xa3,
  PIN_LOCKED: 0xa4,
  SESSION_CLOSED: 0xb0,
  SESSION_HANDLE_INVALID: 0xb3,
  TOKEN_NOT_PRESENT: 0xe0,
  TOKEN_NOT_RECOGNIZED: 0xe1,
  USER_ALREADY_LOGGED_IN: 0x100,
  CRYPTOKI_NOT_INITIALIZED: 0x190,
  CRYPTOKI_ALREADY_INITIALIZED: 0x191,
} as const;

const CURVE_OIDS: Readonly<Record<string, KeyType>> = {
  '1.2.840.10045.3.1.7': 'ecdsa-p256',
  '1.3.132.0.34': 'ecdsa-p384',
  '1.3.132.0.35': 'ecdsa-p521',
  '1.3.101.112': 'ed25519',
};
const EC_PARAMS: Readonly<Record<KeyType, string>> = {
  'ecdsa-p256': '06082a8648ce3d030107',
  'ecdsa-p384': '06052b81040022',
  'ecdsa-p521': '06052b81040023',
  ed25519: '06032b6570',
};
/** Field element size in bytes: r and s (and x and y) each take this many. */
const FIELD_BYTES: Readonly<Record<KeyType, number>> = {
  'ecdsa-p256': 32,
  'ecdsa-p384': 48,
  'ecdsa-p521': 66,
  ed25519: 32,
};
const JWK_CURVE = { 'ecdsa-p256': 'P-256', 'ecdsa-p384': 'P-384', 'ecdsa-p521': 'P-521' } as const;

/** A PIN file holds a few bytes; refuse anything that is clearly not one. */
const MAX_PIN_FILE_BYTES = 4096;

type Lib = typeof Pkcs11js;
type Handle = Buffer;

// ── the module: loaded once per path, initialised once, finalised when the last user leaves ──

interface LoadedModule {
  readonly lib: Lib;
  readonly p11: Pkcs11js.PKCS11;
  refs: number;
  readonly initialisedHere: boolean;
}

const modules = new Map<string, LoadedModule>();

function loadBinding(): Lib {
  try {
    // Loaded lazily: the native binding is only needed when a token is used.
    return createRequire(import.meta.url)('pkcs11js') as Lib;
  } catch (err) {
    throw new InfraError('PKCS11_MODULE_UNAVAILABLE', 'The pkcs11js native binding is not built', {
      cause: err,
      hint: 'Run `npm ci` with a C++ toolchain (node-gyp) so pkcs11js can build.',
    });
  }
}

function acquireModule(path: string): LoadedModule {
  const existing = modules.get(path);
  if (existing !== undefined) {
    existing.refs++;
    return existing;
  }
  const lib = loadBinding();
  const p11 = new lib.PKCS11();
  try {
    p11.load(path);
  } catch (err) {
    throw new InfraError('PKCS11_MODULE_UNAVAILABLE', `Cannot load PKCS#11 module ${path}`, {
      cause: err,
      details: { modulePath: path },
    });
  }
  let initialisedHere = true;
  try {
    p11.C_Initialize();
  } catch (err) {
    if (ckrOf(err) === CKR.CRYPTOKI_ALREADY_INITIALIZED) initialisedHere = false;
    else {
      safely(() => p11.close());
      throw new InfraError('PKCS11_MODULE_UNAVAILABLE', `Cannot initialise ${path}`, {
        cause: err,
        details: { modulePath: path, ckr: ckrName(err) },
      });
    }
  }
  const loaded: LoadedModule = { lib, p11, refs: 1, initialisedHere };
  modules.set(path, loaded);
  return loaded;
}

function releaseModule(path: string, module: LoadedModule): void {
  if (--module.refs > 0) return;
  modules.delete(path);
  if (module.initialisedHere) safely(() => module.p11.C_Finalize());
  safely(() => module.p11.close());
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // Teardown of a token that is already gone must not hide the error that brought us here.
  }
}

// ── errors ──────────────────────────────────────────────────────────────────────────────

function ckrOf(err: unknown): number | undefined {
  if (err instanceof Error && err.name === 'Pkcs11Error') {
    const code = (err as Error & { code?: unknown }).code;
    return typeof code === 'number' ? code : undefined;
  }
  return undefined;
}

function ckrName(err: unknown): string | undefined {
  return ckrOf(err) === undefined ? undefined : (err as Error).message;
}

/** Maps a PKCS#11 failure to a Cairn code: PIN problems, a token gone, or a generic failure. */
function tokenError(err: unknown, during: string): CairnError {
  const ckr = ckrOf(err);
  const details = { during, ...(ckr === undefined ? {} : { ckr: ckrName(err) }) };
  switch (ckr) {
    case CKR.PIN_INCORRECT:
    case CKR.PIN_INVALID:
    case CKR.PIN_LEN_RANGE:
      return new UsageError('PKCS11_PIN_INCORRECT', 'The token refused the PIN', {
        cause: err,
        details,
      });
    case CKR.PIN_LOCKED:
    case CKR.PIN_EXPIRED:
      return new UsageError('PKCS11_PIN_LOCKED', 'The token user PIN is locked or expired', {
        cause: err,
        details,
      });
    case CKR.DEVICE_REMOVED:
    case CKR.TOKEN_NOT_PRESENT:
    case CKR.TOKEN_NOT_RECOGNIZED:
    case CKR.SESSION_CLOSED:
    case CKR.SESSION_HANDLE_INVALID:
    case CKR.DEVICE_ERROR:
    case CKR.CRYPTOKI_NOT_INITIALIZED:
      return new InfraError('PKCS11_TOKEN_UNAVAILABLE', `The token went away while ${during}`, {
        cause: err,
        details,
      });
    case CKR.MECHANISM_INVALID:
    case CKR.KEY_TYPE_INCONSISTENT:
    case CKR.KEY_FUNCTION_NOT_PERMITTED:
      return new UsageError(
        'PKCS11_MECHANISM_UNSUPPORTED',
        `The token cannot do this with the key (${during})`,
        { cause: err, details },
      );
    case undefined:
    default:
      return new InfraError('PKCS11_OPERATION_FAILED', `The token failed while ${during}`, {
        cause: err,
        details,
      });
  }
}

// ── PIN ─────────────────────────────────────────────────────────────────────────────────

/**
 * The user PIN: from the URI's `pin-source=file:` (first line, trailing newline removed) or the
 * CAIRN_PKCS11_PIN variable. PKCS11_PIN_REQUIRED when neither is there.
 */
export function readPkcs11Pin(uri: Pkcs11Uri, env: NodeJS.ProcessEnv): string {
  if (uri.pinFile !== undefined) {
    const text = readPinFile(uri.pinFile).replace(/\r?\n$/, '');
    if (text === '') {
      throw new UsageError('PKCS11_PIN_REQUIRED', `The PIN file is empty: ${uri.pinFile}`);
    }
    return text;
  }
  const fromEnv = env[PKCS11_PIN_ENV];
  if (fromEnv === undefined || fromEnv === '') {
    throw new UsageError('PKCS11_PIN_REQUIRED', 'No PIN for the PKCS#11 token');
  }
  return fromEnv;
}

function readPinFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new UsageError('INPUT_NOT_FOUND', `Cannot open the PIN file ${path}`, {
      cause: err,
      details: { path },
    });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_PIN_FILE_BYTES) {
      throw new UsageError('INPUT_UNREADABLE', `Not a small regular file: ${path}`, {
        details: { path },
      });
    }
    const buf = Buffer.alloc(MAX_PIN_FILE_BYTES + 1);
    let len = 0;
    for (let n; (n = readSync(fd, buf, len, buf.length - len, null)) > 0;) len += n;
    if (len > MAX_PIN_FILE_BYTES) {
      throw new UsageError('INPUT_TOO_LARGE', `The PIN file is too large: ${path}`);
    }
    return buf.subarray(0, len).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

// ── sessions ────────────────────────────────────────────────────────────────────────────

interface TokenSession {
  readonly module: LoadedModule;
  readonly modulePath: string;
  readonly slot: Handle;
  readonly session: Handle;
  readonly token: string;
}

function modulePathOf(uri: Pkcs11Uri, fallback: string | undefined): string {
  const path = uri.modulePath ?? fallback;
  if (path === undefined || path === '') {
    throw new UsageError('PKCS11_URI_INVALID', 'No PKCS#11 module: the URI has no module-path', {
      hint: `Add module-path=/path/to/module.so to the URI or set ${PKCS11_MODULE_ENV}.`,
    });
  }
  if (!path.startsWith('/')) {
    throw new UsageError('PKCS11_URI_INVALID', 'The PKCS#11 module path must be absolute');
  }
  return path;
}

/** Opens a logged-in read/write session on the one token the URI selects. */
function openSession(uri: Pkcs11Uri, modulePath: string, pin: string): TokenSession {
  const module = acquireModule(modulePath);
  const { lib, p11 } = module;
  let session: Handle | undefined;
  try {
    const matches: { slot: Handle; label: string }[] = [];
    for (const slot of p11.C_GetSlotList(true)) {
      const info = p11.C_GetTokenInfo(slot);
      const label = info.label.trimEnd();
      if (uri.token !== undefined && label !== uri.token) continue;
      if (uri.manufacturer !== undefined && info.manufacturerID.trimEnd() !== uri.manufacturer)
        continue;
      if (uri.serial !== undefined && info.serialNumber.trimEnd() !== uri.serial) continue;
      if (uri.model !== undefined && info.model.trimEnd() !== uri.model) continue;
      if (uri.slotId !== undefined && slotNumber(slot) !== uri.slotId) continue;
      matches.push({ slot, label });
    }
    const [match] = matches;
    if (match === undefined) {
      throw new InfraError('PKCS11_TOKEN_UNAVAILABLE', 'No token present matches the URI', {
        details: { token: uri.token },
      });
    }
    if (matches.length > 1) {
      throw new UsageError('PKCS11_URI_INVALID', 'More than one token matches the URI', {
        hint: 'Add token= (or serial=) to the URI to select one token.',
        details: { tokens: matches.map((m) => m.label) },
      });
    }
    session = p11.C_OpenSession(match.slot, lib.CKF_SERIAL_SESSION | lib.CKF_RW_SESSION);
    try {
      p11.C_Login(session, lib.CKU_USER, pin);
    } catch (err) {
      if (ckrOf(err) !== CKR.USER_ALREADY_LOGGED_IN) throw err;
    }
    return { module, modulePath, slot: match.slot, session, token: match.label };
  } catch (err) {
    if (session !== undefined) {
      const s = session;
      safely(() => p11.C_CloseSession(s));
    }
    releaseModule(modulePath, module);
    throw isCairn(err) ? err : tokenError(err, 'opening a session');
  }
}

function closeSession(t: TokenSession): void {
  safely(() => t.module.p11.C_CloseSession(t.session));
  releaseModule(t.modulePath, t.module);
}

function isCairn(err: unknown): err is CairnError {
  return err instanceof UsageError || err instanceof InfraError;
}

function slotNumber(slot: Handle): number {
  // CK_SLOT_ID is a CK_ULONG in host byte order (little-endian on every platform Cairn targets).
  return slot.length >= 8 ? Number(slot.readBigUInt64LE(0)) : slot.readUInt32LE(0);
}

function findObjects(t: TokenSession, template: Pkcs11js.Template): Handle[] {
  const { p11 } = t.module;
  p11.C_FindObjectsInit(t.session, template);
  try {
    // Two are enough to tell "one" from "ambiguous".
    return p11.C_FindObjects(t.session, 2);
  } finally {
    p11.C_FindObjectsFinal(t.session);
  }
}

function keyTemplate(lib: Lib, uri: Pkcs11Uri, objectClass: number): Pkcs11js.Template {
  return [
    { type: lib.CKA_CLASS, value: objectClass },
    ...(uri.object === undefined ? [] : [{ type: lib.CKA_LABEL, value: uri.object }]),
    ...(uri.id === undefined ? [] : [{ type: lib.CKA_ID, value: uri.id }]),
  ];
}

interface TokenKey {
  readonly privateKey: Handle;
  readonly keyType: KeyType;
  readonly publicKey: KeyObject;
}

/** Finds the one private key the URI names, its type and its public half (from the token). */
function findKey(t: TokenSession, uri: Pkcs11Uri): TokenKey {
  const { lib, p11 } = t.module;
  const privates = findObjects(t, keyTemplate(lib, uri, lib.CKO_PRIVATE_KEY));
  const [privateKey] = privates;
  if (privateKey === undefined || privates.length > 1) {
    throw new UsageError(
      'PKCS11_KEY_NOT_FOUND',
      privateKey === undefined
        ? 'No private key on the token matches the URI'
        : 'More than one private key matches the URI',
      { details: { token: t.token, object: uri.object } },
    );
  }
  // The public half is read from the matching public-key object; the private key never is.
  const [kind, idAttr, labelAttr] = p11.C_GetAttributeValue(t.session, privateKey, [
    { type: lib.CKA_KEY_TYPE },
    { type: lib.CKA_ID },
    { type: lib.CKA_LABEL },
  ]);
  // CK_KEY_TYPE is a CK_ULONG in host byte order; key types fit in its low bytes.
  const ckk = kind!.value.readUIntLE(0, Math.min(6, kind!.value.length));
  const idValue = idAttr!.value;
  const labelValue = labelAttr!.value;
  if (ckk !== lib.CKK_EC && ckk !== CKK_EC_EDWARDS) {
    throw new UsageError('KEY_UNSUPPORTED', 'The token key is neither EC nor EdDSA', {
      details: { keyType: ckk },
    });
  }
  const publicTemplate: Pkcs11js.Template = [
    { type: lib.CKA_CLASS, value: lib.CKO_PUBLIC_KEY },
    ...(idValue.length > 0
      ? [{ type: lib.CKA_ID, value: idValue }]
      : [{ type: lib.CKA_LABEL, value: labelValue.toString('utf8') }]),
  ];
  const publics = findObjects(t, publicTemplate);
  const [publicHandle] = publics;
  if (publicHandle === undefined || publics.length > 1) {
    throw new UsageError(
      'PKCS11_KEY_NOT_FOUND',
      'The public key for the token key is missing or ambiguous',
      { details: { token: t.token, object: uri.object } },
    );
  }
  const [params, point] = p11.C_GetAttributeValue(t.session, publicHandle, [
    { type: lib.CKA_EC_PARAMS },
    { type: lib.CKA_EC_POINT },
  ]);
  const keyType = curveOf(params!.value);
  if ((keyType === 'ed25519') !== (ckk === CKK_EC_EDWARDS)) {
    throw new UsageError('KEY_UNSUPPORTED', 'The key type and its curve disagree');
  }
  return { privateKey, keyType, publicKey: publicKeyFromPoint(keyType, point!.value) };
}

/** CKA_EC_PARAMS (DER namedCurve OID, or PrintableString "edwards25519") → key type. */
function curveOf(params: Buffer): KeyType {
  try {
    if (params[0] === 0x13) {
      const name = readWhole(params, 0x13).content;
      if (Buffer.from(name).toString('latin1') === 'edwards25519') return 'ed25519';
    } else {
      const oid = decodeOid(readWhole(params, TAG.OID).content);
      const type = CURVE_OIDS[oid];
      if (type !== undefined) return type;
      throw new UsageError('KEY_UNSUPPORTED', `Unsupported curve ${oid} on the token`);
    }
  } catch (err) {
    if (!(err instanceof DerError)) throw err;
  }
  throw new UsageError('KEY_UNSUPPORTED', 'The token key has unreadable or unsupported EC params');
}

/** CKA_EC_POINT (a DER OCTET STRING around the point, or the raw point) → public KeyObject. */
function publicKeyFromPoint(keyType: KeyType, value: Buffer): KeyObject {
  const n = FIELD_BYTES[keyType];
  const rawLength = keyType === 'ed25519' ? n : 1 + 2 * n;
  let raw: Uint8Array = value;
  if (value.length !== rawLength) {
    try {
      raw = readWhole(value, TAG.OCTET_STRING).content;
    } catch {
      raw = new Uint8Array(0);
    }
  }
  try {
    if (raw.length !== rawLength) throw new Error('bad point length');
    if (keyType === 'ed25519') {
      return createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
        format: 'jwk',
      });
    }
    if (raw[0] !== 0x04) throw new Error('not an uncompressed point');
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: JWK_CURVE[keyType],
        x: Buffer.from(raw.subarray(1, 1 + n)).toString('base64url'),
        y: Buffer.from(raw.subarray(1 + n)).toString('base64url'),
      },
      format: 'jwk',
    });
  } catch (err) {
    throw new UsageError('KEY_MALFORMED', 'The token public key is not a valid point', {
      cause: err,
    });
  }
}

/** Raw PKCS#11 ECDSA output r‖s (each `n` bytes) → DER ECDSA-Sig-Value. */
export function ecdsaRawToDer(raw: Uint8Array, n: number): Buffer {
  if (raw.length !== 2 * n) {
    throw new InfraError('PKCS11_OPERATION_FAILED', 'The token returned a malformed signature', {
      details: { length: raw.length, expected: 2 * n },
    });
  }
  const int = (bytes: Uint8Array): Buffer => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const body = bytes.subarray(i);
    const pad = (body[0]! & 0x80) !== 0;
    return Buffer.concat([
      Buffer.from([0x02, ...derLength(body.length + (pad ? 1 : 0))]),
      pad ? Buffer.from([0]) : Buffer.alloc(0),
      body,
    ]);
  };
  const seq = Buffer.concat([int(raw.subarray(0, n)), int(raw.subarray(n))]);
  return Buffer.concat([Buffer.from([0x30, ...derLength(seq.length)]), seq]);
}

function derLength(length: number): number[] {
  return length < 0x80 ? [length] : [0x81, length];
}

function mechanismsOf(t: TokenSession): ReadonlySet<number> {
  try {
    return new Set(t.module.p11.C_GetMechanismList(t.slot));
  } catch (err) {
    throw tokenError(err, 'listing mechanisms');
  }
}

// ── the signer ──────────────────────────────────────────────────────────────────────────

/**
 * Opens a signer over a key inside a PKCS#11 token. ECDSA: the data is hashed here with the
 * curve's hash (SHA-256/384/512) and the token signs the digest with CKM_ECDSA; its raw r‖s is
 * DER-encoded as OMS carries it. Ed25519: CKM_EDDSA over the data. Unlike the file signer,
 * ECDSA signatures from a token are randomised (tokens do not implement RFC 6979), so the same
 * model signed twice gives different bundle bytes; both verify. Every signature is verified
 * with the public key before it is returned. Signing calls are serialised (one operation per
 * session at a time).
 */
export function pkcs11Signer(uri: string | Pkcs11Uri, options: Pkcs11Options): Pkcs11Signer {
  const parsed = typeof uri === 'string' ? parsePkcs11Uri(uri) : uri;
  const modulePath = modulePathOf(parsed, options.defaultModulePath);
  const t = openSession(parsed, modulePath, options.pin);
  let key: TokenKey;
  let mechanism: number;
  try {
    key = findKey(t, parsed);
    mechanism = key.keyType === 'ed25519' ? CKM_EDDSA : t.module.lib.CKM_ECDSA;
    if (!mechanismsOf(t).has(mechanism)) {
      throw new UsageError(
        'PKCS11_MECHANISM_UNSUPPORTED',
        `The token does not offer ${key.keyType === 'ed25519' ? 'CKM_EDDSA' : 'CKM_ECDSA'}`,
      );
    }
  } catch (err) {
    closeSession(t);
    throw isCairn(err) ? err : tokenError(err, 'finding the key');
  }
  const { keyType, publicKey, privateKey } = key;
  const hash = signatureHashFor(keyType);
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();

  const signOnce = async (data: SignInput): Promise<Buffer> => {
    if (closed) {
      throw new InfraError('PKCS11_TOKEN_UNAVAILABLE', 'The PKCS#11 signer has been closed');
    }
    const parts = signInputParts(data);
    let input: Buffer;
    if (hash === undefined) {
      input = Buffer.concat(parts); // Ed25519 (CKM_EDDSA) signs the message itself
    } else {
      const digest = createHash(hash);
      for (const part of parts) digest.update(part);
      input = digest.digest();
    }
    let raw: Buffer;
    try {
      t.module.p11.C_SignInit(t.session, { mechanism }, privateKey);
      raw = await t.module.p11.C_SignAsync(t.session, input, Buffer.alloc(512));
    } catch (err) {
      throw tokenError(err, 'signing');
    }
    const signature = hash === undefined ? raw : ecdsaRawToDer(raw, FIELD_BYTES[keyType]);
    if (!verifySignatureOverParts(publicKey, parts, signature)) {
      throw new InfraError('PKCS11_OPERATION_FAILED', 'A token signature failed verification', {
        hint: 'The token may be faulty or the public key object does not belong to the private key.',
      });
    }
    return signature;
  };

  const labelValue = parsed.object;
  return {
    keyType,
    publicKey,
    token: t.token,
    keyLabel: labelValue,
    keyId: parsed.id?.toString('hex'),
    sign: (data: SignInput): Promise<Buffer> => {
      const next = queue.then(
        () => signOnce(data),
        () => signOnce(data),
      );
      queue = next.catch(() => undefined);
      return next;
    },
    close: () => {
      if (closed) return;
      closed = true;
      closeSession(t);
    },
  };
}

export interface Pkcs11KeyGenOptions extends Pkcs11Options {
  readonly keyType: KeyType;
}

/**
 * Generates a key pair inside the token: the private key is sensitive and not extractable
 * (CKA_SENSITIVE true, CKA_EXTRACTABLE false), labelled and identified as the URI says
 * (`object=` required; `id=` optional). Returns the public key. Refuses if a key with that
 * label or id already exists.
 */
export function pkcs11GenerateKeyPair(
  uri: string | Pkcs11Uri,
  options: Pkcs11KeyGenOptions,
): KeyObject {
  const parsed = typeof uri === 'string' ? parsePkcs11Uri(uri) : uri;
  if (parsed.object === undefined) {
    throw new UsageError('PKCS11_URI_INVALID', 'Key generation needs object= (the key label)');
  }
  const modulePath = modulePathOf(parsed, options.defaultModulePath);
  const t = openSession(parsed, modulePath, options.pin);
  try {
    const { lib, p11 } = t.module;
    if (findObjects(t, keyTemplate(lib, parsed, lib.CKO_PRIVATE_KEY)).length > 0) {
      throw new UsageError('OUTPUT_EXISTS', 'The token already holds a key with this label/id', {
        hint: 'Choose another object= label (or id=).',
      });
    }
    const ed = options.keyType === 'ed25519';
    const mechanism = ed ? CKM_EC_EDWARDS_KEY_PAIR_GEN : lib.CKM_EC_KEY_PAIR_GEN;
    if (!mechanismsOf(t).has(mechanism)) {
      throw new UsageError(
        'PKCS11_MECHANISM_UNSUPPORTED',
        `The token cannot generate ${options.keyType} keys`,
      );
    }
    const common: Pkcs11js.Template = [
      { type: lib.CKA_TOKEN, value: true },
      { type: lib.CKA_LABEL, value: parsed.object },
      ...(parsed.id === undefined ? [] : [{ type: lib.CKA_ID, value: parsed.id }]),
    ];
    const pair = p11.C_GenerateKeyPair(
      t.session,
      { mechanism },
      [
        ...common,
        { type: lib.CKA_VERIFY, value: true },
        { type: lib.CKA_EC_PARAMS, value: Buffer.from(EC_PARAMS[options.keyType], 'hex') },
      ],
      [
        ...common,
        { type: lib.CKA_PRIVATE, value: true },
        { type: lib.CKA_SIGN, value: true },
        { type: lib.CKA_SENSITIVE, value: true },
        { type: lib.CKA_EXTRACTABLE, value: false },
      ],
    );
    const [point] = p11.C_GetAttributeValue(t.session, pair.publicKey, [
      { type: lib.CKA_EC_POINT },
    ]);
    return publicKeyFromPoint(options.keyType, point!.value);
  } catch (err) {
    throw isCairn(err) ? err : tokenError(err, 'generating a key');
  } finally {
    closeSession(t);
  }
}

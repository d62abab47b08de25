import { UsageError } from '../errors/index.js';

/**
 * An RFC 7512 `pkcs11:` URI, as far as Cairn uses one: which token, which key, which module and
 * where the PIN comes from. Parsed strictly: unknown, duplicate or empty attributes are refused,
 * and so is `pin-value` — a PIN in a URI ends up in argv, shell history and process listings.
 */
export interface Pkcs11Uri {
  /** CKA_LABEL of the token (`token=`), unpadded. */
  readonly token?: string;
  readonly manufacturer?: string;
  readonly serial?: string;
  readonly model?: string;
  /** Slot id (`slot-id=`, decimal). */
  readonly slotId?: number;
  /** CKA_LABEL of the key (`object=`). */
  readonly object?: string;
  /** CKA_ID of the key (`id=`, percent-encoded bytes). */
  readonly id?: Buffer;
  /** `type=`: only `private` is meaningful for a signing key. */
  readonly type?: 'private';
  /** Absolute path of the PKCS#11 module (`module-path=`). */
  readonly modulePath?: string;
  /** Absolute path of a file holding the PIN (`pin-source=file:…`). */
  readonly pinFile?: string;
}

type PathAttribute =
  'token' | 'manufacturer' | 'serial' | 'model' | 'slot-id' | 'object' | 'id' | 'type';
type QueryAttribute = 'module-path' | 'pin-source';

const PATH_ATTRIBUTES: ReadonlySet<string> = new Set<PathAttribute>([
  'token',
  'manufacturer',
  'serial',
  'model',
  'slot-id',
  'object',
  'id',
  'type',
]);
const QUERY_ATTRIBUTES: ReadonlySet<string> = new Set<QueryAttribute>([
  'module-path',
  'pin-source',
]);

/** URIs are short; a limit keeps hostile input cheap. */
const MAX_URI_CHARS = 4096;

// RFC 7512 §2.3: pk11-pchar and pk11-qchar (unreserved, pct-encoded, and the listed reserved
// characters). Anything else — spaces, quotes, `#`, `%` not followed by two hex digits — is refused.
const PATH_VALUE = /^(?:[A-Za-z0-9\-._~:[\]@!$'()*+,=&]|%[0-9A-Fa-f]{2})+$/;
const QUERY_VALUE = /^(?:[A-Za-z0-9\-._~:[\]@!$'()*+,=/?|]|%[0-9A-Fa-f]{2})+$/;

// The URI itself is never echoed in messages: a mistyped one may hold a secret.
function invalid(why: string): UsageError {
  return new UsageError('PKCS11_URI_INVALID', `Invalid pkcs11: URI: ${why}`);
}

/** Parses and validates a `pkcs11:` URI (RFC 7512). Throws PKCS11_URI_INVALID. */
export function parsePkcs11Uri(text: string): Pkcs11Uri {
  if (text.length > MAX_URI_CHARS) throw invalid(`longer than ${MAX_URI_CHARS} characters`);
  if (!text.toLowerCase().startsWith('pkcs11:')) throw invalid('it must start with pkcs11:');
  const rest = text.slice('pkcs11:'.length);
  const q = rest.indexOf('?');
  const pathPart = q === -1 ? rest : rest.slice(0, q);
  const queryPart = q === -1 ? '' : rest.slice(q + 1);
  if (q !== -1 && queryPart === '') throw invalid('empty query after "?"');

  const seen = new Set<string>();
  const attrs = new Map<string, string>();
  const take = (part: string, sep: string, allowed: ReadonlySet<string>, valueRe: RegExp) => {
    if (part === '') return;
    for (const item of part.split(sep)) {
      const eq = item.indexOf('=');
      if (eq <= 0) throw invalid(`attribute without a name or value: "${safe(item)}"`);
      const name = item.slice(0, eq).toLowerCase();
      const value = item.slice(eq + 1);
      if (name === 'pin-value') {
        throw new UsageError('PKCS11_URI_INVALID', 'pin-value is not accepted in a pkcs11: URI', {
          hint: 'Put the PIN in CAIRN_PKCS11_PIN or a file named by pin-source=file:/path; never in a URI or on the command line.',
        });
      }
      if (!allowed.has(name)) {
        const where = allowed === PATH_ATTRIBUTES ? 'path' : 'query';
        throw invalid(`unsupported ${where} attribute "${safe(name)}"`);
      }
      if (seen.has(name)) throw invalid(`attribute "${name}" given twice`);
      seen.add(name);
      if (value === '' || !valueRe.test(value)) {
        throw invalid(`attribute "${name}" has an empty or badly encoded value`);
      }
      attrs.set(name, value);
    }
  };
  take(pathPart, ';', PATH_ATTRIBUTES, PATH_VALUE);
  take(queryPart, '&', QUERY_ATTRIBUTES, QUERY_VALUE);

  const text_ = (name: string): string | undefined => {
    const raw = attrs.get(name);
    if (raw === undefined) return undefined;
    const bytes = percentDecode(raw);
    const decoded = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    try {
      const s = decoded.decode(bytes);
      if ([...s].some((c) => c < ' ' || c === '\u007f')) throw new Error('control character');
      return s;
    } catch {
      throw invalid(`attribute "${name}" is not valid UTF-8 text`);
    }
  };

  let slotId: number | undefined;
  const slot = attrs.get('slot-id');
  if (slot !== undefined) {
    if (!/^(0|[1-9][0-9]{0,15})$/.test(slot) || !Number.isSafeInteger(Number(slot))) {
      throw invalid('slot-id must be a decimal number');
    }
    slotId = Number(slot);
  }
  const type = attrs.get('type');
  if (type !== undefined && type !== 'private') {
    throw invalid(`type=${safe(type)} cannot sign; use type=private or leave it out`);
  }
  const modulePath = text_('module-path');
  if (modulePath !== undefined && !modulePath.startsWith('/')) {
    throw invalid('module-path must be an absolute path');
  }
  let pinFile: string | undefined;
  const pinSource = text_('pin-source');
  if (pinSource !== undefined) {
    // RFC 7512 leaves the form open; Cairn accepts a file URI with an absolute local path only.
    const m = /^file:(?:\/\/(?:localhost)?)?(\/.*)$/.exec(pinSource);
    if (m === null) throw invalid('pin-source must be file:/absolute/path');
    pinFile = m[1]!;
  }
  const id = attrs.get('id');
  const object = text_('object');
  if (object === undefined && id === undefined) {
    throw invalid('name the key with object= (its label) or id= (its CKA_ID)');
  }
  const token = text_('token');
  const manufacturer = text_('manufacturer');
  const serial = text_('serial');
  const model = text_('model');
  return {
    ...(token === undefined ? {} : { token }),
    ...(manufacturer === undefined ? {} : { manufacturer }),
    ...(serial === undefined ? {} : { serial }),
    ...(model === undefined ? {} : { model }),
    ...(slotId === undefined ? {} : { slotId }),
    ...(object === undefined ? {} : { object }),
    ...(id === undefined ? {} : { id: percentDecode(id) }),
    ...(type === undefined ? {} : { type }),
    ...(modulePath === undefined ? {} : { modulePath }),
    ...(pinFile === undefined ? {} : { pinFile }),
  };
}

function percentDecode(value: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25) {
      out.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(c);
  }
  return Buffer.from(out);
}

/** A short printable excerpt of untrusted text for messages. */
function safe(s: string): string {
  return s.slice(0, 40).replace(/[^\x20-\x7e]/g, '?');
}

/** Formats a URI back to text without any PIN source (for messages and JSON output). */
export function describePkcs11Uri(uri: Pkcs11Uri): string {
  const enc = (s: string) =>
    encodeURIComponent(s).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  const path: string[] = [];
  if (uri.token !== undefined) path.push(`token=${enc(uri.token)}`);
  if (uri.slotId !== undefined) path.push(`slot-id=${uri.slotId}`);
  if (uri.object !== undefined) path.push(`object=${enc(uri.object)}`);
  if (uri.id !== undefined) {
    path.push(`id=${[...uri.id].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`);
  }
  if (uri.type !== undefined) path.push(`type=${uri.type}`);
  return `pkcs11:${path.join(';')}`;
}

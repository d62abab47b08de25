import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError, ValidationError } from '../errors/index.js';
import { readSmallFile, writeFileAtomic } from '../model/index.js';
import type { Io } from './output.js';

/** The environment variable a CI job sets instead of logging in (never argv). */
export const TOKEN_ENV = 'CAIRN_TOKEN';
/** The environment variable naming the default server when none is given or logged in. */
export const SERVER_ENV = 'CAIRN_SERVER';

/** Tokens are JWTs (OIDC ID tokens) or `cairn_…` API tokens: a few KiB at most. */
export const MAX_TOKEN_BYTES = 16 * 1024;
const MAX_CREDENTIALS_BYTES = 1024 * 1024;
const MAX_SERVERS = 256;

/** Visible ASCII only: a token never contains spaces, quotes or control characters. */
const TOKEN_SHAPE = /^[\x21-\x7e]+$/;

const entrySchema = z
  .object({
    token: z.string().min(1).max(MAX_TOKEN_BYTES).regex(TOKEN_SHAPE),
    kind: z.enum(['api-token', 'oidc']),
    issuer: z.string().max(2048),
    subject: z.string().max(2048),
    savedAt: z.string().max(64),
  })
  .strict();

const fileSchema = z
  .object({
    version: z.literal(1),
    default: z.string().max(2048).optional(),
    servers: z.record(z.string().max(2048), entrySchema),
  })
  .strict();

export type CredentialEntry = z.infer<typeof entrySchema>;
export type CredentialsFile = z.infer<typeof fileSchema>;

/** `$XDG_CONFIG_HOME/cairn/credentials.json`, or `~/.config/cairn/credentials.json`. */
export function credentialsPath(io: Io): string {
  const xdg = io.env['XDG_CONFIG_HOME'];
  const base =
    xdg !== undefined && xdg !== '' && xdg.startsWith('/')
      ? xdg
      : join(io.env['HOME'] ?? homedir(), '.config');
  return join(base, 'cairn', 'credentials.json');
}

/**
 * A server URL in one canonical spelling (origin plus path, no trailing slash), so `login` and
 * later commands find the same entry. Only http and https; no credentials in the URL.
 */
export function normaliseServerUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new UsageError('USAGE', `Not a server URL: ${JSON.stringify(raw)}`, {
      hint: 'Give the server as http://host:port or https://host.',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError('USAGE', `Server URL must be http or https, got ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new UsageError('USAGE', 'Server URL must not contain credentials', {
      hint: 'Log in with `cairn login SERVER` and give the token on stdin or with --token-file.',
    });
  }
  if (url.search !== '' || url.hash !== '') {
    throw new UsageError('USAGE', 'Server URL must not contain a query or fragment');
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Reads the credentials file; an absent file is an empty one. */
export function readCredentials(io: Io): CredentialsFile {
  const path = credentialsPath(io);
  let bytes: Buffer;
  try {
    bytes = readSmallFile(path, MAX_CREDENTIALS_BYTES, 'Credentials file');
  } catch (err) {
    if (err instanceof UsageError && err.code === 'INPUT_NOT_FOUND') {
      return { version: 1, servers: {} };
    }
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw credentialsInvalid(path, ['not JSON']);
  }
  const result = fileSchema.safeParse(parsed);
  if (!result.success) {
    throw credentialsInvalid(
      path,
      result.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
    );
  }
  if (Object.keys(result.data.servers).length > MAX_SERVERS) {
    throw credentialsInvalid(path, [`more than ${MAX_SERVERS} servers`]);
  }
  return result.data;
}

function credentialsInvalid(path: string, issues: unknown[]): ValidationError {
  return new ValidationError('CREDENTIALS_INVALID', `Credentials file is not valid: ${path}`, {
    details: { path, issues },
  });
}

/** Stores (or replaces) the entry for `server` and makes it the default; 0600, atomic. */
export function saveCredential(io: Io, server: string, entry: CredentialEntry): string {
  const path = credentialsPath(io);
  const current = readCredentials(io);
  const next: CredentialsFile = {
    version: 1,
    default: server,
    servers: { ...current.servers, [server]: entry },
  };
  writePrivate(path, next);
  return path;
}

/** Removes the entry for `server`; returns whether one existed. */
export function removeCredential(io: Io, server: string): boolean {
  const current = readCredentials(io);
  if (current.servers[server] === undefined) return false;
  const servers = Object.fromEntries(
    Object.entries(current.servers).filter(([name]) => name !== server),
  );
  const next: CredentialsFile = {
    version: 1,
    ...(current.default === undefined || current.default === server
      ? {}
      : { default: current.default }),
    servers,
  };
  writePrivate(credentialsPath(io), next);
  return true;
}

function writePrivate(path: string, value: CredentialsFile): void {
  const dir = resolve(path, '..');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(path, Buffer.from(`${JSON.stringify(value, null, 2)}\n`), {
    overwrite: true,
    mode: 0o600,
  });
}

/** Checks a token's shape without ever echoing it. */
export function checkTokenShape(token: string, source: string): string {
  const trimmed = token.replace(/\r?\n$/, '').trim();
  if (trimmed === '') {
    throw new UsageError('CREDENTIALS_MISSING', `No token in ${source}`, {
      hint: `Give the token on stdin, with --token-file FILE or in ${TOKEN_ENV}.`,
    });
  }
  if (Buffer.byteLength(trimmed) > MAX_TOKEN_BYTES || !TOKEN_SHAPE.test(trimmed)) {
    throw new UsageError('USAGE', `The token in ${source} is not a token`, {
      hint: 'A token is one line of visible ASCII: a cairn_… API token or an OIDC ID token (JWT).',
    });
  }
  return trimmed;
}

/** What kind of token this is, from its shape: three base64url parts is a JWT. */
export function tokenKind(token: string): CredentialEntry['kind'] {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token) ? 'oidc' : 'api-token';
}

export interface ResolvedServer {
  readonly server: string;
  readonly token: string;
  /** Where the token came from, for messages (never the token itself). */
  readonly source: 'env' | 'credentials';
}

/**
 * The server and token for a command: `--server` (or CAIRN_SERVER, or the logged-in default),
 * and the token from CAIRN_TOKEN when set (CI), else the stored login for that server.
 */
export function resolveServer(io: Io, serverFlag: string | undefined): ResolvedServer {
  const creds = readCredentials(io);
  const envServer = io.env[SERVER_ENV];
  const raw =
    serverFlag ?? (envServer !== undefined && envServer !== '' ? envServer : creds.default);
  if (raw === undefined) {
    throw new UsageError('CREDENTIALS_MISSING', 'No server given and none logged in', {
      hint: `Pass --server URL, set ${SERVER_ENV}, or run \`cairn login SERVER\` first.`,
    });
  }
  const server = normaliseServerUrl(raw);
  const envToken = io.env[TOKEN_ENV];
  if (envToken !== undefined && envToken !== '') {
    return { server, token: checkTokenShape(envToken, TOKEN_ENV), source: 'env' };
  }
  const entry = creds.servers[server];
  if (entry === undefined) {
    throw new UsageError('CREDENTIALS_MISSING', `Not logged in to ${server}`, {
      hint: `Run \`cairn login ${server}\`, or set ${TOKEN_ENV} for this command.`,
      details: { server },
    });
  }
  return { server, token: entry.token, source: 'credentials' };
}

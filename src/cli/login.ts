import { resolve } from 'node:path';
import { UsageError } from '../errors/index.js';
import { readSmallFile } from '../model/index.js';
import {
  MAX_TOKEN_BYTES,
  TOKEN_ENV,
  checkTokenShape,
  credentialsPath,
  normaliseServerUrl,
  readCredentials,
  removeCredential,
  resolveServer,
  saveCredential,
  tokenKind,
} from './credentials.js';
import { note, printJson, say, type Io } from './output.js';
import { RegistryApi, RegistryClient } from './registry-client.js';

/** stdin, which `Io` leaves out: only login reads it. Tests of it spawn the real binary. */
export type Stdin = NodeJS.ReadableStream & {
  isTTY?: boolean;
  setRawMode?: (mode: boolean) => unknown;
};

export interface LoginFlags {
  readonly tokenFile?: string;
  readonly json?: boolean;
}

/** A registry client for `server` with `token`; the caller closes it. */
export function openApi(server: string, token: string): RegistryApi {
  return new RegistryApi(new RegistryClient({ server, token }));
}

/** Runs `body` with an API for the resolved server and token, then closes its sockets. */
export async function withApi<T>(
  io: Io,
  serverFlag: string | undefined,
  body: (api: RegistryApi, server: string) => Promise<T>,
): Promise<T> {
  const { server, token } = resolveServer(io, serverFlag);
  const api = openApi(server, token);
  try {
    return await body(api, server);
  } finally {
    api.client.close();
  }
}

/**
 * `cairn login SERVER`: the token comes from --token-file, CAIRN_TOKEN, or stdin (hidden when a
 * terminal) — never argv. It is checked with GET /v1/whoami before it is stored.
 */
export async function loginCommand(
  io: Io,
  serverArg: string,
  flags: LoginFlags,
  stdin: Stdin = process.stdin,
): Promise<number> {
  const server = normaliseServerUrl(serverArg);
  const token = await readToken(io, flags, stdin);
  const api = openApi(server, token);
  let who;
  try {
    who = await api.whoami();
  } finally {
    api.client.close();
  }
  const path = saveCredential(io, server, {
    token,
    kind: tokenKind(token),
    issuer: who.identity.issuer,
    subject: who.identity.subject,
    savedAt: new Date().toISOString(),
  });
  if (flags.json) {
    printJson(io, {
      ok: true,
      server,
      identity: who.identity,
      roles: who.roles,
      credentials: path,
    });
  } else {
    say(io, `Logged in to ${server} as ${who.identity.subject} (${who.identity.issuer})`);
    for (const r of who.roles)
      say(io, `  ${r.role.padEnd(11)} ${r.repository} in ${r.environment}`);
    note(io, `Credentials saved to ${path} (mode 0600)`);
  }
  return 0;
}

async function readToken(io: Io, flags: LoginFlags, stdin: Stdin): Promise<string> {
  if (flags.tokenFile !== undefined) {
    const bytes = readSmallFile(resolve(io.cwd, flags.tokenFile), MAX_TOKEN_BYTES, 'Token file');
    return checkTokenShape(bytes.toString('utf8'), flags.tokenFile);
  }
  const env = io.env[TOKEN_ENV];
  if (env !== undefined && env !== '') return checkTokenShape(env, TOKEN_ENV);
  if (stdin.isTTY === true) {
    io.stderr.write('Token (input hidden): ');
    const line = await readHiddenLine(stdin);
    io.stderr.write('\n');
    return checkTokenShape(line, 'the terminal');
  }
  return checkTokenShape(await readAll(stdin, MAX_TOKEN_BYTES), 'stdin');
}

async function readAll(stream: NodeJS.ReadableStream, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > limit) {
      throw new UsageError('INPUT_TOO_LARGE', `The token on stdin is over ${limit} bytes`);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One line from a terminal without echoing it. */
function readHiddenLine(stdin: Stdin): Promise<string> {
  return new Promise((resolveLine, reject) => {
    let line = '';
    stdin.setRawMode?.(true);
    stdin.resume();
    const done = (err?: Error) => {
      stdin.removeListener('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      if (err === undefined) resolveLine(line);
      else reject(err);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new UsageError('USAGE', 'Login cancelled'));
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
        else if (line.length < MAX_TOKEN_BYTES) line += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export function logoutCommand(
  io: Io,
  serverArg: string | undefined,
  flags: { json?: boolean },
): number {
  const server =
    serverArg === undefined ? readCredentials(io).default : normaliseServerUrl(serverArg);
  if (server === undefined) {
    throw new UsageError('CREDENTIALS_MISSING', 'Not logged in to any server');
  }
  const removed = removeCredential(io, server);
  if (flags.json) printJson(io, { ok: true, server, removed, credentials: credentialsPath(io) });
  else say(io, removed ? `Logged out of ${server}` : `Was not logged in to ${server}`);
  return 0;
}

/** `cairn whoami`: who the stored (or CAIRN_TOKEN) credentials are on the server. */
export async function whoamiCommand(
  io: Io,
  flags: { server?: string; json?: boolean },
): Promise<number> {
  return withApi(io, flags.server, async (api, server) => {
    const who = await api.whoami();
    if (flags.json) printJson(io, { ok: true, server, identity: who.identity, roles: who.roles });
    else {
      say(io, `${who.identity.subject} (${who.identity.issuer}) on ${server}`);
      for (const r of who.roles)
        say(io, `  ${r.role.padEnd(11)} ${r.repository} in ${r.environment}`);
    }
    return 0;
  });
}

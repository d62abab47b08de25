/**
 * A real, throwaway PostgreSQL for the tests: `initdb` into a temporary directory, started on a
 * free loopback port with its socket in that directory, stopped and removed afterwards. As root
 * (PostgreSQL refuses to run as root) the cluster belongs to, and runs as, the `postgres` user.
 *
 * `CAIRN_TEST_POSTGRES_URL=postgres://user@host:port/db` uses an existing server instead (the user
 * needs CREATEDB: every test gets a database of its own).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { requireService } from './services.js';

export interface PostgresServer {
  /** Connection URL of the server's maintenance database. */
  readonly url: string;
  /** Stop and start again (a database restart); only for servers these tests started. */
  stop(): void;
  start(): void;
  /** Stops the server and removes its files. */
  remove(): void;
}

function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        resolve(typeof address === 'object' && address !== null ? address.port : 0),
      );
    });
  });
}

/** Runs a PostgreSQL tool as the unprivileged owner of the cluster. */
function asOwner(bin: string, tool: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const [command, argv] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]]
    : [join(bin, tool), args];
  const result = spawnSync(command, argv, { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) {
    throw new Error(`${tool} failed (${String(result.status)}): ${result.stderr}${result.stdout}`);
  }
}

/**
 * Starts a fresh cluster, or answers `undefined` when PostgreSQL is not installed (the caller
 * then skips loudly, or fails under CI=true, with `requireService`).
 */
export async function startPostgres(): Promise<PostgresServer | undefined> {
  const bin = postgresBin();
  if (bin === undefined) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'cairn-pg-'));
  if (process.getuid?.() === 0) {
    const id = (flag: string) =>
      Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, id('-u'), id('-g'));
  }
  const data = join(dir, 'data');
  asOwner(bin, 'initdb', ['-D', data, '-A', 'trust', '-U', 'cairn', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`;
  const start = () =>
    asOwner(bin, 'pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-o', options, 'start']);
  const stop = () => asOwner(bin, 'pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  return {
    url: `postgres://cairn@127.0.0.1:${port}/postgres`,
    start,
    stop,
    remove: () => {
      try {
        stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A started server for one test, removed after it; `undefined` (skipped) when not installed. */
export async function ownPostgres(t: TestContext): Promise<PostgresServer | undefined> {
  const server = await startPostgres();
  if (server === undefined) {
    requireService(
      t,
      'PostgreSQL (initdb under /usr/lib/postgresql/*/bin)',
      'apt-get install postgresql',
    );
    return undefined;
  }
  t.after(() => server.remove());
  return server;
}

let shared: Promise<PostgresServer | undefined> | undefined;

/**
 * The PostgreSQL the contract tests use: `CAIRN_TEST_POSTGRES_URL`, or one throwaway server per
 * test process, removed by `removeSharedPostgres` (call it from a top-level `after`).
 */
export async function sharedPostgres(t: TestContext): Promise<{ url: string } | undefined> {
  const external = process.env['CAIRN_TEST_POSTGRES_URL'];
  if (external !== undefined && external !== '') return { url: external };
  shared ??= startPostgres();
  const server = await shared;
  if (server === undefined) {
    requireService(
      t,
      'PostgreSQL (initdb under /usr/lib/postgresql/*/bin)',
      'apt-get install postgresql',
    );
  }
  return server;
}

export async function removeSharedPostgres(): Promise<void> {
  (await shared)?.remove();
}

/** A fresh, empty database on `server` for one test, dropped after it. */
export async function freshDatabase(t: TestContext, server: { url: string }): Promise<string> {
  const name = `cairn_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  t.after(async () => {
    const cleanup = new pg.Client({ connectionString: server.url });
    await cleanup.connect();
    try {
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await cleanup.end();
    }
  });
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return url.toString();
}

import pg from 'pg';
import { InfraError, isCairnError } from '../errors/index.js';
import {
  applyMigrations,
  schemaMigrations,
  sqlMetadataStore,
  type SqlDriver,
  type SqlQueryer,
} from './sql-store.js';
import type { MetadataStore } from './types.js';

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/database` (a password belongs in PGPASSWORD or ~/.pgpass, not argv). */
  readonly url: string;
  /** Connections in this server's pool. Default 10. */
  readonly poolSize?: number;
  /** Give up connecting after this long (ms): the store answers STORE_UNAVAILABLE. Default 5000. */
  readonly connectTimeoutMs?: number;
  /** Longest a statement (including a wait for a tag or audit lock) may run (ms). Default 30000. */
  readonly statementTimeoutMs?: number;
}

/** Advisory lock key of schema migrations (any constant shared by every Cairn server). */
const MIGRATION_LOCK = 'cairn:schema-migration';
/** SQLSTATEs worth one more try: the transaction lost a race, nothing was written. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 4;

/** Errors that mean the database is down, unreachable, shutting down or out of connections. */
function unavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (/^(08|57P|53)/.test(code)) return true;
    if (
      /^E(CONNREFUSED|CONNRESET|TIMEDOUT|PIPE|HOSTUNREACH|NETUNREACH|NOTFOUND|AI_AGAIN)$/.test(code)
    )
      return true;
  }
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|connection error|Cannot use a pool after calling end|Client was closed|not queryable/i.test(
    message,
  );
}

function storeError(error: unknown): unknown {
  if (isCairnError(error)) return error;
  if (unavailable(error)) {
    const code = (error as { code?: unknown } | null)?.code;
    return new InfraError(
      'STORE_UNAVAILABLE',
      `The PostgreSQL database cannot serve: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
        details: { backend: 'postgres', ...(typeof code === 'string' ? { code } : {}) },
      },
    );
  }
  return error;
}

/** `?` placeholders (the store's one SQL dialect) to PostgreSQL's `$1…`. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function queryerFor(client: pg.PoolClient): SqlQueryer {
  return {
    all: async (sql, params = []) =>
      (await client.query<Record<string, unknown>>(numbered(sql), [...params])).rows,
    run: async (sql, params = []) => (await client.query(numbered(sql), [...params])).rowCount ?? 0,
    // Held until COMMIT/ROLLBACK; every server on the database takes the same key.
    lock: async (key) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
    },
  };
}

/**
 * The metadata store on PostgreSQL, for several Cairn servers on one database. Every method is one
 * transaction; tag moves and audit appends are serialised by advisory transaction locks taken
 * inside it, so correctness never depends on which server (or pool connection) runs the request.
 */
export function openPostgresStore(options: PostgresStoreOptions): MetadataStore {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    application_name: 'cairn',
  });
  // An idle connection dropped by the server (restart, failover) is discarded by the pool; the
  // next request opens a new one. Without a listener the error would end the process.
  pool.on('error', () => undefined);

  const listening = new WeakSet<pg.PoolClient>();
  const attempt = async <T>(fn: (q: SqlQueryer) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw storeError(error);
    }
    if (!listening.has(client)) {
      // A connection that dies while checked out also emits 'error'; the failed query reports it.
      client.on('error', () => undefined);
      listening.add(client);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(queryerFor(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      if (unavailable(error)) broken = true;
      throw error;
    } finally {
      client.release(broken);
    }
  };

  const transaction = async <T>(fn: (q: SqlQueryer) => Promise<T>): Promise<T> => {
    for (let n = 1; ; n++) {
      try {
        return await attempt(fn);
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        if (n < MAX_ATTEMPTS && typeof code === 'string' && RETRYABLE.has(code)) continue;
        throw storeError(error);
      }
    }
  };

  // A single SELECT runs on any pool connection in autocommit mode: one round trip.
  const poolQueryer: SqlQueryer = {
    all: async (sql, params = []) =>
      (await pool.query<Record<string, unknown>>(numbered(sql), [...params])).rows,
    run: async (sql, params = []) => (await pool.query(numbered(sql), [...params])).rowCount ?? 0,
    lock: () => Promise.reject(new InfraError('INTERNAL', 'A read cannot take a lock')),
  };
  const read = async <T>(fn: (q: SqlQueryer) => Promise<T>): Promise<T> => {
    try {
      return await fn(poolQueryer);
    } catch (error) {
      throw storeError(error);
    }
  };

  let ended = false;
  const driver: SqlDriver = {
    backend: 'postgres',
    transaction,
    read,
    migrate: () =>
      transaction(async (q) => {
        // Two servers starting at once: the second waits here, then finds the schema current.
        await q.lock(MIGRATION_LOCK);
        await applyMigrations(
          q,
          schemaMigrations({
            id: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
            time: 'TIMESTAMPTZ',
            bigint: 'BIGINT',
          }),
        );
      }),
    close: async () => {
      if (ended) return;
      ended = true;
      await pool.end();
    },
  };
  return sqlMetadataStore(driver);
}

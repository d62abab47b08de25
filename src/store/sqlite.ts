import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InfraError, isCairnError } from '../errors/index.js';
import {
  applyMigrations,
  schemaMigrations,
  sqlMetadataStore,
  type SqlDriver,
  type SqlQueryer,
  type SqlValue,
} from './sql-store.js';
import type { MetadataStore } from './types.js';

export interface SqliteStoreOptions {
  /** Database file (created with its directory if absent), or `:memory:` for tests. */
  readonly path: string;
  /** How long a writer waits for another process's write transaction (ms). Default 5000. */
  readonly busyTimeoutMs?: number;
}

/** SQLite result codes that mean "the database cannot serve now", not "the request is wrong". */
const UNAVAILABLE =
  /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|FULL|READONLY|CORRUPT|NOTADB|PROTOCOL|NOMEM)/;

function storeError(error: unknown): unknown {
  if (isCairnError(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const closed =
    error instanceof TypeError && /database connection is not open/i.test(error.message);
  if (closed || (typeof code === 'string' && UNAVAILABLE.test(code))) {
    return new InfraError(
      'STORE_UNAVAILABLE',
      `The SQLite database cannot serve: ${String((error as Error).message)}`,
      {
        cause: error,
        details: { backend: 'sqlite', ...(typeof code === 'string' ? { code } : {}) },
      },
    );
  }
  return error;
}

function bind(params: readonly SqlValue[]): (string | number | null)[] {
  return params.map((p) => (p instanceof Date ? p.toISOString() : p));
}

/**
 * Transactions of one process on one database file, in order. better-sqlite3 is synchronous: a
 * second connection of the same process waiting on SQLite's lock would block the very thread the
 * first one needs to commit. So connections of one process to one file take turns here; other
 * processes are kept out by SQLite's own locks (`BEGIN IMMEDIATE` + busy timeout).
 */
const lines = new Map<string, { tail: Promise<unknown> }>();

function transactionLine(path: string): { tail: Promise<unknown> } {
  const key = path === ':memory:' ? `:memory:${lines.size}` : resolve(path);
  let line = lines.get(key);
  if (line === undefined) {
    line = { tail: Promise.resolve() };
    if (path !== ':memory:') lines.set(key, line);
  }
  return line;
}

/**
 * The embedded metadata store: one SQLite file in WAL mode. Write transactions are
 * `BEGIN IMMEDIATE`, so writers (also from other processes on the same file) are serialised by
 * SQLite itself. The connection runs one transaction at a time, queued the way a pool of one
 * connection would queue them.
 */
export function openSqliteStore(options: SqliteStoreOptions): MetadataStore {
  let db: Database.Database;
  try {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    db = new Database(options.path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
  } catch (error) {
    const e = storeError(error);
    throw isCairnError(e)
      ? e
      : new InfraError('STORE_UNAVAILABLE', `Cannot open SQLite database ${options.path}`, {
          cause: error,
        });
  }

  // Prepared once per SQL text (the store issues a fixed set of statements).
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  const queryer: SqlQueryer = {
    all: (sql, params = []) => {
      const statement = prepare(sql);
      return Promise.resolve(
        statement.reader
          ? (statement.all(...bind(params)) as Record<string, unknown>[])
          : (statement.run(...bind(params)), []),
      );
    },
    run: (sql, params = []) => Promise.resolve(prepare(sql).run(...bind(params)).changes),
    lock: () => Promise.resolve(),
  };

  const line = transactionLine(options.path);
  /** Runs `body` when the connection is free (no other transaction of this process is open). */
  const inLine = <T>(body: () => Promise<T>): Promise<T> => {
    const next = line.tail.then(body, body);
    line.tail = next.catch(() => undefined);
    return next;
  };
  const transaction = <T>(fn: (q: SqlQueryer) => Promise<T>): Promise<T> =>
    inLine(async () => {
      try {
        db.exec('BEGIN IMMEDIATE');
      } catch (error) {
        throw storeError(error);
      }
      try {
        const result = await fn(queryer);
        db.exec('COMMIT');
        return result;
      } catch (error) {
        if (db.open && db.inTransaction) db.exec('ROLLBACK');
        throw storeError(error);
      }
    });
  // One SELECT in autocommit mode: atomic, and it takes no write lock.
  const read = <T>(fn: (q: SqlQueryer) => Promise<T>): Promise<T> =>
    inLine(async () => {
      try {
        return await fn(queryer);
      } catch (error) {
        throw storeError(error);
      }
    });

  const driver: SqlDriver = {
    backend: 'sqlite',
    transaction,
    read,
    migrate: () =>
      transaction(async (q) => {
        await applyMigrations(
          q,
          schemaMigrations({
            id: 'INTEGER PRIMARY KEY AUTOINCREMENT',
            time: 'TEXT',
            bigint: 'INTEGER',
          }),
        );
      }),
    close: async () => {
      await line.tail;
      if (db.open) db.close();
    },
  };
  return sqlMetadataStore(driver);
}

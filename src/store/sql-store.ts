import { InfraError, UsageError, ValidationError, VerificationError } from '../errors/index.js';
import { hashBytes } from '../digest/index.js';
import { checkDate, checkDigest, checkInteger, checkOneOf, checkText } from './checks.js';
import { auditRecordFromBody, canonicalJson, chainAuditRecord } from './audit-chain.js';
import { BUNDLE_KINDS, ROLES } from './types.js';
import type {
  Actor,
  ApiTokenRecord,
  ArtifactRecord,
  AuditRecord,
  BundleRecord,
  MetadataStore,
  NewApiToken,
  NewArtifact,
  NewAuditEvent,
  NewBundle,
  NewRepository,
  PolicyDataRecord,
  Repository,
  Role,
  RoleBinding,
  Sha256Digest,
  TagHistoryEntry,
  TagMove,
  TagRecord,
} from './types.js';

/**
 * What the SQL metadata store needs from a database: parameterised queries (`?` placeholders)
 * inside a transaction. SQLite and PostgreSQL each implement this once; the store's rules
 * (compare-and-set, history, audit chaining) are written here once, so both backends keep them
 * the same way.
 */
export interface SqlQueryer {
  all(sql: string, params?: readonly SqlValue[]): Promise<Record<string, unknown>[]>;
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * Serialises writers on `key` until the transaction ends (PostgreSQL: an advisory transaction
   * lock; SQLite: a no-op, its write transactions are already exclusive).
   */
  lock(key: string): Promise<void>;
}

export type SqlValue = string | number | null | Date;

export interface SqlDriver {
  readonly backend: 'sqlite' | 'postgres';
  /** Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (q: SqlQueryer) => Promise<T>): Promise<T>;
  /**
   * Runs `fn`, which issues exactly one SELECT (atomic on its own), without a transaction of its
   * own: a read costs one round trip, and takes no write lock.
   */
  read<T>(fn: (q: SqlQueryer) => Promise<T>): Promise<T>;
  migrate(): Promise<void>;
  close(): Promise<void>;
}

const AUDIT_LOCK = 'cairn:audit-head';
const POLICY_DATA_KINDS = [
  'exception',
  'break-glass',
] as const satisfies readonly PolicyDataRecord['kind'][];
const DEFAULT_AUDIT_LIMIT = 1000;
const MAX_AUDIT_LIMIT = 10_000;

/** The metadata store over any SqlDriver. */
export function sqlMetadataStore(driver: SqlDriver): MetadataStore {
  const tx = <T>(fn: (q: SqlQueryer) => Promise<T>): Promise<T> => driver.transaction(fn);
  const read = <T>(fn: (q: SqlQueryer) => Promise<T>): Promise<T> => driver.read(fn);
  const one = async (q: SqlQueryer, sql: string, params: readonly SqlValue[]) =>
    (await q.all(sql, params))[0];

  const requireRepository = async (q: SqlQueryer, name: string): Promise<Repository> => {
    const row = await one(q, 'SELECT * FROM repositories WHERE name = ?', [name]);
    if (row === undefined) {
      throw new UsageError('REPOSITORY_NOT_FOUND', `Repository '${name}' does not exist`, {
        details: { repository: name },
      });
    }
    return repositoryFromRow(row);
  };

  return {
    backend: driver.backend,
    migrate: () => driver.migrate(),
    ping: () => read(async (q) => void (await q.all('SELECT 1 AS one'))),
    close: () => driver.close(),

    createRepository: async (repository: NewRepository) => {
      checkText('name', repository.name);
      checkDate('at', repository.at);
      return await tx(async (q) => {
        const inserted = await q.run(
          'INSERT INTO repositories (name, protected, created_by, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING',
          [
            repository.name,
            repository.protected ? 1 : 0,
            actorText(repository.createdBy),
            repository.at,
          ],
        );
        if (inserted === 0) {
          throw new UsageError(
            'REPOSITORY_EXISTS',
            `Repository '${repository.name}' already exists`,
            { details: { repository: repository.name } },
          );
        }
        return requireRepository(q, repository.name);
      });
    },
    getRepository: (name) =>
      read(async (q) => {
        const row = await one(q, 'SELECT * FROM repositories WHERE name = ?', [name]);
        return row === undefined ? undefined : repositoryFromRow(row);
      }),
    listRepositories: () =>
      read(async (q) =>
        (await q.all('SELECT * FROM repositories ORDER BY name')).map(repositoryFromRow),
      ),

    putArtifact: async (artifact: NewArtifact) => {
      checkArtifact(artifact);
      return await tx(async (q) => {
        await requireRepository(q, artifact.repository);
        const key = [artifact.repository, artifact.environment, artifact.digest] as const;
        const inserted = await q.run(
          `INSERT INTO artifacts (repository, environment, digest, resources, serialization, pushed_by,
             pushed_at, promoted_from_environment, promoted_audit_seq)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (repository, environment, digest) DO NOTHING`,
          [
            ...key,
            JSON.stringify(artifact.resources),
            JSON.stringify(artifact.serialization),
            actorText(artifact.pushedBy),
            artifact.at,
            artifact.promotedFrom?.environment ?? null,
            artifact.promotedFrom?.auditSeq ?? null,
          ],
        );
        if (inserted > 0) {
          for (const blob of new Set(artifact.resources.map((r) => r.blob))) {
            await q.run(
              'INSERT INTO artifact_blobs (repository, environment, digest, blob) VALUES (?, ?, ?, ?)',
              [...key, blob],
            );
          }
        }
        const row = await one(
          q,
          'SELECT * FROM artifacts WHERE repository = ? AND environment = ? AND digest = ?',
          key,
        );
        if (row === undefined) throw new InfraError('INTERNAL', 'Stored artifact vanished');
        return { artifact: artifactFromRow(row), created: inserted > 0 };
      });
    },
    getArtifact: (repository, environment, digest) =>
      read(async (q) => {
        const row = await one(
          q,
          'SELECT * FROM artifacts WHERE repository = ? AND environment = ? AND digest = ?',
          [repository, environment, digest],
        );
        return row === undefined ? undefined : artifactFromRow(row);
      }),
    listArtifacts: (repository, environment) =>
      read(async (q) =>
        (
          await q.all(
            'SELECT * FROM artifacts WHERE repository = ? AND environment = ? ORDER BY id',
            [repository, environment],
          )
        ).map(artifactFromRow),
      ),
    blobReferenced: (blob) =>
      tx(
        async (q) =>
          (await one(q, 'SELECT 1 AS one FROM artifact_blobs WHERE blob = ? LIMIT 1', [blob])) !==
          undefined,
      ),

    addBundle: async (bundle: NewBundle) => {
      checkDigest('digest', bundle.digest);
      checkOneOf('kind', bundle.kind, BUNDLE_KINDS);
      checkText('predicateType', bundle.predicateType);
      checkDate('at', bundle.at);
      const id: Sha256Digest = `sha256:${hashBytes('sha256', Buffer.from(bundle.bundle, 'utf8')).toString('hex')}`;
      return await read(async (q) => {
        await requireRepository(q, bundle.repository);
        const inserted = await q.run(
          `INSERT INTO bundles (repository, bundle_id, digest, kind, predicate_type, bundle, added_by, added_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (repository, bundle_id) DO NOTHING`,
          [
            bundle.repository,
            id,
            bundle.digest,
            bundle.kind,
            bundle.predicateType,
            bundle.bundle,
            actorText(bundle.addedBy),
            bundle.at,
          ],
        );
        const row = await one(q, 'SELECT * FROM bundles WHERE repository = ? AND bundle_id = ?', [
          bundle.repository,
          id,
        ]);
        if (row === undefined) throw new InfraError('INTERNAL', 'Stored bundle vanished');
        return { bundle: bundleFromRow(row), created: inserted > 0 };
      });
    },
    listBundles: (repository, digest) =>
      read(async (q) =>
        (
          await q.all('SELECT * FROM bundles WHERE repository = ? AND digest = ? ORDER BY seq', [
            repository,
            digest,
          ])
        ).map(bundleFromRow),
      ),

    moveTag: async (move: TagMove) => {
      checkDigest('digest', move.digest);
      if (move.expected !== undefined && move.expected !== null)
        checkDigest('expected', move.expected);
      checkText('tag', move.tag);
      checkDate('at', move.at);
      const key = [move.repository, move.environment, move.tag] as const;
      return await tx(async (q) => {
        const repository = await requireRepository(q, move.repository);
        // One writer per tag across every server: the row may not exist yet, so lock its name.
        await q.lock(`cairn:tag:${canonicalJson(key)}`);
        const artifact = await one(
          q,
          'SELECT 1 AS one FROM artifacts WHERE repository = ? AND environment = ? AND digest = ?',
          [move.repository, move.environment, move.digest],
        );
        if (artifact === undefined) {
          throw new UsageError(
            'ARTIFACT_NOT_FOUND',
            `No artifact ${move.digest} in ${move.repository} (${move.environment}) to tag`,
            {
              details: {
                repository: move.repository,
                environment: move.environment,
                digest: move.digest,
              },
            },
          );
        }
        const currentRow = await one(
          q,
          'SELECT * FROM tags WHERE repository = ? AND environment = ? AND tag = ?',
          key,
        );
        const current = currentRow === undefined ? undefined : tagFromRow(currentRow);
        if (move.expected !== undefined && (current?.digest ?? null) !== move.expected) {
          throw new UsageError(
            'TAG_CONFLICT',
            `Tag '${move.tag}' points to ${current?.digest ?? 'nothing'}, not ${move.expected ?? 'nothing'}`,
            {
              details: { tag: move.tag, expected: move.expected, actual: current?.digest ?? null },
            },
          );
        }
        if (current !== undefined && current.digest === move.digest) {
          // Not a move: the tag already points there. Answer with the entry that put it there.
          const last = await one(
            q,
            'SELECT * FROM tag_history WHERE repository = ? AND environment = ? AND tag = ? ORDER BY seq DESC LIMIT 1',
            key,
          );
          if (last === undefined) throw new InfraError('INTERNAL', 'Tag without history');
          return historyFromRow(last);
        }
        if (current !== undefined && repository.protected) {
          throw new VerificationError(
            'TAG_IMMUTABLE',
            `Tag '${move.tag}' of protected repository '${move.repository}' is set to ${current.digest} and cannot move`,
            { details: { tag: move.tag, current: current.digest } },
          );
        }
        await q.run(
          `INSERT INTO tags (repository, environment, tag, digest, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (repository, environment, tag)
           DO UPDATE SET digest = excluded.digest, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
          [...key, move.digest, actorText(move.actor), move.at],
        );
        const rows = await q.all(
          `INSERT INTO tag_history (repository, environment, tag, digest, previous, updated_by, updated_at, reason)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
          [
            ...key,
            move.digest,
            current?.digest ?? null,
            actorText(move.actor),
            move.at,
            move.reason ?? null,
          ],
        );
        return historyFromRow(rows[0] ?? {});
      });
    },
    getTag: (repository, environment, tag) =>
      read(async (q) => {
        const row = await one(
          q,
          'SELECT * FROM tags WHERE repository = ? AND environment = ? AND tag = ?',
          [repository, environment, tag],
        );
        return row === undefined ? undefined : tagFromRow(row);
      }),
    listTags: (repository, environment) =>
      read(async (q) =>
        (
          await q.all('SELECT * FROM tags WHERE repository = ? AND environment = ? ORDER BY tag', [
            repository,
            environment,
          ])
        ).map(tagFromRow),
      ),
    tagHistory: (repository, environment, tag) =>
      read(async (q) =>
        (tag === undefined
          ? await q.all(
              'SELECT * FROM tag_history WHERE repository = ? AND environment = ? ORDER BY seq',
              [repository, environment],
            )
          : await q.all(
              'SELECT * FROM tag_history WHERE repository = ? AND environment = ? AND tag = ? ORDER BY seq',
              [repository, environment, tag],
            )
        ).map(historyFromRow),
      ),

    appendAudit: async (event: NewAuditEvent) => {
      checkDate('at', event.at);
      if (event.digest !== undefined) checkDigest('digest', event.digest);
      return await tx(async (q) => {
        await q.lock(AUDIT_LOCK);
        const last = await one(q, 'SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1', []);
        const previous =
          last === undefined ? undefined : { seq: Number(last['seq']), hash: String(last['hash']) };
        const { record, body } = chainAuditRecord(previous, event);
        await q.run(
          'INSERT INTO audit (seq, prev_hash, hash, at, action, body) VALUES (?, ?, ?, ?, ?, ?)',
          [record.seq, record.prevHash, record.hash, record.at, record.action, body],
        );
        return record;
      });
    },
    listAudit: async (options = {}) => {
      const afterSeq = options.afterSeq ?? 0;
      const limit = options.limit ?? DEFAULT_AUDIT_LIMIT;
      checkInteger('afterSeq', afterSeq, 0, Number.MAX_SAFE_INTEGER);
      checkInteger('limit', limit, 1, MAX_AUDIT_LIMIT);
      return await read(async (q) =>
        (
          await q.all('SELECT body, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?', [
            afterSeq,
            limit,
          ])
        ).map((row): AuditRecord => ({
          ...auditRecordFromBody(String(row['body'])),
          hash: String(row['hash']),
        })),
      );
    },

    createApiToken: async (token: NewApiToken) => {
      checkText('id', token.id);
      checkText('secretHash', token.secretHash);
      checkDate('at', token.at);
      if (token.expiresAt !== null) checkDate('expiresAt', token.expiresAt);
      return await tx(async (q) => {
        const inserted = await q.run(
          `INSERT INTO api_tokens (id, secret_hash, subject, description, created_by, created_at, expires_at, revoked_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (id) DO NOTHING`,
          [
            token.id,
            token.secretHash,
            actorText(token.subject),
            token.description,
            actorText(token.createdBy),
            token.at,
            token.expiresAt,
          ],
        );
        if (inserted === 0) {
          throw new ValidationError('STORE_INPUT_INVALID', `API token id '${token.id}' is taken`, {
            details: { field: 'id' },
          });
        }
        return { ...token, revokedAt: null };
      });
    },
    findApiToken: (id) =>
      read(async (q) => {
        const row = await one(q, 'SELECT * FROM api_tokens WHERE id = ?', [id]);
        return row === undefined ? undefined : tokenFromRow(row);
      }),
    revokeApiToken: async (id, at) => {
      checkDate('at', at);
      // The first revocation time stands: revoking again does not move it.
      return await tx(async (q) => {
        await q.run('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [
          at,
          id,
        ]);
      });
    },
    listApiTokens: () =>
      read(async (q) =>
        (await q.all('SELECT * FROM api_tokens ORDER BY created_at, id')).map(tokenFromRow),
      ),

    grantRole: async (binding: RoleBinding) => {
      checkOneOf('role', binding.role, ROLES);
      checkText('repository', binding.repository);
      checkText('environment', binding.environment);
      checkDate('at', binding.at);
      return await tx(async (q) => {
        await q.run(
          `INSERT INTO role_bindings (subject, role, repository, environment, granted_by, granted_at)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (subject, role, repository, environment) DO NOTHING`,
          [
            actorText(binding.subject),
            binding.role,
            binding.repository,
            binding.environment,
            actorText(binding.grantedBy),
            binding.at,
          ],
        );
      });
    },
    revokeRole: (subject: Actor, role: Role, repository: string, environment: string) =>
      tx(async (q) => {
        await q.run(
          'DELETE FROM role_bindings WHERE subject = ? AND role = ? AND repository = ? AND environment = ?',
          [actorText(subject), role, repository, environment],
        );
      }),
    listRoleBindings: (subject) =>
      read(async (q) =>
        (subject === undefined
          ? await q.all(
              'SELECT * FROM role_bindings ORDER BY subject, role, repository, environment',
            )
          : await q.all(
              'SELECT * FROM role_bindings WHERE subject = ? ORDER BY role, repository, environment',
              [actorText(subject)],
            )
        ).map(bindingFromRow),
      ),

    putPolicyData: async (record: PolicyDataRecord) => {
      checkOneOf('kind', record.kind, POLICY_DATA_KINDS);
      checkText('id', record.id);
      checkDate('at', record.at);
      checkDate('expiresAt', record.expiresAt);
      return await tx(async (q) => {
        await q.run(
          `INSERT INTO policy_data (kind, id, document, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (kind, id) DO UPDATE SET document = excluded.document, created_by = excluded.created_by,
             created_at = excluded.created_at, expires_at = excluded.expires_at`,
          [
            record.kind,
            record.id,
            canonicalJson(record.document),
            actorText(record.createdBy),
            record.at,
            record.expiresAt,
          ],
        );
      });
    },
    listPolicyData: async (kind, at) => {
      checkDate('at', at);
      return await read(async (q) =>
        (
          await q.all(
            'SELECT * FROM policy_data WHERE kind = ? AND expires_at > ? ORDER BY created_at, id',
            [kind, at],
          )
        ).map(policyDataFromRow),
      );
    },
  };
}

function checkArtifact(artifact: NewArtifact): void {
  checkText('repository', artifact.repository);
  checkText('environment', artifact.environment);
  checkDigest('digest', artifact.digest);
  checkDate('at', artifact.at);
  for (const [i, r] of artifact.resources.entries()) {
    checkDigest(`resources[${i}].blob`, r.blob);
    checkInteger(`resources[${i}].size`, r.size, 0, Number.MAX_SAFE_INTEGER);
    checkText(`resources[${i}].name`, r.name);
  }
  if (artifact.promotedFrom !== undefined) {
    checkText('promotedFrom.environment', artifact.promotedFrom.environment);
    checkInteger(
      'promotedFrom.auditSeq',
      artifact.promotedFrom.auditSeq,
      1,
      Number.MAX_SAFE_INTEGER,
    );
  }
}

// ── rows ↔ records ───────────────────────────────────────────────────────────────────────────

type Row = Record<string, unknown>;

/** Actors are stored as their canonical JSON, so equality on the column is identity equality. */
function actorText(actor: Actor): string {
  return canonicalJson({ issuer: actor.issuer, subject: actor.subject });
}

function actor(value: unknown): Actor {
  const { issuer, subject } = JSON.parse(String(value)) as Actor;
  return { issuer, subject };
}

function date(value: unknown): Date {
  return value instanceof Date ? new Date(value.getTime()) : new Date(String(value));
}

function optionalDate(value: unknown): Date | null {
  return value === null || value === undefined ? null : date(value);
}

const text = (value: unknown): string => String(value);
const digest = (value: unknown): Sha256Digest => String(value) as Sha256Digest;

function repositoryFromRow(row: Row): Repository {
  return {
    name: text(row['name']),
    protected: Number(row['protected']) === 1,
    createdBy: actor(row['created_by']),
    at: date(row['created_at']),
  };
}

function artifactFromRow(row: Row): ArtifactRecord {
  const promotedFrom =
    row['promoted_from_environment'] === null
      ? {}
      : {
          promotedFrom: {
            environment: text(row['promoted_from_environment']),
            auditSeq: Number(row['promoted_audit_seq']),
          },
        };
  return {
    repository: text(row['repository']),
    environment: text(row['environment']),
    digest: digest(row['digest']),
    resources: JSON.parse(text(row['resources'])) as ArtifactRecord['resources'],
    serialization: JSON.parse(text(row['serialization'])) as ArtifactRecord['serialization'],
    pushedBy: actor(row['pushed_by']),
    at: date(row['pushed_at']),
    ...promotedFrom,
  };
}

function bundleFromRow(row: Row): BundleRecord {
  return {
    id: digest(row['bundle_id']),
    repository: text(row['repository']),
    digest: digest(row['digest']),
    kind: text(row['kind']) as BundleRecord['kind'],
    predicateType: text(row['predicate_type']),
    bundle: text(row['bundle']),
    addedBy: actor(row['added_by']),
    at: date(row['added_at']),
  };
}

function tagFromRow(row: Row): TagRecord {
  return {
    repository: text(row['repository']),
    environment: text(row['environment']),
    tag: text(row['tag']),
    digest: digest(row['digest']),
    updatedBy: actor(row['updated_by']),
    at: date(row['updated_at']),
  };
}

function historyFromRow(row: Row): TagHistoryEntry {
  return {
    ...tagFromRow(row),
    seq: Number(row['seq']),
    previous: row['previous'] === null ? null : digest(row['previous']),
    ...(row['reason'] === null ? {} : { reason: text(row['reason']) }),
  };
}

function tokenFromRow(row: Row): ApiTokenRecord {
  return {
    id: text(row['id']),
    secretHash: text(row['secret_hash']),
    subject: actor(row['subject']),
    description: text(row['description']),
    createdBy: actor(row['created_by']),
    at: date(row['created_at']),
    expiresAt: optionalDate(row['expires_at']),
    revokedAt: optionalDate(row['revoked_at']),
  };
}

function bindingFromRow(row: Row): RoleBinding {
  return {
    subject: actor(row['subject']),
    role: text(row['role']) as Role,
    repository: text(row['repository']),
    environment: text(row['environment']),
    grantedBy: actor(row['granted_by']),
    at: date(row['granted_at']),
  };
}

function policyDataFromRow(row: Row): PolicyDataRecord {
  return {
    kind: text(row['kind']) as PolicyDataRecord['kind'],
    id: text(row['id']),
    document: JSON.parse(text(row['document'])) as PolicyDataRecord['document'],
    createdBy: actor(row['created_by']),
    at: date(row['created_at']),
    expiresAt: date(row['expires_at']),
  };
}

/** The schema, one list of steps; `{id}` and `{time}` are the dialect's column types. */
export function schemaMigrations(types: { id: string; time: string; bigint: string }): string[][] {
  const { id, time, bigint } = types;
  return [
    [
      `CREATE TABLE repositories (name TEXT PRIMARY KEY, protected INTEGER NOT NULL,
         created_by TEXT NOT NULL, created_at ${time} NOT NULL)`,
      `CREATE TABLE artifacts (id ${id}, repository TEXT NOT NULL REFERENCES repositories (name),
         environment TEXT NOT NULL, digest TEXT NOT NULL, resources TEXT NOT NULL,
         serialization TEXT NOT NULL, pushed_by TEXT NOT NULL, pushed_at ${time} NOT NULL,
         promoted_from_environment TEXT, promoted_audit_seq ${bigint},
         UNIQUE (repository, environment, digest))`,
      `CREATE TABLE artifact_blobs (repository TEXT NOT NULL, environment TEXT NOT NULL,
         digest TEXT NOT NULL, blob TEXT NOT NULL, PRIMARY KEY (repository, environment, digest, blob))`,
      'CREATE INDEX artifact_blobs_blob ON artifact_blobs (blob)',
      `CREATE TABLE bundles (seq ${id}, repository TEXT NOT NULL REFERENCES repositories (name),
         bundle_id TEXT NOT NULL, digest TEXT NOT NULL, kind TEXT NOT NULL,
         predicate_type TEXT NOT NULL, bundle TEXT NOT NULL, added_by TEXT NOT NULL,
         added_at ${time} NOT NULL, UNIQUE (repository, bundle_id))`,
      'CREATE INDEX bundles_digest ON bundles (repository, digest)',
      `CREATE TABLE tags (repository TEXT NOT NULL REFERENCES repositories (name),
         environment TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL,
         updated_by TEXT NOT NULL, updated_at ${time} NOT NULL,
         PRIMARY KEY (repository, environment, tag))`,
      `CREATE TABLE tag_history (seq ${id}, repository TEXT NOT NULL, environment TEXT NOT NULL,
         tag TEXT NOT NULL, digest TEXT NOT NULL, previous TEXT, updated_by TEXT NOT NULL,
         updated_at ${time} NOT NULL, reason TEXT)`,
      'CREATE INDEX tag_history_tag ON tag_history (repository, environment, tag, seq)',
      `CREATE TABLE audit (seq ${bigint} PRIMARY KEY, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
         at ${time} NOT NULL, action TEXT NOT NULL, body TEXT NOT NULL)`,
      `CREATE TABLE api_tokens (id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, subject TEXT NOT NULL,
         description TEXT NOT NULL, created_by TEXT NOT NULL, created_at ${time} NOT NULL,
         expires_at ${time}, revoked_at ${time})`,
      `CREATE TABLE role_bindings (subject TEXT NOT NULL, role TEXT NOT NULL, repository TEXT NOT NULL,
         environment TEXT NOT NULL, granted_by TEXT NOT NULL, granted_at ${time} NOT NULL,
         PRIMARY KEY (subject, role, repository, environment))`,
      `CREATE TABLE policy_data (kind TEXT NOT NULL, id TEXT NOT NULL, document TEXT NOT NULL,
         created_by TEXT NOT NULL, created_at ${time} NOT NULL, expires_at ${time} NOT NULL,
         PRIMARY KEY (kind, id))`,
    ],
  ];
}

/** The schema version table both dialects keep. */
export const SCHEMA_VERSION_TABLE =
  'CREATE TABLE IF NOT EXISTS cairn_schema_version (version INTEGER NOT NULL)';

/** Applies the migrations a database lacks, inside the caller's (locked) transaction. */
export async function applyMigrations(
  q: SqlQueryer,
  steps: readonly (readonly string[])[],
): Promise<number> {
  await q.run(SCHEMA_VERSION_TABLE);
  const row = (await q.all('SELECT MAX(version) AS version FROM cairn_schema_version'))[0];
  const current = row?.['version'] === null || row === undefined ? 0 : Number(row['version']);
  if (current > steps.length) {
    throw new InfraError(
      'STORE_UNAVAILABLE',
      `The database schema is version ${current}, newer than this Cairn knows (${steps.length})`,
      {
        hint: 'Upgrade Cairn on this server; every server on one database must run a version that knows its schema.',
      },
    );
  }
  for (let version = current + 1; version <= steps.length; version++) {
    for (const sql of steps[version - 1] ?? []) await q.run(sql);
    await q.run('INSERT INTO cairn_schema_version (version) VALUES (?)', [version]);
  }
  return steps.length;
}

/** The store domain's door: metadata (SQLite | PostgreSQL) and blob (filesystem | OCI) stores. */
export { BUNDLE_KINDS, ROLES } from './types.js';
export { openSqliteStore } from './sqlite.js';
export { openPostgresStore } from './postgres.js';
export { openFilesystemBlobStore } from './filesystem-blobs.js';
export { openOciBlobStore, parseOciUrl } from './oci-blobs.js';
export {
  AUDIT_GENESIS_HASH,
  auditRecordHash,
  canonicalJson,
  verifyAuditChain,
} from './audit-chain.js';

export type { SqliteStoreOptions } from './sqlite.js';
export type { PostgresStoreOptions } from './postgres.js';
export type { FilesystemBlobStoreOptions } from './filesystem-blobs.js';
export type { OciBlobStoreOptions } from './oci-blobs.js';
export type {
  AuditChainProblem,
  AuditChainVerification,
  UnhashedAuditRecord,
} from './audit-chain.js';
export type {
  Actor,
  ApiTokenRecord,
  ArtifactRecord,
  AuditAction,
  AuditDecision,
  AuditRecord,
  BlobInfo,
  BlobStore,
  BlobUpload,
  BundleKind,
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
  StoredResource,
  TagHistoryEntry,
  TagMove,
  TagRecord,
} from './types.js';

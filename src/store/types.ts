/**
 * The store contract: what the registry needs from metadata and blob storage. Every backend
 * (SQLite | PostgreSQL metadata; filesystem | OCI distribution blobs) implements exactly this and
 * passes one contract test suite (`test/store/metadata-contract.ts`, `test/store/blob-contract.ts`).
 *
 * Rules every backend keeps:
 * - Every method is atomic: it happens whole or not at all. Multi-row changes run in one
 *   transaction; serialisation (tag moves, audit sequence) comes from the database, never from an
 *   in-process lock, so two servers on one PostgreSQL stay correct.
 * - Failures are CairnErrors with catalog codes: the backend being down or unreachable is
 *   `STORE_UNAVAILABLE` (infra, exit 3 / HTTP 503); contract violations have their own codes
 *   (`REPOSITORY_EXISTS`, `TAG_IMMUTABLE`, `TAG_CONFLICT`, `BLOB_DIGEST_MISMATCH`, …).
 * - Times are passed in by the caller (`at`), never read from the clock inside the store, so the
 *   registry decides "now" once per request.
 * - Records are plain JSON-able objects; digests are `sha256:<64 hex>` strings.
 */

/** `sha256:<64 lowercase hex>`: an OMS root digest (artifact) or a blob's content digest. */
export type Sha256Digest = `sha256:${string}`;

/** A caller identity as the registry records it (OIDC `iss` + `sub`, or an API-token subject). */
export interface Actor {
  /** `https://token.actions.githubusercontent.com`, a Kubernetes issuer, or `cairn:api-token`. */
  readonly issuer: string;
  readonly subject: string;
}

// ── repositories ─────────────────────────────────────────────────────────────────────────────

export interface NewRepository {
  /** `team/model`: lowercase path segments, validated by the registry before it reaches a store. */
  readonly name: string;
  /** Protected repositories have immutable tags: a tag, once set, never moves. */
  readonly protected: boolean;
  readonly createdBy: Actor;
  readonly at: Date;
}

export type Repository = NewRepository;

// ── artifacts ────────────────────────────────────────────────────────────────────────────────

/** One file of an artifact as stored: its path in the model and its content blob. */
export interface StoredResource {
  /** POSIX path relative to the model root, as in the OMS manifest. */
  readonly name: string;
  /** SHA-256 of the file's bytes: the blob that holds it. */
  readonly blob: Sha256Digest;
  readonly size: number;
}

export interface NewArtifact {
  readonly repository: string;
  readonly environment: string;
  /** The OMS root digest: the artifact's identity. */
  readonly digest: Sha256Digest;
  /** Every file, sorted by name. All blobs must already be in the blob store. */
  readonly resources: readonly StoredResource[];
  /** The OMS serialization block the digest was computed with (JSON, stored verbatim). */
  readonly serialization: Readonly<Record<string, unknown>>;
  readonly pushedBy: Actor;
  readonly at: Date;
  /** Set when the artifact entered this environment by promotion (the promotion's audit seq). */
  readonly promotedFrom?: { readonly environment: string; readonly auditSeq: number };
}

export type ArtifactRecord = NewArtifact;

// ── signatures and attestations ──────────────────────────────────────────────────────────────

export const BUNDLE_KINDS = ['signature', 'attestation'] as const;

export type BundleKind = (typeof BUNDLE_KINDS)[number];

export interface NewBundle {
  readonly repository: string;
  /** The artifact digest the bundle is about (checked by the registry before storing). */
  readonly digest: Sha256Digest;
  readonly kind: BundleKind;
  /** For attestations: the in-toto predicate type; for signatures the OMS predicate type. */
  readonly predicateType: string;
  /** The Sigstore bundle JSON text, byte for byte as received. */
  readonly bundle: string;
  readonly addedBy: Actor;
  readonly at: Date;
}

export interface BundleRecord extends NewBundle {
  /** SHA-256 of `bundle`'s UTF-8 bytes: identical bundles are stored once per repository. */
  readonly id: Sha256Digest;
}

// ── tags ─────────────────────────────────────────────────────────────────────────────────────

export interface TagMove {
  readonly repository: string;
  readonly environment: string;
  readonly tag: string;
  readonly digest: Sha256Digest;
  /**
   * Compare-and-set: `null` means the tag must not exist yet; a digest means it must currently
   * point there; `undefined` means move unconditionally (still refused on protected repositories
   * once set: `TAG_IMMUTABLE`). A failed comparison is `TAG_CONFLICT`.
   */
  readonly expected?: Sha256Digest | null;
  readonly actor: Actor;
  readonly at: Date;
  readonly reason?: string;
}

export interface TagRecord {
  readonly repository: string;
  readonly environment: string;
  readonly tag: string;
  readonly digest: Sha256Digest;
  readonly updatedBy: Actor;
  readonly at: Date;
}

/** One row of the append-only tag history: "what was `prod-current` on Tuesday". */
export interface TagHistoryEntry extends TagRecord {
  /** Monotonic per store (not per tag); orders moves that share a timestamp. */
  readonly seq: number;
  readonly previous: Sha256Digest | null;
  readonly reason?: string;
}

// ── audit trail ──────────────────────────────────────────────────────────────────────────────

export type AuditAction =
  | 'repository.create'
  | 'push'
  | 'bundle.add'
  | 'sign'
  | 'tag.move'
  | 'promote'
  | 'retrieve'
  | 'token.create'
  | 'token.revoke'
  | 'role.grant'
  | 'exception.use'
  | 'break-glass.grant'
  | 'break-glass.use'
  | 'login';

export type AuditDecision = 'allow' | 'deny' | 'allow-with-violations' | 'allow-by-break-glass';

export interface NewAuditEvent {
  readonly at: Date;
  readonly actor: Actor;
  readonly action: AuditAction;
  readonly decision: AuditDecision;
  readonly repository?: string;
  readonly environment?: string;
  readonly digest?: Sha256Digest;
  /** Machine-readable reasons (error codes, failed requirement ids), in order. */
  readonly reasons: readonly string[];
  /** Free-form JSON detail (no secrets): the policy decision, tag, incident id, … */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/**
 * A chained audit record. `hash = sha256(prevHash ‖ canonicalJSON(record without hash))` with
 * `prevHash` of the first record = 64 zeros; `seq` starts at 1 with no gaps. The store assigns
 * `seq`, `prevHash` and `hash` inside the same transaction that serialises appends.
 */
export interface AuditRecord extends NewAuditEvent {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

// ── identities, tokens, roles ────────────────────────────────────────────────────────────────

/** Every role, in order of the issue text (the one list: schemas and stores use it). */
export const ROLES = [
  'reader',
  'pusher',
  'signer',
  'promoter',
  'deployer',
  'admin',
  'break-glass',
] as const;

export type Role = (typeof ROLES)[number];

export interface RoleBinding {
  readonly subject: Actor;
  readonly role: Role;
  /** Repository glob (`team/*`, `*`); matched by the registry, stored verbatim. */
  readonly repository: string;
  /** Environment name or `*`. */
  readonly environment: string;
  readonly grantedBy: Actor;
  readonly at: Date;
}

export interface NewApiToken {
  /** Public id (shown in lists, part of the token string). */
  readonly id: string;
  /** SHA-256 hex of the secret part; the secret itself is never stored. */
  readonly secretHash: string;
  readonly subject: Actor;
  readonly description: string;
  readonly createdBy: Actor;
  readonly at: Date;
  readonly expiresAt: Date | null;
}

export interface ApiTokenRecord extends NewApiToken {
  readonly revokedAt: Date | null;
}

// ── policy data: exceptions and break-glass grants ───────────────────────────────────────────

/** Stored policy data (exceptions, break-glass grants) as the policy engine's own JSON. */
export interface PolicyDataRecord {
  readonly kind: 'exception' | 'break-glass';
  readonly id: string;
  readonly document: Readonly<Record<string, unknown>>;
  readonly createdBy: Actor;
  readonly at: Date;
  readonly expiresAt: Date;
}

// ── the metadata store ───────────────────────────────────────────────────────────────────────

export interface MetadataStore {
  readonly backend: 'sqlite' | 'postgres';
  /** Creates or upgrades the schema (idempotent, safe to run from two servers at once). */
  migrate(): Promise<void>;
  /** Readiness: resolves when the database answers. `STORE_UNAVAILABLE` otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;

  createRepository(repository: NewRepository): Promise<Repository>;
  getRepository(name: string): Promise<Repository | undefined>;
  listRepositories(): Promise<Repository[]>;

  /** Idempotent for the same (repository, environment, digest): returns `created: false`. */
  putArtifact(artifact: NewArtifact): Promise<{ artifact: ArtifactRecord; created: boolean }>;
  getArtifact(
    repository: string,
    environment: string,
    digest: Sha256Digest,
  ): Promise<ArtifactRecord | undefined>;
  listArtifacts(repository: string, environment: string): Promise<ArtifactRecord[]>;
  /** True when any artifact in any repository references the blob (for garbage collection). */
  blobReferenced(blob: Sha256Digest): Promise<boolean>;

  /** Idempotent per (repository, bundle bytes). */
  addBundle(bundle: NewBundle): Promise<{ bundle: BundleRecord; created: boolean }>;
  listBundles(repository: string, digest: Sha256Digest): Promise<BundleRecord[]>;

  /** Atomic compare-and-set tag move that appends to the tag history in the same transaction. */
  moveTag(move: TagMove): Promise<TagHistoryEntry>;
  getTag(repository: string, environment: string, tag: string): Promise<TagRecord | undefined>;
  listTags(repository: string, environment: string): Promise<TagRecord[]>;
  /** History oldest first; `tag` undefined = every tag of the repository/environment. */
  tagHistory(repository: string, environment: string, tag?: string): Promise<TagHistoryEntry[]>;

  appendAudit(event: NewAuditEvent): Promise<AuditRecord>;
  /** Records with `seq > afterSeq`, oldest first, at most `limit` (default 1000). */
  listAudit(options?: { afterSeq?: number; limit?: number }): Promise<AuditRecord[]>;

  createApiToken(token: NewApiToken): Promise<ApiTokenRecord>;
  findApiToken(id: string): Promise<ApiTokenRecord | undefined>;
  revokeApiToken(id: string, at: Date): Promise<void>;
  listApiTokens(): Promise<ApiTokenRecord[]>;

  grantRole(binding: RoleBinding): Promise<void>;
  revokeRole(subject: Actor, role: Role, repository: string, environment: string): Promise<void>;
  listRoleBindings(subject?: Actor): Promise<RoleBinding[]>;

  putPolicyData(record: PolicyDataRecord): Promise<void>;
  /** Records not expired at `at`. */
  listPolicyData(kind: PolicyDataRecord['kind'], at: Date): Promise<PolicyDataRecord[]>;
}

// ── the blob store ───────────────────────────────────────────────────────────────────────────

export interface BlobInfo {
  readonly digest: Sha256Digest;
  readonly size: number;
}

/** An upload in progress. Nothing is visible under its digest until `commit` succeeds. */
export interface BlobUpload {
  readonly id: string;
  /** Bytes received so far (resume from here after a dropped connection). */
  readonly offset: number;
}

export interface BlobStore {
  readonly backend: 'filesystem' | 'oci';
  ping(): Promise<void>;
  close(): Promise<void>;

  stat(digest: Sha256Digest): Promise<BlobInfo | undefined>;
  /**
   * Streams the blob's bytes (optionally a byte range, end exclusive). Rejects with
   * `BLOB_NOT_FOUND` if absent (before any byte, so a server can still answer 404) and with
   * `STORE_INPUT_INVALID` for a range outside the blob. Callers that serve protected content
   * re-hash what they send.
   */
  open(
    digest: Sha256Digest,
    range?: { start: number; end: number },
  ): Promise<NodeJS.ReadableStream>;

  /** Starts a resumable upload. */
  beginUpload(): Promise<BlobUpload>;
  /** The upload's state, for resuming (`BLOB_UPLOAD_UNKNOWN` if it expired or never existed). */
  getUpload(id: string): Promise<BlobUpload>;
  /**
   * Appends a chunk at `offset` (must equal the current offset: `BLOB_UPLOAD_OFFSET`), hashing
   * as it streams; returns the new state. Limits the chunk to `maxBytes`.
   */
  appendUpload(
    id: string,
    offset: number,
    chunk: NodeJS.ReadableStream,
    maxBytes: number,
  ): Promise<BlobUpload>;
  /**
   * Makes the upload visible under `digest` iff its bytes hash to it (`BLOB_DIGEST_MISMATCH`
   * otherwise, and the upload is discarded). Committing an existing blob is a no-op (dedup).
   */
  commitUpload(id: string, digest: Sha256Digest): Promise<BlobInfo>;
  abortUpload(id: string): Promise<void>;
}

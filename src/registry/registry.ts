import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import {
  MAX_CHAIN_ARTIFACTS,
  MAX_CHAIN_DEPTH,
  SLSA_VERIFICATION_SUMMARY_V1,
  buildVerificationSummary,
  traceLineage,
  type ArtifactEvidence,
  type LineageResult,
  serializeStatement,
  signAttestation,
  type JsonValue,
} from '../attest/index.js';
import {
  UsageError,
  ValidationError,
  VerificationError,
  InfraError,
  isCairnError,
  type CairnError,
} from '../errors/index.js';
import type { Signer } from '../keys/index.js';
import { inspectBundle } from '../verify/index.js';
import {
  OMS_PREDICATE_TYPE,
  OMS_PREDICATE_TYPE_COMPAT,
  bundleFromJSON,
  statementFromPayload,
} from '../envelope/index.js';
import {
  POLICY_API_VERSION,
  assemblePolicySet,
  evaluate,
  factsFromEvidence,
  matchPattern,
  parsePolicyDocument,
  type BreakGlassGrant,
  type Decision,
  type NameMatcher,
  type PolicyAction,
  type PolicyException,
  type PolicySet,
} from '../policy/index.js';
import { signManifest } from '../sign/index.js';
import type {
  Actor,
  ArtifactRecord,
  AuditAction,
  AuditDecision,
  AuditRecord,
  BlobStore,
  BundleKind,
  BundleRecord,
  MetadataStore,
  PolicyDataRecord,
  Repository,
  Sha256Digest,
  TagHistoryEntry,
  TagRecord,
} from '../store/index.js';
import { artifactManifest, checkResources, requireDigest } from './artifact-manifest.js';
import { DEFAULT_ENVIRONMENTS, checkEnvironments, type EnvironmentConfig } from './environments.js';
import {
  chainEvidence,
  claimedParents,
  refusedReasons,
  registryVerifier,
  verifyEvidence,
  type RegistryTrust,
} from './evidence.js';
import { repositoryName, tagName } from './names.js';
import type {
  BreakGlassRequest,
  PromoteRequest,
  PushRequest,
  SignRequest,
  TagMoveRequest,
} from './requests.js';
import { serializationSchema } from './requests.js';

/** The policy documents in force: policies, exceptions and break-glass grants. */
export type RegistryPolicies = Pick<PolicySet, 'policies' | 'exceptions' | 'grants'>;

export interface RegistryOptions {
  readonly metadata: MetadataStore;
  readonly blobs: BlobStore;
  readonly trust?: RegistryTrust;
  readonly policies?: RegistryPolicies;
  /** The server's signing key for central signing and promotion summaries. */
  readonly signer?: Signer;
  readonly environments?: readonly EnvironmentConfig[];
  /** "Now", read once per operation. */
  readonly clock?: () => Date;
}

/** How the caller named an artifact. */
export type ArtifactReference =
  | { readonly kind: 'digest'; readonly digest: Sha256Digest }
  | { readonly kind: 'tag'; readonly tag: string };

export interface Retrieval {
  readonly artifact: ArtifactRecord;
  readonly bundles: readonly BundleRecord[];
  /** The policy decision, for protected environments. */
  readonly decision?: Decision;
}

export interface Promotion {
  readonly digest: Sha256Digest;
  readonly from: string;
  readonly to: string;
  readonly decision: Decision;
  readonly auditSeq: number;
  readonly attestation: BundleRecord | null;
  readonly tag?: TagHistoryEntry;
}

interface AuditContext {
  readonly repository?: string;
  readonly environment?: string;
  readonly digest?: Sha256Digest;
}

/** The verifier id Cairn's registry writes into its promotion summaries (SLSA VSA v1). */
export const CAIRN_REGISTRY_VERIFIER = 'https://cairn.dev/registry/v1';

/**
 * The hidden environment where upload commits link blobs to a repository. Its name is not a
 * valid environment name (leading `_`), so no route can address it.
 */
const UPLOAD_LINKS = '_uploads';
/** Most repositories whose blob lists are cached at once (then the cache starts over). */
const MAX_CACHED_REPOSITORIES = 1024;

/** The policy document kind each stored policy-data kind holds. */
const KIND_OF_DATA = {
  exception: 'PolicyException',
  'break-glass': 'BreakGlassGrant',
} as const satisfies Record<PolicyDataRecord['kind'], string>;

const EMPTY_POLICIES: RegistryPolicies = { policies: [], exceptions: [], grants: [] };

/**
 * The registry domain service: repositories, artifacts, tags, promotion, retrieval, central
 * signing and the audit trail, over a metadata store and a blob store. Who may call what (roles)
 * is the server's to check; what any caller may do — production takes no direct pushes,
 * protected retrieval re-verifies, promotion goes through the policy — is enforced here. Every
 * decision, allow or deny, is appended to the audit trail.
 */
export class Registry {
  readonly metadata: MetadataStore;
  readonly blobs: BlobStore;
  readonly environments: readonly EnvironmentConfig[];
  private readonly trust: RegistryTrust;
  private readonly policies: RegistryPolicies;
  private readonly signer: Signer | undefined;
  private readonly clock: () => Date;
  /** Per repository: the blobs its artifacts list, and when that was read (see `repositoryBlob`). */
  private readonly repositoryBlobs = new Map<string, { blobs: Set<string>; readAt: number }>();

  constructor(options: RegistryOptions) {
    this.metadata = options.metadata;
    this.blobs = options.blobs;
    this.environments = checkEnvironments(options.environments ?? DEFAULT_ENVIRONMENTS);
    this.trust = options.trust ?? {};
    this.policies = options.policies ?? EMPTY_POLICIES;
    this.signer = options.signer;
    this.clock = options.clock ?? (() => new Date());
  }

  get canSign(): boolean {
    return this.signer !== undefined;
  }

  /** The environment's configuration, or ENVIRONMENT_UNKNOWN. */
  environment(name: string): EnvironmentConfig {
    const env = this.environments.find((e) => e.name === name);
    if (env === undefined) {
      throw new UsageError('ENVIRONMENT_UNKNOWN', `Unknown environment ${JSON.stringify(name)}`, {
        details: { environment: name, known: this.environments.map((e) => e.name) },
      });
    }
    return env;
  }

  /** Readiness: both stores answer (STORE_UNAVAILABLE otherwise). */
  async ping(): Promise<void> {
    await Promise.all([this.metadata.ping(), this.blobs.ping()]);
  }

  // ── repositories ────────────────────────────────────────────────────────────────────

  async createRepository(actor: Actor, name: string, isProtected = false): Promise<Repository> {
    const repository = repositoryName(name);
    const { result } = await this.decide(actor, 'repository.create', { repository }, async () => {
      const created = await this.metadata.createRepository({
        name: repository,
        protected: isProtected,
        createdBy: actor,
        at: this.clock(),
      });
      return { result: created, detail: { protected: isProtected } };
    });
    return result;
  }

  async repository(name: string): Promise<Repository> {
    const repository = repositoryName(name);
    const found = await this.metadata.getRepository(repository);
    if (found === undefined) {
      throw new UsageError('REPOSITORY_NOT_FOUND', `No repository ${repository}`, {
        details: { repository },
      });
    }
    return found;
  }

  listRepositories(): Promise<Repository[]> {
    return this.metadata.listRepositories();
  }

  // ── blobs ───────────────────────────────────────────────────────────────────────────

  /**
   * Commits an upload made through a repository and links the blob to it (a record in the
   * repository's hidden upload-link environment, so every server on the database sees it).
   * Only linked blobs — committed through this repository, or listed by its artifacts — can be
   * named by its pushes or seen by its dedup checks.
   */
  async commitUpload(
    actor: Actor,
    repositoryInput: string,
    uploadId: string,
    digest: Sha256Digest,
  ): Promise<{ digest: Sha256Digest; size: number }> {
    const repo = await this.repository(repositoryInput);
    const info = await this.blobs.commitUpload(uploadId, digest);
    await this.metadata.putArtifact({
      repository: repo.name,
      environment: UPLOAD_LINKS,
      digest: info.digest,
      resources: [{ name: 'blob', blob: info.digest, size: info.size }],
      serialization: { link: 'upload' },
      pushedBy: actor,
      at: this.clock(),
    });
    this.repositoryBlobs.get(repo.name)?.blobs.add(info.digest);
    return { digest: info.digest, size: info.size };
  }

  /**
   * The dedup check (`HEAD …/blobs/:digest`): the blob's size when it is stored **and** linked
   * to this repository (committed through it, or listed by its artifacts); otherwise
   * undefined, even when another repository holds the same bytes — so a caller with push
   * rights somewhere cannot probe, or push an artifact naming, a file of another repository.
   * Storage is still deduplicated across repositories: committing an upload of bytes already
   * stored keeps one copy (the upload proves possession). The repository's links are cached
   * for a few seconds; links are never removed, so a stale list can only answer "absent" (an
   * extra read of the store), never "present" wrongly.
   */
  async repositoryBlob(
    repositoryInput: string,
    blob: Sha256Digest,
  ): Promise<{ size: number } | undefined> {
    const repo = await this.repository(repositoryInput);
    const info = await this.blobs.stat(blob);
    if (info === undefined || !(await this.linked(repo.name, blob))) return undefined;
    return { size: info.size };
  }

  /** Whether `blob` is linked to the repository (see `repositoryBlob`). */
  private async linked(repository: string, blob: Sha256Digest): Promise<boolean> {
    const listed = async (fresh: boolean): Promise<boolean> => {
      const cached = this.repositoryBlobs.get(repository);
      if (cached !== undefined && (cached.blobs.has(blob) || !fresh)) {
        return cached.blobs.has(blob);
      }
      const blobs = new Set<string>();
      for (const env of [...this.environments.map((e) => e.name), UPLOAD_LINKS]) {
        for (const a of await this.metadata.listArtifacts(repository, env)) {
          for (const r of a.resources) blobs.add(r.blob);
        }
      }
      if (this.repositoryBlobs.size >= MAX_CACHED_REPOSITORIES) this.repositoryBlobs.clear();
      this.repositoryBlobs.set(repository, { blobs, readAt: Date.now() });
      return blobs.has(blob);
    };
    // A miss re-reads the links (another server may have linked the blob a moment ago).
    return listed(true);
  }

  // ── push ────────────────────────────────────────────────────────────────────────────

  /**
   * Stores an artifact whose blobs are already uploaded: checks names, blobs and sizes,
   * recomputes the OMS root digest from the resources, checks every bundle names the digest,
   * then stores artifact and bundles (and the tag, if asked). Refused for everyone in
   * promotion-only environments.
   */
  async push(
    actor: Actor,
    repositoryInput: string,
    environmentInput: string,
    digest: Sha256Digest,
    request: PushRequest,
  ): Promise<{
    artifact: ArtifactRecord;
    created: boolean;
    bundles: BundleRecord[];
    tag?: TagHistoryEntry;
  }> {
    const repo = await this.repository(repositoryInput);
    const env = this.environment(environmentInput);
    const ctx = { repository: repo.name, environment: env.name, digest };
    const { result: pushed } = await this.decide(actor, 'push', ctx, async () => {
      if (env.promotionOnly) {
        throw new VerificationError(
          'PUSH_TO_PROTECTED_ENVIRONMENT',
          `${env.name} accepts artifacts only by promotion`,
          { details: { environment: env.name } },
        );
      }
      const tag = request.tag === undefined ? undefined : tagName(request.tag);
      const resources = await checkResources(request.resources, this.blobs, (blob) =>
        this.linked(repo.name, blob),
      );
      const manifest = await artifactManifest(
        resources,
        request.serialization,
        this.blobs,
        repo.name,
      );
      requireDigest(manifest, digest);
      const bundles = [
        ...(request.signatures ?? []).map((text) => ({ text, kind: 'signature' as const })),
        ...(request.attestations ?? []).map((text) => ({ text, kind: 'attestation' as const })),
      ].map((b) => ({ ...b, predicateType: bundleSubject(b.text, b.kind, digest) }));
      const at = this.clock();
      const stored = await this.metadata.putArtifact({
        repository: repo.name,
        environment: env.name,
        digest,
        resources,
        serialization: request.serialization,
        pushedBy: actor,
        at,
      });
      for (const r of resources) this.repositoryBlobs.get(repo.name)?.blobs.add(r.blob);
      const records: BundleRecord[] = [];
      for (const b of bundles) {
        const { bundle } = await this.metadata.addBundle({
          repository: repo.name,
          digest,
          kind: b.kind,
          predicateType: b.predicateType,
          bundle: b.text,
          addedBy: actor,
          at,
        });
        records.push(bundle);
      }
      return {
        result: { ...stored, bundles: records, tag },
        detail: {
          created: stored.created,
          resources: resources.length,
          bytes: resources.reduce((n, r) => n + r.size, 0),
          bundles: records.map((r) => r.id),
        },
      };
    });
    if (pushed.tag === undefined)
      return { artifact: pushed.artifact, created: pushed.created, bundles: pushed.bundles };
    const moved = await this.moveTag(actor, repo.name, env.name, pushed.tag, { digest });
    return {
      artifact: pushed.artifact,
      created: pushed.created,
      bundles: pushed.bundles,
      tag: moved,
    };
  }

  /** Attaches a signature or attestation to an artifact already in the environment. */
  async addBundle(
    actor: Actor,
    repositoryInput: string,
    environmentInput: string,
    digest: Sha256Digest,
    text: string,
  ): Promise<{ bundle: BundleRecord; created: boolean }> {
    const repo = await this.repository(repositoryInput);
    const env = this.environment(environmentInput);
    const { result } = await this.decide(
      actor,
      'bundle.add',
      { repository: repo.name, environment: env.name, digest },
      async () => {
        await this.artifact(repo.name, env.name, digest);
        const kind = bundleKind(text);
        const predicateType = bundleSubject(text, kind, digest);
        const added = await this.metadata.addBundle({
          repository: repo.name,
          digest,
          kind,
          predicateType,
          bundle: text,
          addedBy: actor,
          at: this.clock(),
        });
        return { result: added, detail: { bundle: added.bundle.id, kind, predicateType } };
      },
    );
    return result;
  }

  async listBundles(repositoryInput: string, digest: Sha256Digest): Promise<BundleRecord[]> {
    const repo = await this.repository(repositoryInput);
    return this.metadata.listBundles(repo.name, digest);
  }

  async listArtifacts(
    repositoryInput: string,
    environmentInput: string,
  ): Promise<ArtifactRecord[]> {
    const repo = await this.repository(repositoryInput);
    return this.metadata.listArtifacts(repo.name, this.environment(environmentInput).name);
  }

  private async artifact(
    repository: string,
    environment: string,
    digest: Sha256Digest,
  ): Promise<ArtifactRecord> {
    const found = await this.metadata.getArtifact(repository, environment, digest);
    if (found === undefined) {
      throw new UsageError(
        'ARTIFACT_NOT_FOUND',
        `${repository}@${digest} is not in ${environment}`,
        {
          details: { repository, environment, digest },
        },
      );
    }
    return found;
  }

  // ── tags ────────────────────────────────────────────────────────────────────────────

  /** Compare-and-set tag move, recorded in the tag history; immutable in protected repositories. */
  async moveTag(
    actor: Actor,
    repositoryInput: string,
    environmentInput: string,
    tagInput: string,
    request: TagMoveRequest,
  ): Promise<TagHistoryEntry> {
    const repo = await this.repository(repositoryInput);
    const env = this.environment(environmentInput);
    const tag = tagName(tagInput);
    const ctx = { repository: repo.name, environment: env.name, digest: request.digest };
    const { result } = await this.decide(
      actor,
      'tag.move',
      ctx,
      async () => {
        await this.artifact(repo.name, env.name, request.digest);
        const entry = await this.metadata.moveTag({
          repository: repo.name,
          environment: env.name,
          tag,
          digest: request.digest,
          ...(request.expected === undefined ? {} : { expected: request.expected }),
          actor,
          at: this.clock(),
          ...(request.reason === undefined ? {} : { reason: request.reason }),
        });
        return { result: entry, detail: { tag, previous: entry.previous } };
      },
      { tag },
    );
    return result;
  }

  async getTag(
    repositoryInput: string,
    environmentInput: string,
    tagInput: string,
  ): Promise<TagRecord> {
    const repo = await this.repository(repositoryInput);
    const env = this.environment(environmentInput);
    const tag = tagName(tagInput);
    const found = await this.metadata.getTag(repo.name, env.name, tag);
    if (found === undefined) {
      throw new UsageError('TAG_NOT_FOUND', `No tag ${tag} in ${repo.name} ${env.name}`, {
        details: { repository: repo.name, environment: env.name, tag },
      });
    }
    return found;
  }

  async listTags(repositoryInput: string, environmentInput: string): Promise<TagRecord[]> {
    const repo = await this.repository(repositoryInput);
    return this.metadata.listTags(repo.name, this.environment(environmentInput).name);
  }

  async tagHistory(
    repositoryInput: string,
    environmentInput: string,
    tagInput?: string,
    at?: Date,
  ): Promise<TagHistoryEntry[]> {
    const repo = await this.repository(repositoryInput);
    const env = this.environment(environmentInput);
    const tag = tagInput === undefined ? undefined : tagName(tagInput);
    const history = await this.metadata.tagHistory(repo.name, env.name, tag);
    return at === undefined ? history : history.filter((h) => h.at.getTime() <= at.getTime());
  }

  // ── retrieval ───────────────────────────────────────────────────────────────────────

  /**
   * The artifact and its bundles. In a protected environment: the reference must be a digest,
   * the signatures and attestations are re-verified and the policy evaluated for `retrieve`
   * with the caller's identity; anything short of allow is refused (fail closed).
   */
  async retrieve(
    actor: Actor,
    repositoryInput: string,
    environmentInput: string,
    reference: ArtifactReference,
  ): Promise<Retrieval> {
    const repo = await this.repository(repositoryInput);
    const env = this.environment(environmentInput);
    const ctx = {
      repository: repo.name,
      environment: env.name,
      ...(reference.kind === 'digest' ? { digest: reference.digest } : {}),
    };
    const run = async () => {
      if (env.protected && reference.kind !== 'digest') {
        throw new VerificationError(
          'REFERENCE_NOT_PINNED',
          `${env.name} serves artifacts only by digest, not by tag ${reference.tag}`,
          { details: { environment: env.name, tag: reference.tag } },
        );
      }
      const digest =
        reference.kind === 'digest'
          ? reference.digest
          : (await this.getTag(repo.name, env.name, reference.tag)).digest;
      const artifact = await this.artifact(repo.name, env.name, digest);
      const bundles = await this.metadata.listBundles(repo.name, digest);
      if (!env.protected) return { artifact, bundles };
      const decision = await this.gate(
        actor,
        'retrieve',
        repo.name,
        env.name,
        digest,
        bundles,
        reference,
      );
      return { artifact, bundles, decision: decision.decision };
    };
    // Every retrieval is a decision and is audited, allow and deny, protected or not.
    const { result } = await this.decide(actor, 'retrieve', ctx, async () => {
      const r = await run();
      return {
        result: r,
        detail: {
          outcome: r.decision?.outcome ?? 'allow',
          reference: describeReference(reference),
        },
        decision: r.decision === undefined ? undefined : auditDecision(r.decision),
      };
    });
    return result;
  }

  /**
   * Streams one blob of an artifact, re-checking access as `retrieve` does. Only blobs the
   * artifact lists are served; the bytes are re-hashed as they stream and the stream fails at
   * the end if they do not match (the client discards it).
   */
  async openArtifactBlob(
    actor: Actor,
    repositoryInput: string,
    environmentInput: string,
    digest: Sha256Digest,
    blob: Sha256Digest,
  ): Promise<{ size: number; stream: NodeJS.ReadableStream }> {
    const { artifact } = await this.retrieve(actor, repositoryInput, environmentInput, {
      kind: 'digest',
      digest,
    });
    const resource = artifact.resources.find((r) => r.blob === blob);
    if (resource === undefined) {
      throw new UsageError(
        'BLOB_NOT_FOUND',
        `${blob} is not part of ${artifact.repository}@${digest}`,
        {
          details: { digest, blob },
        },
      );
    }
    const source = await this.blobs.open(blob);
    return { size: resource.size, stream: source.pipe(verifyingStream(blob, resource.size)) };
  }

  // ── promotion ───────────────────────────────────────────────────────────────────────

  /**
   * Promotes by digest: re-verifies the evidence, evaluates the policy for `to` with action
   * `promote` and the caller's identity; on allow copies the record (no blob moves), then audits
   * the allow, then signs a verification summary when the server has a key. The copy comes
   * before its record so the trail never holds an allow whose artifact is not in `to`: a failed
   * copy is audited as a deny (PROMOTION_COPY_FAILED) and nothing is promoted. On deny throws
   * POLICY_DENIED with the whole decision after auditing it.
   */
  async promote(
    actor: Actor,
    repositoryInput: string,
    request: PromoteRequest,
  ): Promise<Promotion> {
    const repo = await this.repository(repositoryInput);
    const from = this.environment(request.from);
    const to = this.environment(request.to);
    const tag = request.tag === undefined ? undefined : tagName(request.tag);
    const ctx = { repository: repo.name, environment: to.name, digest: request.digest };
    const promoted = await this.decide(actor, 'promote', ctx, async () => {
      if (from.name === to.name) {
        throw new UsageError('REQUEST_INVALID', 'Promotion needs two different environments', {
          details: { issues: [{ path: 'to', message: 'must differ from from' }] },
        });
      }
      const source = await this.artifact(repo.name, from.name, request.digest);
      const bundles = await this.metadata.listBundles(repo.name, request.digest);
      const { decision } = await this.gate(
        actor,
        'promote',
        repo.name,
        to.name,
        request.digest,
        bundles,
        { kind: 'digest', digest: request.digest },
      );
      const copied = await this.copyArtifact(source, to.name, actor, decision);
      return {
        result: { decision, bundles },
        detail: {
          from: from.name,
          to: to.name,
          decision,
          copied: { environment: to.name, created: copied.created },
        },
        decision: auditDecision(decision),
      };
    });
    const { decision, bundles } = promoted.result;
    const record = promoted.audit;
    await this.auditUses(actor, ctx, decision);
    let attestation: BundleRecord | null = null;
    if (this.signer !== undefined) {
      const summary = buildVerificationSummary({
        digest: request.digest,
        subjectName: repo.name,
        verifier: { id: CAIRN_REGISTRY_VERIFIER },
        timeVerified: new Date(decision.evaluatedAt),
        resourceUri: `cairn:${repo.name}@${request.digest}`,
        policy: { uri: `cairn:policy/${decision.policies.map((p) => p.name).join(',')}` },
        inputAttestations: bundles.map((b) => ({
          uri: `cairn:bundle/${b.id}`,
          digest: { sha256: b.id.slice('sha256:'.length) },
        })),
        // Only allowed promotions are summarised; a deny throws before this point.
        verificationResult: 'PASSED',
        cairn: {
          action: 'promote',
          from: from.name,
          to: to.name,
          outcome: decision.outcome,
          reviewRequired: decision.reviewRequired,
          auditSeq: record.seq,
          exceptions: decision.exceptions.filter((e) => e.state === 'applied').map((e) => e.name),
          breakGlass: decision.breakGlass.map((b) => b.grant),
          violations: decision.violations.map((v) => `${v.policy}:${v.requirement}`),
        },
      });
      const bundle = await signAttestation(summary.statement, this.signer);
      attestation = (
        await this.metadata.addBundle({
          repository: repo.name,
          digest: request.digest,
          kind: 'attestation',
          predicateType: SLSA_VERIFICATION_SUMMARY_V1,
          bundle: bundle.toString('utf8').trimEnd(),
          addedBy: actor,
          at: this.clock(),
        })
      ).bundle;
    }
    const moved =
      tag === undefined
        ? undefined
        : await this.moveTag(actor, repo.name, to.name, tag, { digest: request.digest });
    return {
      digest: request.digest,
      from: from.name,
      to: to.name,
      decision,
      auditSeq: record.seq,
      attestation,
      ...(moved === undefined ? {} : { tag: moved }),
    };
  }

  /**
   * Copies an artifact record into another environment (the blobs stay where they are). Any
   * failure becomes PROMOTION_COPY_FAILED, so the caller audits it as a denied promotion.
   */
  private async copyArtifact(
    source: ArtifactRecord,
    environment: string,
    actor: Actor,
    decision: Decision,
  ): Promise<{ created: boolean }> {
    try {
      const { created } = await this.metadata.putArtifact({
        repository: source.repository,
        environment,
        digest: source.digest,
        resources: source.resources,
        serialization: source.serialization,
        pushedBy: actor,
        at: this.clock(),
      });
      return { created };
    } catch (err) {
      throw new InfraError(
        'PROMOTION_COPY_FAILED',
        `The policy allowed the promotion, but copying ${source.digest} into ${environment} failed`,
        {
          cause: err,
          details: {
            stage: 'copy',
            outcome: decision.outcome,
            ...(isCairnError(err) ? { storeCode: err.code } : {}),
          },
        },
      );
    }
  }

  /** Exceptions and break-glass grants that shaped an allowed decision get records of their own. */
  private async auditUses(actor: Actor, ctx: AuditContext, decision: Decision): Promise<void> {
    for (const e of decision.exceptions.filter((x) => x.state === 'applied')) {
      await this.audit(actor, 'exception.use', 'allow-with-violations', ctx, [e.name], {
        exception: e.name,
        policy: e.policy,
        ticket: e.ticket,
        requirements: [...e.requirements],
      });
    }
    for (const b of decision.breakGlass) {
      await this.audit(actor, 'break-glass.use', 'allow-by-break-glass', ctx, [b.grant], {
        grant: b.grant,
        incident: b.incident,
        expiresAt: b.expiresAt,
        policies: [...b.policies],
      });
    }
  }

  /**
   * Re-verifies the bundles (and the signatures of the parents a verified transformation names),
   * builds the policy facts with the policy domain's own builder and evaluates them with the
   * exceptions and grants in force; POLICY_DENIED (with the decision in its details) unless
   * allowed.
   */
  private async gate(
    actor: Actor,
    action: PolicyAction,
    repository: string,
    environment: string,
    digest: Sha256Digest,
    bundles: readonly BundleRecord[],
    reference: ArtifactReference,
  ): Promise<{ decision: Decision }> {
    const now = this.clock();
    const verified = verifyEvidence(bundles, this.trust, {
      repository,
      environment,
      digest,
      at: now,
    });
    const lineage = await this.lineage(repository, environment, digest, bundles, now);
    const facts = factsFromEvidence(
      {
        digest,
        signatures: verified.signatures,
        attestations: verified.attestations,
        ...(lineage === undefined ? {} : { lineage }),
      },
      {
        repository,
        environment,
        reference:
          reference.kind === 'digest' ? { kind: 'digest' } : { kind: 'tag', tag: reference.tag },
        request: { action, identity: { subject: actor.subject, issuer: actor.issuer } },
      },
    );
    const data = await this.policyData(now);
    const evaluated = evaluate(facts, this.policies.policies, data.exceptions, data.grants, now);
    const decision: Decision =
      verified.refused.length === 0
        ? evaluated
        : {
            ...evaluated,
            notes: [
              ...evaluated.notes,
              ...verified.refused.map(
                (r) => `${r.kind} ${r.id} not trusted: ${r.code}: ${r.message}`,
              ),
            ],
          };
    if (!decision.allowed) {
      throw new VerificationError('POLICY_DENIED', decision.reason, {
        hint: decision.remediation,
        details: { decision, refused: refusedReasons(verified.refused) },
      });
    }
    return { decision };
  }

  /**
   * The artifact's lineage walked back to signed roots with the attest domain's chain walker
   * (`traceLineage`), over the ancestors' bundles the registry holds: each parent a stored
   * transformation claims is looked up in the child's repository and in the repository the
   * material names, in any environment (at most MAX_CHAIN_DEPTH hops and MAX_CHAIN_ARTIFACTS
   * artifacts). Every bundle is verified by the walker with the gate's trust and scope, so
   * a parent's signer must be trusted for the repository and environment being entered.
   * Undefined without a trust root (nothing verifies then anyway).
   */
  private async lineage(
    repository: string,
    environment: string,
    digest: Sha256Digest,
    bundles: readonly BundleRecord[],
    at: Date,
  ): Promise<LineageResult | undefined> {
    if (this.trust.root === undefined) return undefined;
    const ancestors = new Map<string, ArtifactEvidence>();
    let frontier = claimedParents(repository, bundles).map((p) => ({ ...p, child: repository }));
    for (let depth = 0; depth < MAX_CHAIN_DEPTH && frontier.length > 0; depth++) {
      const next: typeof frontier = [];
      for (const p of frontier) {
        if (ancestors.has(p.digest) || ancestors.size >= MAX_CHAIN_ARTIFACTS) continue;
        const found = await this.storedBundles(
          p.name === undefined ? [p.child] : [p.child, p.name],
          p.digest,
        );
        if (found === undefined) continue;
        ancestors.set(p.digest, chainEvidence(found.repository, found.bundles));
        next.push(
          ...claimedParents(found.repository, found.bundles).map((q) => ({
            ...q,
            child: found.repository,
          })),
        );
      }
      frontier = next;
    }
    return traceLineage(
      digest,
      chainEvidence(repository, bundles),
      { find: (d) => ancestors.get(d) },
      registryVerifier(this.trust, { repository, environment, at }),
    );
  }

  /** The bundles of `digest` in the first of `repositories` that holds the artifact. */
  private async storedBundles(
    repositories: readonly string[],
    digest: Sha256Digest,
  ): Promise<{ repository: string; bundles: BundleRecord[] } | undefined> {
    for (const name of repositories) {
      if (!isRepositoryName(name)) continue;
      for (const env of this.environments) {
        if ((await this.metadata.getArtifact(name, env.name, digest)) === undefined) continue;
        return { repository: name, bundles: await this.metadata.listBundles(name, digest) };
      }
    }
    return undefined;
  }

  // ── exceptions and break-glass grants ───────────────────────────────────────────────

  /**
   * The exceptions and grants in force at `now`: those of `--policy DIR` and the unexpired ones
   * stored by the admin routes, each stored document read again by the policy schema (a stored
   * document that no longer parses is left out: it can only waive, so leaving it out fails
   * closed).
   */
  private async policyData(now: Date): Promise<Pick<RegistryPolicies, 'exceptions' | 'grants'>> {
    const [exceptions, grants] = await Promise.all([
      this.metadata.listPolicyData('exception', now),
      this.metadata.listPolicyData('break-glass', now),
    ]);
    const read = (r: PolicyDataRecord) =>
      parsePolicyDocument(r.document, `store:${r.kind}/${r.id}`, [], [KIND_OF_DATA[r.kind]])
        .document;
    return {
      exceptions: [
        ...this.policies.exceptions,
        ...exceptions.map(read).filter((d): d is PolicyException => d?.kind === 'PolicyException'),
      ],
      grants: [
        ...this.policies.grants,
        ...grants.map(read).filter((d): d is BreakGlassGrant => d?.kind === 'BreakGlassGrant'),
      ],
    };
  }

  /** Stored, unexpired policy data of one kind (newest last), for the admin routes. */
  listPolicyData(kind: PolicyDataRecord['kind']): Promise<PolicyDataRecord[]> {
    return this.metadata.listPolicyData(kind, this.clock());
  }

  /**
   * Stores a policy exception (admin): the document is read by the policy schema and checked
   * against the policies in force (its policy and requirement ids must exist), must not have
   * expired, and its creation is audited.
   */
  async createException(actor: Actor, document: unknown): Promise<PolicyDataRecord> {
    const now = this.clock();
    const { result } = await this.decide(actor, 'exception.use', {}, async () => {
      const parsed = parsePolicyDocument(document, 'request', [], ['PolicyException']);
      const exception = parsed.document;
      const issues = [...parsed.issues];
      if (exception?.kind === 'PolicyException') {
        issues.push(...assemblePolicySet([...this.policies.policies, exception]).issues);
      }
      if (exception?.kind !== 'PolicyException' || issues.length > 0) {
        throw new ValidationError('POLICY_INVALID', 'The exception document is not valid', {
          details: { issues: issues.map((i) => ({ path: i.path, message: i.message })) },
        });
      }
      if (exception.expiresAt.getTime() <= now.getTime()) {
        throw new ValidationError('POLICY_INVALID', `Exception ${exception.name} has expired`, {
          details: { issues: [{ path: 'spec.expiresAt', message: 'is in the past' }] },
        });
      }
      const record: PolicyDataRecord = {
        kind: 'exception',
        id: exception.name,
        document: document as Record<string, unknown>,
        createdBy: actor,
        at: now,
        expiresAt: exception.expiresAt,
      };
      await this.metadata.putPolicyData(record);
      return {
        result: record,
        detail: {
          event: 'create',
          exception: exception.name,
          policy: exception.policy,
          requirements: [...exception.requirements],
          ticket: exception.ticket,
          owner: exception.owner,
          expiresAt: exception.expiresAt.toISOString(),
        },
      };
    });
    return result;
  }

  /**
   * Issues a break-glass grant to the caller (the server checked the `break-glass` role): tied
   * to an incident, scoped to one repository and environment (and digests, if given), valid
   * from now for the requested time capped by the policies that govern the scope — the
   * shortest `breakGlass.maxTTL` among them. Refused when no policy governs the scope or one of
   * them disables break-glass. Audited (`break-glass.grant`).
   */
  async requestBreakGlass(actor: Actor, request: BreakGlassRequest): Promise<PolicyDataRecord> {
    const repo = await this.repository(request.repository);
    const env = this.environment(request.environment);
    const now = this.clock();
    const ctx = { repository: repo.name, environment: env.name };
    const { result } = await this.decide(
      actor,
      'break-glass.grant',
      ctx,
      async () => {
        const governing = this.policies.policies.filter(
          (p) => matchesAny(p.repositories, repo.name) && matchesAny(p.environments, env.name),
        );
        const refusal =
          governing.length === 0
            ? `no policy governs ${repo.name} in ${env.name}, so there is nothing to break glass on`
            : governing.find((p) => !p.breakGlass.enabled) !== undefined
              ? `policy ${governing.find((p) => !p.breakGlass.enabled)!.name} disables break-glass`
              : new Set(governing.map((p) => p.breakGlass.role)).size > 1
                ? 'the governing policies require different break-glass roles'
                : undefined;
        if (refusal !== undefined) {
          throw new VerificationError('ACCESS_DENIED', `No break-glass grant: ${refusal}`, {
            details: { policies: governing.map((p) => p.name) },
          });
        }
        const capSeconds = Math.min(...governing.map((p) => p.breakGlass.maxTtlSeconds));
        const ttlSeconds = Math.min(request.ttlSeconds, capSeconds);
        const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
        const document = {
          apiVersion: POLICY_API_VERSION,
          kind: 'BreakGlassGrant',
          metadata: { name: request.name },
          spec: {
            incident: request.incident,
            requestedBy: { subject: actor.subject, issuer: actor.issuer },
            role: governing[0]!.breakGlass.role,
            scope: {
              repositories: [repo.name],
              environments: [env.name],
              ...(request.digests === undefined ? {} : { digests: [...request.digests] }),
            },
            reason: request.reason,
            grantedAt: now.toISOString(),
            expiresAt: expiresAt.toISOString(),
          },
        };
        const parsed = parsePolicyDocument(document, 'request', [], ['BreakGlassGrant']);
        if (parsed.document === undefined) {
          throw new ValidationError('POLICY_INVALID', 'The break-glass request is not valid', {
            details: { issues: parsed.issues.map((i) => ({ path: i.path, message: i.message })) },
          });
        }
        const record: PolicyDataRecord = {
          kind: 'break-glass',
          id: request.name,
          document,
          createdBy: actor,
          at: now,
          expiresAt,
        };
        await this.metadata.putPolicyData(record);
        return {
          result: record,
          detail: {
            grant: request.name,
            incident: request.incident,
            reason: request.reason,
            requestedSeconds: request.ttlSeconds,
            ttlSeconds,
            expiresAt: expiresAt.toISOString(),
            policies: governing.map((p) => p.name),
          },
        };
      },
      { incident: request.incident },
    );
    return result;
  }

  // ── central signing ─────────────────────────────────────────────────────────────────

  /**
   * Signs for a caller with the signer role: an OMS signature over the stored manifest, or an
   * attestation about the digest. The key stays in the server (file or PKCS#11).
   */
  async sign(
    actor: Actor,
    repositoryInput: string,
    environmentInput: string,
    digest: Sha256Digest,
    request: SignRequest,
  ): Promise<BundleRecord> {
    const repo = await this.repository(repositoryInput);
    const env = this.environment(environmentInput);
    const { result } = await this.decide(
      actor,
      'sign',
      { repository: repo.name, environment: env.name, digest },
      async () => {
        const signer = this.signer;
        if (signer === undefined) {
          throw new InfraError('SIGNING_UNAVAILABLE', 'This server holds no signing key');
        }
        const artifact = await this.artifact(repo.name, env.name, digest);
        let text: string;
        let predicateType: string;
        if (request.kind === 'signature') {
          const serialization = serializationSchema.parse(artifact.serialization);
          const manifest = await artifactManifest(
            artifact.resources,
            serialization,
            this.blobs,
            repo.name,
          );
          requireDigest(manifest, digest);
          const signed = await signManifest(manifest, signer, { subjectName: repo.name });
          text = signed.bundle.toString('utf8').trimEnd();
          predicateType = OMS_PREDICATE_TYPE;
        } else {
          const statement = serializeStatement({
            digest,
            subjectName: repo.name,
            predicateType: request.predicateType,
            predicate: request.predicate as { [key: string]: JsonValue },
          });
          text = (await signAttestation(statement, signer)).toString('utf8').trimEnd();
          predicateType = request.predicateType;
        }
        const { bundle } = await this.metadata.addBundle({
          repository: repo.name,
          digest,
          kind: request.kind,
          predicateType,
          bundle: text,
          addedBy: actor,
          at: this.clock(),
        });
        return { result: bundle, detail: { bundle: bundle.id, kind: request.kind, predicateType } };
      },
    );
    return result;
  }

  // ── audit ───────────────────────────────────────────────────────────────────────────

  listAudit(options: { afterSeq?: number; limit?: number } = {}): Promise<AuditRecord[]> {
    return this.metadata.listAudit(options);
  }

  /** Appends one audit record (for decisions made outside this service: tokens, roles, login). */
  audit(
    actor: Actor,
    action: AuditAction,
    decision: AuditDecision,
    ctx: AuditContext,
    reasons: readonly string[],
    detail?: Readonly<Record<string, unknown>>,
  ): Promise<AuditRecord> {
    return this.metadata.appendAudit({
      at: this.clock(),
      actor,
      action,
      decision,
      ...ctx,
      reasons,
      ...(detail === undefined ? {} : { detail }),
    });
  }

  /**
   * Runs one decision and audits it: allow (or the policy's outcome) with the detail `run`
   * returns, or deny with the error code (and the policy decision when there is one) before
   * the error propagates. An infrastructure failure is audited when the store still answers.
   */
  private async decide<T>(
    actor: Actor,
    action: AuditAction,
    ctx: AuditContext,
    run: () => Promise<{
      result: T;
      detail?: Record<string, unknown>;
      decision?: AuditDecision | undefined;
    }>,
    extra: Record<string, unknown> = {},
  ): Promise<{ readonly result: T; readonly audit: AuditRecord }> {
    let outcome: Awaited<ReturnType<typeof run>>;
    try {
      outcome = await run();
    } catch (err) {
      if (isCairnError(err)) await this.auditDenial(actor, action, ctx, err, extra);
      throw err;
    }
    const decision = outcome.decision ?? 'allow';
    const reasons = decision === 'allow' ? [] : violationReasons(outcome.detail);
    const audit = await this.audit(actor, action, decision, ctx, reasons, {
      ...extra,
      ...outcome.detail,
    });
    return { result: outcome.result, audit };
  }

  private async auditDenial(
    actor: Actor,
    action: AuditAction,
    ctx: AuditContext,
    err: CairnError,
    extra: Record<string, unknown>,
  ): Promise<void> {
    if (err.code === ('STORE_UNAVAILABLE' as string)) return;
    const decision = err.details?.['decision'] as Decision | undefined;
    const reasons = [
      err.code,
      ...(decision?.violations.map((v) => `${v.policy}:${v.requirement}:${v.code}`) ?? []),
    ];
    try {
      await this.audit(actor, action, 'deny', ctx, reasons, {
        ...extra,
        message: err.message,
        ...(decision === undefined
          ? {}
          : { decision: decision as unknown as Record<string, unknown> }),
      });
    } catch {
      // The denial stands whether or not it could be recorded; the store error is logged upstream.
    }
  }
}

function matchesAny(matchers: readonly NameMatcher[], value: string): boolean {
  return matchers.some((m) =>
    m.kind === 'exact' ? m.value === value : matchPattern(m.pattern, value),
  );
}

function isRepositoryName(name: string): boolean {
  try {
    return repositoryName(name) === name;
  } catch {
    return false;
  }
}

function auditDecision(decision: Decision): AuditDecision {
  return decision.outcome;
}

function violationReasons(detail: Record<string, unknown> | undefined): string[] {
  const d = detail?.['decision'] as Decision | undefined;
  if (d === undefined) return [];
  return d.violations.map((v) => `${v.policy}:${v.requirement}:${v.code}`);
}

function describeReference(reference: ArtifactReference): string {
  return reference.kind === 'digest' ? reference.digest : `tag:${reference.tag}`;
}

/** Signature or attestation, by the statement's predicate type. */
function bundleKind(text: string): BundleKind {
  const claims = inspectBundle(Buffer.from(text, 'utf8'));
  return claims.predicateType === OMS_PREDICATE_TYPE ||
    claims.predicateType === OMS_PREDICATE_TYPE_COMPAT
    ? 'signature'
    : 'attestation';
}

/**
 * Reads a bundle (unverified: trust is checked at the gates) and requires its statement to name
 * `digest`; returns the predicate type. A signature whose subject is another digest is
 * SUBJECT_DIGEST_MISMATCH; an attestation, ATTESTATION_SUBJECT_MISMATCH.
 */
function bundleSubject(text: string, kind: BundleKind, digest: Sha256Digest): string {
  const bytes = Buffer.from(text, 'utf8');
  const claims = inspectBundle(bytes);
  const hex = digest.slice('sha256:'.length);
  if (kind === 'signature') {
    if (
      claims.predicateType !== OMS_PREDICATE_TYPE &&
      claims.predicateType !== OMS_PREDICATE_TYPE_COMPAT
    ) {
      throw new VerificationError(
        'PREDICATE_TYPE_MISMATCH',
        'A signature must be an OMS signature bundle',
        {
          details: { predicateType: claims.predicateType ?? null },
        },
      );
    }
    if (claims.subjectDigest?.toLowerCase() !== hex) {
      throw new VerificationError(
        'SUBJECT_DIGEST_MISMATCH',
        `The signature is about ${claims.subjectDigest ?? 'nothing'}, not ${digest}`,
        {
          details: { expected: digest, actual: claims.subjectDigest ?? null },
        },
      );
    }
    return claims.predicateType;
  }
  const statement = statementFromPayload(bundleFromJSON(bytes).dsseEnvelope.payload);
  if (!statement.subject.some((s) => s.digest['sha256']?.toLowerCase() === hex)) {
    throw new VerificationError(
      'ATTESTATION_SUBJECT_MISMATCH',
      `The attestation is not about ${digest}`,
      {
        details: { expected: digest, predicateType: statement.predicateType },
      },
    );
  }
  return statement.predicateType;
}

/** Re-hashes a blob as it streams; errors at the end unless the bytes are the blob. */
function verifyingStream(blob: Sha256Digest, size: number): Transform {
  const hash = createHash('sha256');
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      seen += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== blob || seen !== size) {
        done(
          new VerificationError(
            'ARTIFACT_DIGEST_MISMATCH',
            `Stored blob ${blob} no longer hashes to its digest`,
            {
              details: { blob, actual, size, seen },
            },
          ),
        );
      } else done();
    },
  });
}

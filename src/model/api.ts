import { statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { formatArtifactDigest, type ArtifactDigest, type HashAlgorithm } from '../digest/index.js';
import { UsageError, VerificationError, fromFsError } from '../errors/index.js';
import {
  DEFAULT_ATTESTATIONS_NAME,
  DEFAULT_SIGNATURE_NAME,
  compareManifests,
  hashModel,
  isPackedManifest,
  manifestPaths,
  manifestRootDigest,
  pathProblem,
  type HashProgress,
  type Manifest,
  type ManifestDiff,
  type PackedManifest,
  type Resource,
  type SerializationMethod,
} from '../manifest/index.js';
import type { Signer } from '../keys/index.js';
// Signing and verification code (and zod, which their bundle parsing uses) is loaded on first
// use, so `digestModel` — `cairn digest` — starts without it (~0.07 s of CPU, ~6 MiB here).
import type { BundleClaims, SignerFacts, VerificationTrust } from '../verify/index.js';
import { MAX_BUNDLE_BYTES, readSmallFile, writeFileAtomic } from './files.js';
import { verifySignatureFile } from './verify-signature.js';

/** Options shared by digest, sign and verify: which files are in scope. */
export interface ModelScopeOptions {
  /** Paths to exclude, relative to the model root (`/`-separated). */
  readonly ignorePaths?: readonly string[];
  /** Default true: exclude `.git`, `.gitattributes`, `.github`, `.gitignore` at the root. */
  readonly ignoreGitPaths?: boolean;
  /** Default false. */
  readonly allowSymlinks?: boolean;
  readonly workers?: number;
  readonly onProgress?: (progress: HashProgress) => void;
  readonly signal?: AbortSignal;
}

export interface HashingChoice {
  /** Default sha256. */
  readonly hashType?: HashAlgorithm;
  /** Shard mode when set: bytes per shard. */
  readonly shardSize?: number;
}

export interface DigestModelOptions extends ModelScopeOptions, HashingChoice {
  /** The signature file to exclude besides the defaults (when it lies inside the model). */
  readonly signaturePath?: string;
}

export interface DigestResult {
  readonly digest: ArtifactDigest;
  readonly manifest: Manifest;
}

/** Paths never hashed at the model root: the default signature and attestation files. */
const DEFAULT_EXCLUSIONS = [DEFAULT_SIGNATURE_NAME, DEFAULT_ATTESTATIONS_NAME] as const;

/**
 * The default signature location: `model.sig` inside a model directory, `<file>.sig` beside a
 * single-file model. Either way it is excluded from hashing.
 */
export function defaultSignaturePath(modelPath: string): string {
  const abs = resolve(modelPath);
  return isDirectory(abs) ? join(abs, DEFAULT_SIGNATURE_NAME) : `${abs}.sig`;
}

/** Computes the OMS root digest and manifest of a model (`model_signing digest`). */
export async function digestModel(
  modelPath: string,
  options: DigestModelOptions = {},
): Promise<DigestResult> {
  const signaturePath = options.signaturePath ?? defaultSignaturePath(modelPath);
  const manifest = await hashModel(modelPath, {
    ...hashScope(modelPath, options, signaturePath),
    ...hashingMode(options),
  });
  return { digest: formatArtifactDigest(manifestRootDigest(manifest)), manifest };
}

export interface SignModelOptions extends DigestModelOptions {
  readonly signer: Signer;
  /** Where to write the bundle; default `defaultSignaturePath(modelPath)`. */
  readonly signaturePath?: string;
  /** Replace an existing signature file (default: refuse). */
  readonly overwrite?: boolean;
}

export interface SignResult {
  readonly digest: ArtifactDigest;
  readonly signaturePath: string;
  readonly manifest: Manifest;
  /** The exact bytes written. */
  readonly bundle: Buffer;
}

/** Hashes a model, signs its manifest and writes the OMS bundle atomically. */
export async function signModel(modelPath: string, options: SignModelOptions): Promise<SignResult> {
  const signaturePath = resolve(options.signaturePath ?? defaultSignaturePath(modelPath));
  if (!options.overwrite) {
    // Fail before hashing a multi-GB model only to refuse the write at the end.
    assertWritableTarget(signaturePath);
  }
  const { manifest } = await digestModel(modelPath, { ...options, signaturePath });
  const { signManifest } = await import('../sign/index.js');
  const signed = await signManifest(manifest, options.signer, { subjectName: manifest.modelName });
  writeFileAtomic(signaturePath, signed.bundle, { overwrite: options.overwrite ?? false });
  return { digest: signed.digest, signaturePath, manifest, bundle: signed.bundle };
}

export interface VerifyModelOptions extends ModelScopeOptions {
  /** Default `defaultSignaturePath(modelPath)`. */
  readonly signaturePath?: string;
  readonly trust: VerificationTrust;
  /** Hash only the files the signature names; extra files are tolerated (reference flag). */
  readonly ignoreUnsignedFiles?: boolean;
  /**
   * Share the hashing between several verifications of one model in one command (several
   * signatures, `--threshold`): a bundle recording the same way of hashing reuses the manifest
   * computed for an earlier one instead of reading every byte again.
   */
  readonly manifestCache?: ManifestCache;
}

/**
 * Manifests computed from a model, by everything the hashing depends on (path, hash type, method,
 * shard size, symlink rule, ignored paths). Meant for one command: a later change to the model is
 * not seen through it. A failed hashing is remembered as failed.
 */
export class ManifestCache {
  private readonly entries = new Map<string, Promise<Manifest>>();

  /** The manifest for `key`, computing it on first use. */
  manifest(key: string, compute: () => Promise<Manifest>): Promise<Manifest> {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = compute();
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** How many distinct hashings were asked for (each computed once). */
  get size(): number {
    return this.entries.size;
  }
}

export interface ResourceCheck {
  readonly name: string;
  readonly algorithm: string;
  readonly digest: string;
  readonly size: number | undefined;
  readonly role: Resource['role'];
}

/** The facts a successful model verification establishes. */
export interface ModelVerification {
  readonly verified: true;
  readonly digest: ArtifactDigest;
  readonly modelName: string;
  readonly signer: SignerFacts;
  readonly predicateType: string;
  readonly serialization: Manifest['serialization'];
  readonly resourcesChecked: number;
  /** Every resource checked; built on first read (a getter), so a summary costs nothing. */
  readonly resources: readonly ResourceCheck[];
  readonly warnings: readonly string[];
}

/**
 * Verifies the signature, then re-hashes the model exactly as the signature records
 * (method, hash, shard size, ignore paths) and compares every resource. Throws
 * `VerificationError` (MODEL_MISMATCH with every extra, missing and changed file in `details`).
 */
export async function verifyModel(
  modelPath: string,
  options: VerifyModelOptions,
): Promise<ModelVerification> {
  const signaturePath = resolve(options.signaturePath ?? defaultSignaturePath(modelPath));
  // No variable holds the bundle's bytes (megabytes on a big model) across the hashing below;
  // a big bundle is parsed on a worker thread whose heap is gone before the hashing starts.
  const verified = await verifySignatureFile(signaturePath, options.trust);
  const signed = verified.manifest;
  const recorded = signed.serialization;

  // Only whether the default signature/attestation names are signed matters here; a Set of
  // every signed path would cost megabytes on a big model.
  const signedDefaults = new Set<string>();
  for (const path of manifestPaths(signed)) {
    if ((DEFAULT_EXCLUSIONS as readonly string[]).includes(path)) signedDefaults.add(path);
  }
  const scope = hashScope(modelPath, options, signaturePath, {
    recordedIgnorePaths: recorded.ignorePaths,
    signedPaths: signedDefaults,
  });
  const hashing = {
    ...scope,
    // The recorded policy applies (OMS spec); the flag can only loosen it, as in the reference CLI.
    allowSymlinks: recorded.allowSymlinks || (options.allowSymlinks ?? false),
    hashType: recorded.hashType,
    method: recorded.method,
    ...(recorded.shardSize === undefined ? {} : { shardSize: recorded.shardSize }),
    ...(options.ignoreUnsignedFiles ? { onlyPaths: new Set(manifestPaths(signed)) } : {}),
  };
  const cache = options.ignoreUnsignedFiles ? undefined : options.manifestCache;
  const actual = await (cache === undefined
    ? hashModel(modelPath, hashing)
    : cache.manifest(
        JSON.stringify([
          resolve(modelPath),
          hashing.hashType,
          hashing.method,
          hashing.shardSize ?? null,
          hashing.allowSymlinks,
          hashing.ignoreGitPaths,
          [...hashing.ignorePaths].sort(),
        ]),
        () => hashModel(modelPath, hashing),
      ));

  const diff = compareManifests(normaliseShardAlgorithms(signed), normaliseShardAlgorithms(actual));
  if (!diff.ok) throw modelMismatch(actual.modelName, diff);

  let checks: readonly ResourceCheck[] | undefined;
  const verification: ModelVerification = {
    verified: true,
    digest: verified.digest,
    modelName: actual.modelName,
    signer: verified.signer,
    predicateType: verified.predicateType,
    serialization: recorded,
    resourcesChecked: actual.resources.length,
    // Built on first read (then kept): an object and a hex string per file, megabytes on a model
    // of many files, that a caller reporting a summary never reads.
    get resources(): readonly ResourceCheck[] {
      return (checks ??= resourceChecks(actual.resources));
    },
    warnings: verified.warnings,
  };
  checkedResources.set(verification, actual.resources);
  return verification;
}

/** The resources behind each `verifyModel` result, for `resourceChecksBetween`. */
const checkedResources = new WeakMap<ModelVerification, readonly Resource[]>();

/**
 * `verification.resources.slice(from, to)` without building the whole list: for writing a
 * verification of tens of thousands of files a slice at a time.
 */
export function resourceChecksBetween(
  verification: ModelVerification,
  from: number,
  to: number,
): ResourceCheck[] {
  const resources = checkedResources.get(verification);
  return resources === undefined
    ? verification.resources.slice(from, to)
    : resourceChecks(resources.slice(from, to));
}

/** The result's per-resource facts, built in one preallocated pass. */
function resourceChecks(resources: readonly Resource[]): ResourceCheck[] {
  const out = new Array<ResourceCheck>(resources.length);
  for (let i = 0; i < resources.length; i++) {
    const r = resources[i]!;
    out[i] = {
      name: r.name,
      algorithm: r.algorithm,
      digest: r.digest.toString('hex'),
      size: r.size,
      role: r.role,
    };
  }
  return out;
}

/** Reads a signature file and reports what it claims, without verifying anything. */
export async function inspectSignature(signaturePath: string): Promise<BundleClaims> {
  const bytes = readSmallFile(signaturePath, MAX_BUNDLE_BYTES, 'Signature file');
  const { inspectBundle } = await import('../verify/index.js');
  return inspectBundle(bytes);
}

/** Names per kind in a mismatch's one-line message; `details` (and the CLI's lines) hold all. */
const MESSAGE_NAMES = 3;

function modelMismatch(modelName: string, diff: ManifestDiff): VerificationError {
  const parts: string[] = [];
  const part = (kind: string, count: number, first: readonly string[]): void => {
    if (count === 0) return;
    const more = count - first.length;
    parts.push(`${kind}: ${first.join(', ')}${more > 0 ? ` and ${more} more` : ''}`);
  };
  part('extra', diff.extra.length, diff.extra.slice(0, MESSAGE_NAMES));
  part('missing', diff.missing.length, diff.missing.slice(0, MESSAGE_NAMES));
  part(
    'changed',
    diff.changed.length,
    diff.changed.slice(0, MESSAGE_NAMES).map((c) => c.name),
  );
  return new VerificationError(
    'MODEL_MISMATCH',
    `Model '${modelName}' does not match its signature (${parts.join('; ')})`,
    { details: { extra: diff.extra, missing: diff.missing, changed: diff.changed } },
  );
}

/**
 * Shard resources are recorded as `<hash>-sharded-<N>` by the reference and as plain `<hash>` by
 * the spec; both name the same computation, so compare them as one.
 */
function normaliseShardAlgorithms<M extends Manifest | PackedManifest>(manifest: M): M {
  if (manifest.serialization.method !== 'shards') return manifest;
  const plain = (algorithm: string): string => algorithm.replace(/-sharded-\d+$/, '');
  return isPackedManifest(manifest)
    ? { ...manifest, algorithms: manifest.algorithms.map(plain) }
    : {
        ...manifest,
        resources: manifest.resources.map((r) => ({ ...r, algorithm: plain(r.algorithm) })),
      };
}

function hashingMode(choice: HashingChoice): {
  hashType: HashAlgorithm;
  method: SerializationMethod;
  shardSize?: number;
} {
  const hashType = choice.hashType ?? 'sha256';
  if (choice.shardSize === undefined) return { hashType, method: 'files' };
  if (!Number.isSafeInteger(choice.shardSize) || choice.shardSize <= 0) {
    throw new UsageError('USAGE', `Shard size must be a positive integer, got ${choice.shardSize}`);
  }
  return { hashType, method: 'shards', shardSize: choice.shardSize };
}

/**
 * Resolves which paths are excluded from hashing. Signing: the caller's paths, plus — when the
 * signature lies inside the model (the default layout) — the signature and attestation file names,
 * which are then recorded in the bundle so the reference verifier skips them too. Verifying: the
 * caller's, the recorded ones, the signature file, and the default names unless the signed
 * manifest lists them as resources.
 */
function hashScope(
  modelPath: string,
  options: ModelScopeOptions,
  signaturePath: string | undefined,
  verifying?: {
    readonly recordedIgnorePaths: readonly string[];
    readonly signedPaths: ReadonlySet<string>;
  },
): {
  ignorePaths: string[];
  ignoreGitPaths: boolean;
  allowSymlinks: boolean;
  workers?: number;
  onProgress?: (progress: HashProgress) => void;
  signal?: AbortSignal;
} {
  const root = resolve(modelPath);
  const ignore: string[] = [];
  for (const p of options.ignorePaths ?? []) {
    const problem = pathProblem(p);
    if (problem !== undefined || p === '.') {
      throw new UsageError(
        'USAGE',
        `Ignore path ${JSON.stringify(p)} is not usable: ${problem ?? 'it is the model root'}`,
        { hint: 'Give paths relative to the model root, without "..".' },
      );
    }
    ignore.push(p);
  }
  if (isDirectory(root)) {
    const sigRel = signaturePath === undefined ? undefined : insideRoot(root, signaturePath);
    if (verifying !== undefined) {
      ignore.push(...verifying.recordedIgnorePaths);
      if (sigRel !== undefined) ignore.push(sigRel);
      for (const name of DEFAULT_EXCLUSIONS)
        if (!verifying.signedPaths.has(name)) ignore.push(name);
    } else if (sigRel !== undefined) {
      ignore.push(sigRel, ...DEFAULT_EXCLUSIONS);
    }
  }
  return {
    ignorePaths: [...new Set(ignore)],
    ignoreGitPaths: options.ignoreGitPaths ?? true,
    allowSymlinks: options.allowSymlinks ?? false,
    ...(options.workers === undefined ? {} : { workers: options.workers }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
}

/** The `/`-separated path of `target` relative to `root`, or undefined when it is outside. */
function insideRoot(root: string, target: string): string | undefined {
  const rel = relative(root, resolve(target));
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return rel.split(sep).join('/');
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch (err) {
    throw fromFsError(err, path);
  }
}

function assertWritableTarget(path: string): void {
  try {
    statSync(path);
  } catch {
    if (!isDirectory(dirname(path))) {
      throw new UsageError('OUTPUT_UNWRITABLE', `Not a directory: ${dirname(path)}`);
    }
    return;
  }
  throw new UsageError('OUTPUT_EXISTS', `Signature file already exists: ${path}`, {
    hint: 'Pass --force to replace it, or --signature to write elsewhere.',
    details: { path },
  });
}

import {
  createHasher,
  formatArtifactDigest,
  rootDigest,
  type HashAlgorithm,
} from '../digest/index.js';
import { ValidationError, VerificationError } from '../errors/index.js';
import {
  comparePaths,
  pathProblem,
  roleForPath,
  shardName,
  sortResources,
  type Manifest,
  type Resource,
} from '../manifest/index.js';
import type { BlobStore, Sha256Digest, StoredResource } from '../store/index.js';
import { listIssues, type OmsSerialization, type RequestIssue } from './requests.js';

/**
 * Rebuilds the OMS manifest of an artifact from its stored resources, and so its root digest.
 * For `files` + `sha256` each resource digest is the blob digest itself (a blob is addressed by
 * the SHA-256 of its bytes): no byte is read. Any other serialization re-hashes the blobs with
 * the recorded algorithm (and shard size), streaming, so a pushed digest is never taken on trust.
 */
export async function artifactManifest(
  resources: readonly StoredResource[],
  serialization: OmsSerialization,
  blobs: BlobStore,
  modelName: string,
): Promise<Manifest> {
  const hashType = serialization.hash_type;
  const out: Resource[] = [];
  if (serialization.method === 'shards' && serialization.shard_size === undefined) {
    throw invalid([{ path: 'serialization.shard_size', message: 'required for shards' }]);
  }
  for (const r of resources) {
    if (serialization.method === 'files' && hashType === 'sha256') {
      out.push(resource(r.name, Buffer.from(r.blob.slice(7), 'hex'), r.size, 'sha256'));
      continue;
    }
    const shardSize = serialization.method === 'shards' ? serialization.shard_size! : 0;
    const digests = await hashBlob(blobs, r.blob, hashType, shardSize);
    if (shardSize === 0) {
      out.push(resource(r.name, digests[0]!, r.size, hashType));
    } else {
      digests.forEach((d, i) => {
        const start = i * shardSize;
        const end = Math.min(r.size, start + shardSize);
        out.push({
          ...resource(
            shardName(r.name, { start, end }),
            d,
            end - start,
            `${hashType}-sharded-${shardSize}`,
          ),
          path: r.name,
          shard: { start, end },
        });
      });
    }
  }
  return {
    modelName,
    serialization: {
      method: serialization.method,
      hashType,
      ...(serialization.shard_size === undefined ? {} : { shardSize: serialization.shard_size }),
      allowSymlinks: serialization.allow_symlinks ?? false,
      ignorePaths: serialization.ignore_paths ?? [],
    },
    resources: sortResources(out),
  };
}

function resource(name: string, digest: Buffer, size: number, algorithm: string): Resource {
  return { name, path: name, algorithm, digest, size, role: roleForPath(name) };
}

/** The OMS root digest of a manifest (SHA-256 over the resource digests in manifest order). */
export function manifestDigest(manifest: Manifest): Sha256Digest {
  return formatArtifactDigest(rootDigest(manifest.resources.map((r) => r.digest)));
}

/** Streams a blob through the hasher: one digest (files) or one per shard. */
async function hashBlob(
  blobs: BlobStore,
  blob: Sha256Digest,
  algorithm: HashAlgorithm,
  shardSize: number,
): Promise<Buffer[]> {
  const digests: Buffer[] = [];
  let hasher = createHasher(algorithm);
  let inShard = 0;
  const stream = await blobs.open(blob);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let data = chunk;
    while (shardSize > 0 && inShard + data.length >= shardSize) {
      const take = shardSize - inShard;
      hasher.update(data.subarray(0, take));
      digests.push(hasher.digest());
      hasher = createHasher(algorithm);
      inShard = 0;
      data = data.subarray(take);
    }
    if (data.length > 0) {
      hasher.update(data);
      inShard += data.length;
    }
  }
  // Zero-length files have no shard at all (reference `_get_shards`).
  if (shardSize === 0 || inShard > 0) digests.push(hasher.digest());
  return digests;
}

function invalid(issues: readonly RequestIssue[]): ValidationError {
  return new ValidationError(
    'ARTIFACT_INVALID',
    `The artifact is not consistent: ${listIssues(issues)}`,
    {
      details: { issues },
    },
  );
}

/**
 * Checks pushed resources before anything is stored: safe and unique names, every blob present
 * with the stated size. Every problem is listed (ARTIFACT_INVALID). Returns them sorted by name.
 */
export async function checkResources(
  resources: readonly StoredResource[],
  blobs: BlobStore,
  /** Whether the pushing repository may use the blob; one it may not is reported as absent. */
  usable: (blob: StoredResource['blob']) => Promise<boolean> = () => Promise.resolve(true),
): Promise<StoredResource[]> {
  const issues: RequestIssue[] = [];
  const seen = new Set<string>();
  resources.forEach((r, i) => {
    const problem = pathProblem(r.name);
    if (problem !== undefined) issues.push({ path: `resources[${i}].name`, message: problem });
    const key = r.name.normalize('NFC');
    if (seen.has(key)) {
      issues.push({
        path: `resources[${i}].name`,
        message: `duplicate name ${JSON.stringify(r.name)}`,
      });
    }
    seen.add(key);
  });
  if (resources.length > 1 && resources.some((r) => r.name === '.')) {
    issues.push({ path: 'resources', message: '"." names a single-file model; it must be alone' });
  }
  for (const [i, r] of resources.entries()) {
    if (issues.length >= 100) break;
    // Stat first: a blob store that is down fails closed (STORE_UNAVAILABLE) either way.
    const stored = await blobs.stat(r.blob);
    const info = stored !== undefined && (await usable(r.blob)) ? stored : undefined;
    if (info === undefined) {
      issues.push({ path: `resources[${i}].blob`, message: `blob ${r.blob} was not uploaded` });
    } else if (info.size !== r.size) {
      issues.push({
        path: `resources[${i}].size`,
        message: `blob ${r.blob} has ${info.size} bytes, not ${r.size}`,
      });
    }
  }
  if (issues.length > 0) throw invalid(issues);
  return [...resources].sort((a, b) => comparePaths(a.name, b.name));
}

/** ARTIFACT_DIGEST_MISMATCH unless the manifest's root digest is `expected`. */
export function requireDigest(manifest: Manifest, expected: Sha256Digest): void {
  const actual = manifestDigest(manifest);
  if (actual !== expected) {
    throw new VerificationError(
      'ARTIFACT_DIGEST_MISMATCH',
      `The resources hash to ${actual}, not ${expected}`,
      { details: { expected, actual } },
    );
  }
}

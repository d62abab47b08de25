import { X509Certificate } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { InfraError, errorFromWire, type WireError } from '../errors/index.js';
import { RESOURCE_ROLES, type Resource, type Serialization } from '../manifest/index.js';
import type { VerificationTrust, VerifiedSignature } from '../verify/index.js';

/**
 * Signature bundles at least this big are verified on a short-lived worker thread. Parsing the
 * bundle of a 20,000-file model (4.5 MB) on the calling thread grew V8's young generation to its
 * 32 MiB maximum for the rest of the run: `cairn verify` of that model then peaked near the
 * 128 MiB budget. A worker's heap is returned when it exits and only a packed manifest crosses
 * over (figures in docs/performance.md). Below this size the worker's start costs more than it
 * saves.
 */
export const WORKER_MIN_BUNDLE_BYTES = 1024 * 1024;

/** Enough for the largest bundle (16 MiB); the young generation kept small. */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 512 };

/** `VerificationTrust` as data a worker can receive (certificates as DER; keys clone as is). */
export type WireTrust =
  | Exclude<VerificationTrust, { readonly kind: 'certificate' }>
  | { readonly kind: 'certificate'; readonly trustedRoots: readonly Uint8Array[] };

export function trustToWire(trust: VerificationTrust): WireTrust {
  return trust.kind === 'certificate'
    ? { kind: 'certificate', trustedRoots: trust.trustedRoots.map((c) => c.raw) }
    : trust;
}

export function trustFromWire(wire: WireTrust): VerificationTrust {
  return wire.kind === 'certificate'
    ? {
        kind: 'certificate',
        trustedRoots: wire.trustedRoots.map((der) => new X509Certificate(Buffer.from(der))),
      }
    : wire;
}

/**
 * A verified signature with its manifest packed flat: a string per resource only for its name
 * (and its path where that differs), every digest in one buffer, numbers in typed arrays.
 */
export interface PackedVerification {
  readonly signer: VerifiedSignature['signer'];
  readonly digest: VerifiedSignature['digest'];
  readonly subjectName: string;
  readonly predicateType: string;
  readonly warnings: readonly string[];
  readonly modelName: string;
  readonly serialization: Serialization;
  readonly names: readonly string[];
  /** Paths of the resources whose path is not their name (shards), by resource index. */
  readonly paths: Readonly<Record<number, string>>;
  readonly algorithms: readonly string[];
  readonly algorithmIndex: Uint16Array;
  readonly roleIndex: Uint8Array;
  /** Digest i is `digests[ends[i - 1] .. ends[i])`. */
  readonly digests: Uint8Array;
  readonly ends: Uint32Array;
  /** Size per resource, NaN where none is recorded. */
  readonly sizes: Float64Array;
  /** Shard start and end per resource, NaN for whole files. */
  readonly shards: Float64Array;
}

export function packVerification(v: VerifiedSignature): PackedVerification {
  const rs = v.manifest.resources;
  const n = rs.length;
  const algorithms: string[] = [];
  const algorithmIndex = new Uint16Array(n);
  const roleIndex = new Uint8Array(n);
  const ends = new Uint32Array(n);
  const sizes = new Float64Array(n);
  const shards = new Float64Array(2 * n);
  const paths: Record<number, string> = {};
  let total = 0;
  for (const r of rs) total += r.digest.length;
  const digests = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const r = rs[i]!;
    let a = algorithms.indexOf(r.algorithm);
    if (a === -1) a = algorithms.push(r.algorithm) - 1;
    algorithmIndex[i] = a;
    roleIndex[i] = RESOURCE_ROLES.indexOf(r.role);
    digests.set(r.digest, at);
    at += r.digest.length;
    ends[i] = at;
    sizes[i] = r.size ?? Number.NaN;
    shards[2 * i] = r.shard?.start ?? Number.NaN;
    shards[2 * i + 1] = r.shard?.end ?? Number.NaN;
    if (r.path !== r.name) paths[i] = r.path;
  }
  return {
    signer: v.signer,
    digest: v.digest,
    subjectName: v.subjectName,
    predicateType: v.predicateType,
    warnings: v.warnings,
    modelName: v.manifest.modelName,
    serialization: v.manifest.serialization,
    names: rs.map((r) => r.name),
    paths,
    algorithms,
    algorithmIndex,
    roleIndex,
    digests,
    ends,
    sizes,
    shards,
  };
}

export function unpackVerification(p: PackedVerification): VerifiedSignature {
  const n = p.names.length;
  const digests = Buffer.from(p.digests.buffer, p.digests.byteOffset, p.digests.byteLength);
  const resources = new Array<Resource>(n);
  let from = 0;
  for (let i = 0; i < n; i++) {
    const name = p.names[i]!;
    const path = p.paths[i] ?? name;
    const algorithm = p.algorithms[p.algorithmIndex[i]!]!;
    const digest = digests.subarray(from, p.ends[i]);
    from = p.ends[i]!;
    const role = RESOURCE_ROLES[p.roleIndex[i]!]!;
    const size = p.sizes[i]!;
    const start = p.shards[2 * i]!;
    const shard = Number.isNaN(start) ? undefined : { start, end: p.shards[2 * i + 1]! };
    // Literals, not spreads: this runs once per resource.
    resources[i] =
      shard === undefined
        ? Number.isNaN(size)
          ? { name, path, algorithm, digest, role }
          : { name, path, algorithm, digest, size, role }
        : Number.isNaN(size)
          ? { name, path, shard, algorithm, digest, role }
          : { name, path, shard, algorithm, digest, size, role };
  }
  return {
    signer: p.signer,
    digest: p.digest,
    subjectName: p.subjectName,
    predicateType: p.predicateType,
    warnings: p.warnings,
    manifest: { modelName: p.modelName, serialization: p.serialization, resources },
  };
}

export interface WorkerData {
  readonly bundle: Uint8Array;
  readonly trust: WireTrust;
}

export type WorkerResult =
  | { readonly ok: true; readonly verified: PackedVerification }
  | { readonly ok: false; readonly error: WireError };

/** Where to verify: by size (`auto`), or always on a worker / on this thread (tests). */
export type VerifyPlacement = 'auto' | 'worker' | 'inline';

/**
 * `verifyBundle` over a signature file's bytes: on a worker thread when the bundle is big (see
 * WORKER_MIN_BUNDLE_BYTES), on this thread otherwise. The same result and the same errors.
 */
export async function verifySignatureBytes(
  bundle: Buffer,
  trust: VerificationTrust,
  placement: VerifyPlacement = 'auto',
): Promise<VerifiedSignature> {
  if (placement === 'inline' || (placement === 'auto' && bundle.length < WORKER_MIN_BUNDLE_BYTES)) {
    const { verifyBundle } = await import('../verify/index.js');
    return verifyBundle(bundle, trust);
  }
  // A copy the worker owns: `bundle` may share its memory with other Buffers.
  const own = new Uint8Array(bundle.length);
  own.set(bundle);
  const data: WorkerData = { bundle: own, trust: trustToWire(trust) };
  const worker = new Worker(new URL('./verify-worker.js', import.meta.url), {
    workerData: data,
    transferList: [own.buffer],
    resourceLimits: WORKER_LIMITS,
  });
  const result = await new Promise<WorkerResult>((resolve, reject) => {
    let settled = false;
    worker.once('message', (r: WorkerResult) => {
      settled = true;
      resolve(r);
    });
    worker.once('error', (err) => {
      settled = true;
      reject(workerFailed(err.message));
    });
    worker.once('exit', (code) => {
      if (!settled) reject(workerFailed(`it exited with code ${code} before answering`));
    });
  });
  if (!result.ok) throw errorFromWire(result.error);
  return unpackVerification(result.verified);
}

function workerFailed(why: string): InfraError {
  return new InfraError('WORKER_FAILED', `Signature verification worker failed: ${why}`);
}

import { X509Certificate } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { InfraError, errorFromWire, type WireError } from '../errors/index.js';
import type { PackedVerifiedSignature, VerificationTrust } from '../verify/index.js';
import { MAX_BUNDLE_BYTES, readSmallFile } from './files.js';

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

export interface WorkerData {
  readonly bundle: Uint8Array;
  readonly trust: WireTrust;
}

export type WorkerResult =
  | { readonly ok: true; readonly verified: PackedVerifiedSignature }
  | { readonly ok: false; readonly error: WireError };

/** Where to verify: by size (`auto`), or always on a worker / on this thread (tests). */
export type VerifyPlacement = 'auto' | 'worker' | 'inline';

/**
 * `verifyBundle` over a signature file: on a worker thread when the bundle is big (see
 * WORKER_MIN_BUNDLE_BYTES), on this thread otherwise. The file's bytes are read into memory of
 * their own and handed to the worker (transferred, not copied); nothing here holds them after.
 */
export function verifySignatureFile(
  path: string,
  trust: VerificationTrust,
): Promise<PackedVerifiedSignature> {
  return verifyOwnBytes(readSmallFile(path, MAX_BUNDLE_BYTES, 'Signature file'), trust, 'auto');
}

/** `verifySignatureFile` over bytes in memory (copied when they go to a worker). */
export function verifySignatureBytes(
  bundle: Uint8Array,
  trust: VerificationTrust,
  placement: VerifyPlacement = 'auto',
): Promise<PackedVerifiedSignature> {
  return verifyOwnBytes(Uint8Array.from(bundle), trust, placement);
}

/** `bundle` must be the only view of its memory: it is transferred to the worker. */
async function verifyOwnBytes(
  bundle: Uint8Array,
  trust: VerificationTrust,
  placement: VerifyPlacement,
): Promise<PackedVerifiedSignature> {
  if (placement === 'inline' || (placement === 'auto' && bundle.length < WORKER_MIN_BUNDLE_BYTES)) {
    const { verifyBundlePacked } = await import('../verify/index.js');
    return verifyBundlePacked(bundle, trust);
  }
  const data: WorkerData = { bundle, trust: trustToWire(trust) };
  const worker = new Worker(new URL('./verify-worker.js', import.meta.url), {
    workerData: data,
    transferList: [bundle.buffer as ArrayBuffer],
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
  return result.verified;
}

function workerFailed(why: string): InfraError {
  return new InfraError('WORKER_FAILED', `Signature verification worker failed: ${why}`);
}

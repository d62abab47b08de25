import type { HashAlgorithm } from '../digest/index.js';
import type { WireError } from '../errors/index.js';
import type { HashJob, HasherTuning } from './file-hasher.js';

/**
 * Numbers per job in a unit: file index (walk order), first shard, start, end, shard size (0 in
 * files mode), then the walk's identity of the file: size, device, inode, mtimeMs, ctimeMs.
 */
export const JOB_FIELDS = 10;

/**
 * A unit of work: one or more jobs, hashed one after another by one thread. Packed (names in
 * one array, numbers in one Float64Array) rather than one object per job: cheaper to build,
 * to keep until its digests are back, and to copy to a worker.
 */
export interface Unit {
  /** The resolved model root and a separator: the file to open is `prefix + path`… */
  readonly prefix: string;
  readonly paths: readonly string[];
  /** …unless a target is given here (`''` for none): an allowed symlink's resolved target. */
  readonly targets: readonly string[];
  readonly jobs: Float64Array;
  /** Bytes to hash in all. */
  readonly bytes: number;
}

export function jobCount(unit: Unit): number {
  return unit.paths.length;
}

/** Job `k` of a unit as the hasher takes it. */
export function jobAt(unit: Unit, k: number): HashJob {
  const n = unit.jobs;
  const at = k * JOB_FIELDS;
  const path = unit.paths[k]!;
  const target = unit.targets[k]!;
  return {
    file: n[at]!,
    shard: n[at + 1]!,
    path,
    open: target === '' ? unit.prefix + path : target,
    identity: {
      size: n[at + 5]!,
      dev: n[at + 6]!,
      ino: n[at + 7]!,
      mtimeMs: n[at + 8]!,
      ctimeMs: n[at + 9]!,
    },
    start: n[at + 2]!,
    end: n[at + 3]!,
    shardSize: n[at + 4]!,
  };
}

/** Messages between the pool (main thread) and a hash worker. */
export interface WorkerInit {
  readonly algorithm: HashAlgorithm;
  readonly tuning: HasherTuning;
  /** BigInt64Array of bytes hashed, one slot per worker, read by the progress timer. */
  readonly progress: SharedArrayBuffer;
  readonly slot: number;
  /** Test seam: an Int32Array(1) the worker waits on after posting `paused`. */
  readonly pause: SharedArrayBuffer | undefined;
}

export interface UnitMessage {
  readonly type: 'unit';
  readonly id: number;
  readonly unit: Unit;
}

export type WorkerReply =
  | {
      readonly type: 'done';
      readonly id: number;
      /** Every job's digests, concatenated in job order. */
      readonly digests: Uint8Array;
      /** Bytes hashed per job (the file size for whole-file jobs). */
      readonly sizes: Float64Array;
    }
  | { readonly type: 'error'; readonly id: number; readonly error: WireError }
  | { readonly type: 'paused'; readonly path: string };

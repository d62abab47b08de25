import { availableParallelism } from 'node:os';
import { digestLength, isHashAlgorithm, type HashAlgorithm } from '../digest/index.js';
import { UsageError } from '../errors/index.js';
import {
  DEFAULT_TUNING,
  FileHasher,
  digestCount,
  type HashJob,
  type HasherTuning,
} from './file-hasher.js';
import { roleForPath } from './names.js';
import { HashPool, abortReason } from './pool.js';
import type {
  HashModelOptions,
  HashProgress,
  Manifest,
  Resource,
  Serialization,
  SerializationMethod,
} from './types.js';
import { effectiveIgnorePaths, walkModel, type ModelFile } from './walk.js';

/** The reference default shard size (`hashing.py`). */
export const DEFAULT_SHARD_SIZE = 1_000_000_000;

/** Below both limits the work is done on the calling thread: a pool start costs more. */
const INLINE_MAX_BYTES = 32 * 1024 * 1024;
const INLINE_MAX_JOBS = 256;
/** Small jobs are posted to workers in batches of up to this many jobs or bytes. */
const BATCH_MAX_JOBS = 256;
const BATCH_MAX_BYTES = 8 * 1024 * 1024;
/** Shard jobs group consecutive shards up to about this many bytes. */
const SHARD_JOB_MAX_BYTES = 256 * 1024 * 1024;
const SHARD_JOB_MIN_BYTES = 16 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 100;

/** Internal knobs for tests and the benchmark; not part of the public API. */
export interface HashInternals {
  readonly tuning?: Partial<HasherTuning>;
  /** Run on a worker pool even when the job is small enough to run inline. */
  readonly forcePool?: boolean;
  /**
   * Test seam: called after the first chunk of every multi-chunk read has been hashed, with the
   * file's relative name, while that read is paused (on a worker, the worker blocks until the
   * returned promise settles). Lets a test change a file mid-hash deterministically.
   */
  readonly afterFirstChunk?: (path: string) => void | Promise<void>;
}

/**
 * Walks and hashes a model directory or a single file into a manifest in reference order.
 * Files are hashed on a pool of worker threads (inline when the model is tiny); memory stays
 * bounded by a few read buffers per thread whatever the model size.
 */
export function hashModel(modelPath: string, options: HashModelOptions = {}): Promise<Manifest> {
  return hashModelWith(modelPath, options, {});
}

export async function hashModelWith(
  modelPath: string,
  options: HashModelOptions,
  internals: HashInternals,
): Promise<Manifest> {
  const hashType = options.hashType ?? 'sha256';
  if (!isHashAlgorithm(hashType)) {
    throw new UsageError('USAGE', `Unknown hash algorithm: ${String(hashType)}`, {
      hint: 'Use sha256, blake2b or blake3.',
    });
  }
  const method: SerializationMethod = options.method ?? 'files';
  const shardSize = options.shardSize ?? DEFAULT_SHARD_SIZE;
  if (method === 'shards' && (!Number.isSafeInteger(shardSize) || shardSize <= 0)) {
    throw new UsageError('USAGE', `Shard size must be a positive integer, got ${shardSize}`);
  }
  const workers = options.workers ?? availableParallelism();
  if (!Number.isSafeInteger(workers) || workers < 0) {
    throw new UsageError('USAGE', `Worker count must be a non-negative integer, got ${workers}`);
  }
  const allowSymlinks = options.allowSymlinks ?? false;
  const ignorePaths = effectiveIgnorePaths(
    options.ignorePaths ?? [],
    options.ignoreGitPaths ?? true,
  );
  const signal = options.signal;
  signal?.throwIfAborted();

  const walk = await walkModel(modelPath, {
    allowSymlinks,
    ignorePaths,
    onlyPaths: options.onlyPaths,
    signal,
  });
  if (walk.files.length === 0 && options.onlyPaths === undefined) {
    throw new UsageError('MODEL_EMPTY', `The model has no files to hash: ${modelPath}`, {
      details: { path: modelPath, ignorePaths },
    });
  }

  const serialization: Serialization =
    method === 'shards'
      ? { method, hashType, shardSize, allowSymlinks, ignorePaths }
      : { method, hashType, allowSymlinks, ignorePaths };
  const plan = planJobs(walk.files, method, shardSize);
  const digests = await runJobs(plan, hashType, workers, options, internals);

  const algorithm = method === 'shards' ? `${hashType}-sharded-${shardSize}` : hashType;
  const resources: Resource[] = [];
  for (const [i, slot] of plan.slots.entries()) {
    const role = roleForPath(slot.file.path === '.' ? walk.modelName : slot.file.path);
    const digest = digests[i]!;
    if (slot.shard === undefined) {
      resources.push({
        name: slot.file.path,
        path: slot.file.path,
        algorithm,
        digest,
        size: slot.file.identity.size,
        role,
      });
    } else {
      const { start, end } = slot.shard;
      resources.push({
        name: `${slot.file.path}:${start}:${end}`,
        path: slot.file.path,
        shard: { start, end },
        algorithm,
        digest,
        size: end - start,
        role,
      });
    }
  }
  return { modelName: walk.modelName, serialization, resources };
}

interface DigestSlot {
  readonly file: ModelFile;
  readonly shard?: { readonly start: number; readonly end: number };
}

interface Plan {
  /** One per resource, in manifest order (files are already sorted). */
  readonly slots: readonly DigestSlot[];
  readonly jobs: readonly HashJob[];
  readonly totalBytes: number;
  /** Index in `jobs` of the last job of each file, to count finished files for progress. */
  readonly lastJobOfFile: ReadonlySet<number>;
}

function planJobs(
  files: readonly ModelFile[],
  method: SerializationMethod,
  shardSize: number,
): Plan {
  const slots: DigestSlot[] = [];
  const jobs: HashJob[] = [];
  const lastJobOfFile = new Set<number>();
  let totalBytes = 0;
  for (const file of files) totalBytes += file.identity.size;
  // Group small shards so a job is big enough to amortise its message, small enough to spread.
  const perJob = Math.max(
    1,
    Math.floor(
      Math.min(SHARD_JOB_MAX_BYTES, Math.max(SHARD_JOB_MIN_BYTES, totalBytes / 16)) / shardSize,
    ),
  );
  for (const file of files) {
    const size = file.identity.size;
    const base = { path: file.path, open: file.open, identity: file.identity };
    switch (method) {
      case 'files':
        jobs.push({ ...base, slot: slots.length, start: 0, end: size, shardSize: 0 });
        slots.push({ file });
        lastJobOfFile.add(jobs.length - 1);
        break;
      case 'shards': {
        // Zero-length files produce no resource at all (reference `_get_shards`).
        if (size === 0) break;
        const step = perJob * shardSize;
        for (let start = 0; start < size; start += step) {
          const end = Math.min(start + step, size);
          jobs.push({ ...base, slot: slots.length, start, end, shardSize });
          for (let s = start; s < end; s += shardSize) {
            slots.push({ file, shard: { start: s, end: Math.min(s + shardSize, size) } });
          }
        }
        lastJobOfFile.add(jobs.length - 1);
        break;
      }
    }
  }
  return { slots, jobs, totalBytes, lastJobOfFile };
}

/**
 * Orders jobs into units for the pool: big jobs alone and largest first (so the last one to
 * finish is short), then small ones batched in walk order (directory locality helps the disk).
 */
function makeUnits(jobs: readonly HashJob[]): HashJob[][] {
  const big: HashJob[] = [];
  const small: HashJob[][] = [];
  let batch: HashJob[] = [];
  let batchBytes = 0;
  for (const job of jobs) {
    const n = job.end - job.start;
    if (n >= BATCH_MAX_BYTES) {
      big.push(job);
      continue;
    }
    if (batch.length >= BATCH_MAX_JOBS || batchBytes + n > BATCH_MAX_BYTES) {
      small.push(batch);
      batch = [];
      batchBytes = 0;
    }
    batch.push(job);
    batchBytes += n;
  }
  if (batch.length > 0) small.push(batch);
  big.sort((a, b) => b.end - b.start - (a.end - a.start));
  return [...big.map((j) => [j]), ...small];
}

async function runJobs(
  plan: Plan,
  algorithm: HashAlgorithm,
  workers: number,
  options: HashModelOptions,
  internals: HashInternals,
): Promise<Buffer[]> {
  const tuning: HasherTuning = { ...DEFAULT_TUNING, ...internals.tuning };
  const signal = options.signal;
  const digests: Buffer[] = new Array<Buffer>(plan.slots.length);
  const units = makeUnits(plan.jobs);
  const inline =
    workers === 0 ||
    (internals.forcePool !== true &&
      plan.totalBytes <= INLINE_MAX_BYTES &&
      plan.jobs.length <= INLINE_MAX_JOBS);
  const poolSize = inline ? 0 : Math.max(1, Math.min(workers, units.length));
  // Slot 0 counts bytes hashed on this thread, slot i+1 those of worker i.
  const progressBuffer = new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT * (poolSize + 1));
  const progress = new BigInt64Array(progressBuffer);
  const filesTotal = plan.lastJobOfFile.size;
  let filesDone = 0;
  const report = progressReporter(options.onProgress, plan.totalBytes, filesTotal, () => {
    let bytes = 0n;
    for (let i = 0; i < progress.length; i++) bytes += Atomics.load(progress, i);
    return { bytesDone: Number(bytes), filesDone };
  });

  const store = (job: HashJob, jobIndex: number, out: Uint8Array, offset: number): number => {
    const count = digestCount(job);
    const len = digestLength(algorithm);
    for (let k = 0; k < count; k++) {
      const at = offset + k * len;
      digests[job.slot + k] = Buffer.from(out.subarray(at, at + len));
    }
    if (plan.lastJobOfFile.has(jobIndex)) filesDone++;
    return offset + count * len;
  };
  const jobIndex = new Map<HashJob, number>(plan.jobs.map((j, i) => [j, i]));

  try {
    if (inline) {
      const hasher = new FileHasher(
        algorithm,
        tuning,
        (n) => void Atomics.add(progress, 0, BigInt(n)),
        internals.afterFirstChunk === undefined
          ? {}
          : { afterFirstChunk: internals.afterFirstChunk },
      );
      for (const unit of units) {
        for (const job of unit) {
          if (signal?.aborted === true) throw abortReason(signal);
          const parts = await hasher.hash(job);
          store(job, jobIndex.get(job)!, Buffer.concat(parts), 0);
        }
      }
    } else {
      const pool = new HashPool(poolSize, {
        algorithm,
        tuning,
        progress: progressBuffer,
        firstSlot: 1,
        onPaused: internals.afterFirstChunk,
      });
      try {
        await pool.run(
          units,
          (u, out) => {
            let offset = 0;
            for (const job of units[u]!) offset = store(job, jobIndex.get(job)!, out, offset);
          },
          signal,
        );
      } finally {
        await pool.close();
      }
    }
  } finally {
    report.stop();
  }
  report.final();
  return digests;
}

/** Calls `onProgress` at most every 100 ms while work runs, and once more at the end. */
function progressReporter(
  onProgress: ((p: HashProgress) => void) | undefined,
  bytesTotal: number,
  filesTotal: number,
  sample: () => { bytesDone: number; filesDone: number },
): { stop(): void; final(): void } {
  if (onProgress === undefined) return { stop: () => undefined, final: () => undefined };
  let last = -1;
  const timer = setInterval(() => {
    const { bytesDone, filesDone } = sample();
    if (bytesDone + filesDone === last) return;
    last = bytesDone + filesDone;
    onProgress({ bytesDone, bytesTotal, filesDone, filesTotal });
  }, PROGRESS_INTERVAL_MS);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    final: () =>
      onProgress({ bytesDone: bytesTotal, bytesTotal, filesDone: filesTotal, filesTotal }),
  };
}

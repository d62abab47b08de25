import { availableParallelism } from 'node:os';
import { digestLength, isHashAlgorithm, type HashAlgorithm } from '../digest/index.js';
import { UsageError } from '../errors/index.js';
import { DEFAULT_TUNING, FileHasher, changedDuringHash, type HasherTuning } from './file-hasher.js';
import { comparePaths, roleForPath } from './names.js';
import { HashPool, abortReason } from './pool.js';
import { JOB_FIELDS, jobAt, jobCount, type Unit } from './protocol.js';
import type {
  HashModelOptions,
  HashProgress,
  Manifest,
  Resource,
  Serialization,
  SerializationMethod,
} from './types.js';
import { effectiveIgnorePaths, walkModel, type WalkedFiles } from './walk.js';

/** The reference default shard size (`hashing.py`). */
export const DEFAULT_SHARD_SIZE = 1_000_000_000;

/**
 * Below both limits the whole model is hashed on the calling thread: starting a worker costs
 * about 50 ms here, more than hashing 32 MiB or opening a few hundred small files.
 */
const INLINE_MAX_BYTES = 32 * 1024 * 1024;
const INLINE_MAX_FILES = 256;
/** Small jobs are posted to workers in batches of up to this many jobs or bytes. */
const BATCH_MAX_JOBS = 128;
const BATCH_MAX_BYTES = 8 * 1024 * 1024;
/** Shard jobs group consecutive shards up to this many bytes (one message, one open). */
const SHARD_JOB_MAX_BYTES = 64 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 100;

/** Internal knobs for tests and the benchmark; not part of the public API. */
export interface HashInternals {
  readonly tuning?: Partial<HasherTuning>;
  /** Use worker threads even when the model is small enough to hash inline. */
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
 * Hashing starts while the walk goes on, on worker threads (inline when the model is tiny);
 * memory stays bounded by two read buffers per thread whatever the model size.
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

  const engine = new HashEngine(hashType, method, shardSize, workers, options, internals);
  let walk;
  try {
    walk = await walkModel(modelPath, {
      allowSymlinks,
      ignorePaths,
      onlyPaths: options.onlyPaths,
      signal,
      onFile: (files, index) => engine.add(files, index),
    });
    if (walk.files.length === 0 && options.onlyPaths === undefined) {
      throw new UsageError('MODEL_EMPTY', `The model has no files to hash: ${modelPath}`, {
        details: { path: modelPath, ignorePaths },
      });
    }
    await engine.finish();
  } finally {
    await engine.close();
  }

  const serialization: Serialization =
    method === 'shards'
      ? { method, hashType, shardSize, allowSymlinks, ignorePaths }
      : { method, hashType, allowSymlinks, ignorePaths };
  const algorithm = method === 'shards' ? `${hashType}-sharded-${shardSize}` : hashType;
  const files = walk.files;
  const paths = files.paths;
  const order = paths.map((_, i) => i);
  order.sort((a, b) => comparePaths(paths[a]!, paths[b]!));
  const resources: Resource[] = [];
  for (const i of order) {
    const path = paths[i]!;
    const role = roleForPath(path === '.' ? walk.modelName : path);
    const size = files.size(i);
    switch (method) {
      case 'files':
        resources.push({ name: path, path, algorithm, digest: engine.digest(i, 0), size, role });
        break;
      case 'shards':
        // Zero-length files produce no resource at all (reference `_get_shards`).
        for (let k = 0, start = 0; start < size; k++, start += shardSize) {
          const end = Math.min(start + shardSize, size);
          resources.push({
            name: `${path}:${start}:${end}`,
            path,
            shard: { start, end },
            algorithm,
            digest: engine.digest(i, k),
            size: end - start,
            role,
          });
        }
        break;
    }
  }
  return { modelName: walk.modelName, serialization, resources };
}

/**
 * Turns files into jobs as the walk finds them and hashes them: inline until the model proves
 * big enough to pay for worker threads, then on the pool, while the walk continues.
 */
class HashEngine {
  private readonly tuning: HasherTuning;
  private readonly progress: BigInt64Array;
  private readonly progressBuffer: SharedArrayBuffer;
  private readonly digestLength: number;
  private pool: HashPool | undefined;
  /** This thread's hasher: the whole model when it is tiny, small batches after the walk. */
  private hasher: FileHasher | undefined;
  /** Units found before the pool started (or all of them, when it never does). */
  private held: Unit[] = [];
  private batch: UnitBuilder | undefined;
  private prefix = '';
  private bytesTotal = 0;
  private filesTotal = 0;
  private filesDone = 0;
  /** All digests, flat: file i's shard k is slot `firstSlot[i] + k`. */
  private digests = Buffer.alloc(0);
  private readonly firstSlot: number[] = [];
  private slots = 0;
  /** Jobs still to finish per file, to count finished files for progress. */
  private readonly jobsLeft: number[] = [];
  private readonly reporter: ProgressReporter;
  private readonly onAbort: () => void;

  constructor(
    private readonly algorithm: HashAlgorithm,
    private readonly method: SerializationMethod,
    private readonly shardSize: number,
    private readonly workers: number,
    private readonly options: HashModelOptions,
    private readonly internals: HashInternals,
  ) {
    this.tuning = { ...DEFAULT_TUNING, ...internals.tuning };
    this.digestLength = digestLength(algorithm);
    // Slot 0 counts bytes hashed on this thread, slot i+1 those of worker i.
    this.progressBuffer = new SharedArrayBuffer(
      BigInt64Array.BYTES_PER_ELEMENT * (Math.max(workers, 1) + 1),
    );
    this.progress = new BigInt64Array(this.progressBuffer);
    this.reporter = new ProgressReporter(options.onProgress, () => {
      let bytes = 0n;
      for (let i = 0; i < this.progress.length; i++) bytes += Atomics.load(this.progress, i);
      return {
        bytesDone: Number(bytes),
        bytesTotal: this.bytesTotal,
        filesDone: this.filesDone,
        filesTotal: this.filesTotal,
      };
    });
    this.onAbort = () => this.pool?.fail(abortReason(options.signal));
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  add(files: WalkedFiles, index: number): void {
    const failed = this.pool?.failed;
    if (failed !== undefined) throw failed; // stop the walk at the first hashing error
    this.prefix = files.prefix;
    // Sizes from the walk's lstat: they place big files in units of their own (a model's
    // shards must not queue behind each other on one thread) and give the progress total.
    const size = files.size(index);
    this.filesTotal++;
    this.bytesTotal += size;
    this.firstSlot.push(this.slots);
    let jobs = 0;
    switch (this.method) {
      case 'files':
        this.addJob(files, index, 0, 0, size, 0);
        this.slots++;
        jobs = 1;
        break;
      case 'shards': {
        const shardSize = this.shardSize;
        const step = Math.max(1, Math.floor(SHARD_JOB_MAX_BYTES / shardSize)) * shardSize;
        for (let start = 0; start < size; start += step) {
          this.addJob(
            files,
            index,
            start / shardSize,
            start,
            Math.min(start + step, size),
            shardSize,
          );
          jobs++;
        }
        this.slots += Math.ceil(size / shardSize);
        break;
      }
    }
    this.jobsLeft.push(jobs);
    if (jobs === 0) this.filesDone++;
    if (
      this.pool === undefined &&
      this.workers > 0 &&
      (this.bytesTotal > INLINE_MAX_BYTES || this.filesTotal > INLINE_MAX_FILES)
    ) {
      this.startPool();
    }
  }

  private addJob(
    files: WalkedFiles,
    index: number,
    shard: number,
    start: number,
    end: number,
    shardSize: number,
  ): void {
    const n = end - start;
    if (n >= BATCH_MAX_BYTES) {
      const unit = new UnitBuilder(1);
      unit.push(files, index, shard, start, end, shardSize);
      this.emit(unit.build(this.prefix));
      return;
    }
    if (this.batch !== undefined && (this.batch.full || this.batch.bytes + n > BATCH_MAX_BYTES)) {
      this.flushBatch();
    }
    this.batch ??= new UnitBuilder(BATCH_MAX_JOBS);
    this.batch.push(files, index, shard, start, end, shardSize);
  }

  private flushBatch(): void {
    if (this.batch === undefined) return;
    this.emit(this.batch.build(this.prefix));
    this.batch = undefined;
  }

  private emit(unit: Unit): void {
    if (this.pool === undefined) this.held.push(unit);
    else this.pool.push(unit);
  }

  private startPool(): void {
    this.pool = new HashPool(
      Math.max(1, this.workers),
      {
        algorithm: this.algorithm,
        tuning: this.tuning,
        progress: this.progressBuffer,
        firstSlot: 1,
        onPaused: this.internals.afterFirstChunk,
      },
      (unit, out, sizes) => {
        let offset = 0;
        for (let k = 0; k < sizes.length; k++) offset = this.store(unit, k, out, offset, sizes[k]!);
      },
      // Small batches go to one thread fewer: once the walk is over, this thread hashes them too.
      Math.max(1, this.workers - 1),
      BATCH_MAX_BYTES,
    );
    for (const unit of this.held) this.pool.push(unit);
    this.held = [];
  }

  /** Files out of `out` the digests of job `k` of `unit`, from `offset`; returns the next offset. */
  private store(unit: Unit, k: number, out: Uint8Array, offset: number, bytes: number): number {
    const n = unit.jobs;
    const at = k * JOB_FIELDS;
    const file = n[at]!;
    const start = n[at + 2]!;
    const end = n[at + 3]!;
    const shardSize = n[at + 4]!;
    const count = shardSize === 0 ? 1 : Math.ceil((end - start) / shardSize);
    const length = count * this.digestLength;
    const slot = this.firstSlot[file]! + n[at + 1]!;
    if (this.digests.length < this.slots * this.digestLength) {
      // Grown to the slots known so far (the walk may still be adding files).
      const grown = Buffer.alloc(
        Math.max(this.slots, (2 * this.digests.length) / this.digestLength) * this.digestLength,
      );
      this.digests.copy(grown);
      this.digests = grown;
    }
    this.digests.set(out.subarray(offset, offset + length), slot * this.digestLength);
    if (bytes !== end - start) {
      throw changedDuringHash(unit.paths[k]!, `hashed ${bytes} bytes, expected ${end - start}`);
    }
    if (--this.jobsLeft[file]! === 0) this.filesDone++;
    return offset + length;
  }

  /** Digest `k` of file `index` (walk order), once `finish` has resolved: a view, not a copy. */
  digest(index: number, k: number): Buffer {
    const at = (this.firstSlot[index]! + k) * this.digestLength;
    return this.digests.subarray(at, at + this.digestLength);
  }

  /** Hashes whatever is left and waits for every digest. */
  async finish(): Promise<void> {
    this.flushBatch();
    if (this.pool === undefined && this.held.length > 0 && this.internals.forcePool === true) {
      this.startPool();
    }
    const pool = this.pool;
    if (pool !== undefined) {
      pool.end();
      // The walk is over: this thread takes queued small batches while the workers hash.
      for (let unit = pool.take(); unit !== undefined; unit = pool.take()) {
        await this.hashHere(unit);
        // Let the workers' replies in (and keep them fed) between two batches.
        await new Promise<void>((r) => setImmediate(r));
      }
      await pool.done;
    } else {
      for (const unit of this.held) await this.hashHere(unit);
    }
    this.reporter.final();
  }

  /** Hashes a unit on this thread. */
  private async hashHere(unit: Unit): Promise<void> {
    const signal = this.options.signal;
    this.hasher ??= new FileHasher(
      this.algorithm,
      this.tuning,
      (n) => void Atomics.add(this.progress, 0, BigInt(n)),
      this.internals.afterFirstChunk === undefined
        ? {}
        : { afterFirstChunk: this.internals.afterFirstChunk },
    );
    for (let k = 0; k < jobCount(unit); k++) {
      if (signal?.aborted === true) throw abortReason(signal);
      const done = await this.hasher.hash(jobAt(unit, k));
      this.store(unit, k, Buffer.concat(done.digests), 0, done.bytes);
    }
  }

  async close(): Promise<void> {
    this.reporter.stop();
    this.options.signal?.removeEventListener('abort', this.onAbort);
    await this.pool?.close();
  }
}

/** Packs jobs into a `Unit` (see protocol.ts). */
class UnitBuilder {
  readonly paths: string[] = [];
  readonly targets: string[] = [];
  private readonly jobs: Float64Array;
  bytes = 0;

  constructor(private readonly capacity: number) {
    this.jobs = new Float64Array(capacity * JOB_FIELDS);
  }

  get full(): boolean {
    return this.paths.length >= this.capacity;
  }

  push(
    files: WalkedFiles,
    index: number,
    shard: number,
    start: number,
    end: number,
    shardSize: number,
  ): void {
    const at = this.paths.length * JOB_FIELDS;
    this.paths.push(files.paths[index]!);
    this.targets.push(files.target(index));
    const n = this.jobs;
    n[at] = index;
    n[at + 1] = shard;
    n[at + 2] = start;
    n[at + 3] = end;
    n[at + 4] = shardSize;
    files.copyIdentity(index, n, at + 5);
    this.bytes += end - start;
  }

  build(prefix: string): Unit {
    const jobs =
      this.paths.length === this.capacity
        ? this.jobs
        : this.jobs.slice(0, this.paths.length * JOB_FIELDS);
    return { prefix, paths: this.paths, targets: this.targets, jobs, bytes: this.bytes };
  }
}

/** Calls `onProgress` at most every 100 ms while work runs, and once more at the end. */
class ProgressReporter {
  private readonly timer: NodeJS.Timeout | undefined;
  private last = -1;

  constructor(
    private readonly onProgress: ((p: HashProgress) => void) | undefined,
    private readonly sample: () => HashProgress,
  ) {
    if (onProgress === undefined) return;
    this.timer = setInterval(() => this.tick(), PROGRESS_INTERVAL_MS);
    this.timer.unref();
  }

  private tick(): void {
    const p = this.sample();
    const key = p.bytesDone + p.filesDone + p.bytesTotal;
    if (key === this.last) return;
    this.last = key;
    this.onProgress?.(p);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  /** The last call: everything done (the sampled byte count could lag the final digests). */
  final(): void {
    this.stop();
    const p = this.sample();
    this.onProgress?.({ ...p, bytesDone: p.bytesTotal, filesDone: p.filesTotal });
  }
}

import { closeSync, constants, fstatSync, openSync, read, readSync, type Stats } from 'node:fs';
import {
  createHasher,
  hashBytes,
  type HashAlgorithm,
  type StreamingHasher,
} from '../digest/index.js';
import { UsageError, fromFsError } from '../errors/index.js';
import type { FileIdentity } from './walk.js';

/**
 * One piece of hashing work: the bytes `[start, end)` of one file, giving one digest (`shardSize`
 * 0, files mode) or one digest per `shardSize` bytes from `start` (shards mode; `start` is a
 * shard boundary). Plain data so it can be posted to a worker.
 */
export interface HashJob {
  /** Index of the file in walk order. */
  readonly file: number;
  /** Index, within the file, of the job's first shard (0 in files mode). */
  readonly shard: number;
  /** Relative name, for error messages. */
  readonly path: string;
  /** Absolute path to open. */
  readonly open: string;
  /** What the walk saw. */
  readonly identity: FileIdentity;
  readonly start: number;
  readonly end: number;
  readonly shardSize: number;
}

export interface HashedJob {
  readonly digests: Buffer[];
  /** Bytes hashed (`end - start`), reported back so the pool can cross-check them. */
  readonly bytes: number;
}

/** Number of digests a job yields. */
export function digestCount(job: HashJob): number {
  if (job.shardSize === 0) return 1;
  return Math.ceil((job.end - job.start) / job.shardSize);
}

export type DirectIoMode = 'auto' | 'never' | 'always';

/** Knobs measured in bench/ (docs/performance.md says which values won and why). */
export interface HasherTuning {
  /** Bytes per read from the disk, and the largest file read in one go. Multiple of 64 KiB. */
  readonly chunkBytes: number;
  /** Read buffers per hasher (≥ 2): up to this many minus one disk reads in flight. */
  readonly readBuffers: number;
  /**
   * `auto`: probe the first read of each large job and switch to O_DIRECT when the data is not
   * in the page cache; `never`: buffered reads only; `always`: O_DIRECT whenever the file system
   * accepts it.
   */
  readonly directIo: DirectIoMode;
  /** A first read slower than this (bytes/s) means the file is coming from the disk. */
  readonly cachedReadRate: number;
  /** Bytes per synchronous read when the data is cached: small enough to stay in L2. */
  readonly cachedChunkBytes: number;
}

export const DEFAULT_TUNING: HasherTuning = {
  chunkBytes: 8 * 1024 * 1024,
  readBuffers: 2,
  directIo: 'auto',
  cachedReadRate: 1.5e9,
  cachedChunkBytes: 256 * 1024,
};

// The project's `lib` has no DOM/WebAssembly typings; this is the one constructor used here.
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer };
};

/** O_DIRECT needs buffer address, file offset and length aligned to the logical block size. */
const ALIGN = 4096;
const WASM_PAGE = 65536;
const PROBE_BYTES = 1024 * 1024;
/** Window over which the cached path measures its read rate (two slow ones: go direct). */
const SLOW_WINDOW_BYTES = 64 * 1024 * 1024;

export interface FileHasherHooks {
  /** Test seam: called after the first chunk of a multi-chunk job has been hashed. */
  readonly afterFirstChunk?: (path: string) => void | Promise<void>;
}

export function changedDuringHash(path: string, why: string): UsageError {
  return new UsageError(
    'MODEL_CHANGED_DURING_HASH',
    `${path} changed while being hashed (${why})`,
    {
      details: { path, change: why },
    },
  );
}

/**
 * Differences between the walk's view of a file and an `fstat` of the open descriptor. Taken
 * after the read, equal size, times, inode and device mean the bytes read are the walked file's,
 * unchanged since the walk: any write or truncation moves mtime/ctime, a swap changes the inode.
 * The stats are plain numbers on both sides (same conversion), so equal values compare equal.
 */
function walkChange(expected: FileIdentity, st: Stats): string | undefined {
  if (!st.isFile()) return 'no longer a regular file';
  if (st.dev !== expected.dev || st.ino !== expected.ino) return 'replaced by another file';
  if (st.size !== expected.size) return `size changed from ${expected.size} to ${st.size} bytes`;
  if (st.mtimeMs !== expected.mtimeMs) return 'modification time changed';
  if (st.ctimeMs !== expected.ctimeMs) return 'status change time changed';
  return undefined;
}

interface Chunk {
  readonly data: Buffer;
}

/**
 * Hashes jobs with two reusable read buffers. Jobs that fit in one chunk are read synchronously
 * (cheapest for many small files); larger ones overlap the next read with hashing the current
 * chunk, using O_DIRECT into page-aligned memory when the data is not cached, which avoids the
 * kernel's page-cache insertion cost and keeps the cache for the model's users.
 */
export class FileHasher {
  private readonly buffers: Buffer[];
  /** buffers[0]: small files and the cached path read here. */
  private readonly first: Buffer;
  private probeAreaFaulted = false;

  constructor(
    private readonly algorithm: HashAlgorithm,
    private readonly tuning: HasherTuning,
    private readonly onBytes: (n: number) => void,
    private readonly hooks: FileHasherHooks = {},
  ) {
    // WebAssembly memory is page-aligned, which O_DIRECT needs and Buffer.alloc cannot promise.
    const size = tuning.chunkBytes + 2 * ALIGN;
    const stride = Math.ceil(size / WASM_PAGE) * WASM_PAGE;
    const count = Math.max(2, tuning.readBuffers);
    const memory = new WebAssembly.Memory({ initial: (count * stride) / WASM_PAGE });
    this.buffers = Array.from({ length: count }, (_, i) =>
      Buffer.from(memory.buffer, i * stride, size),
    );
    this.first = this.buffers[0]!;
  }

  /** Hashes one job; returns its digests and the bytes covered. */
  async hash(job: HashJob): Promise<HashedJob> {
    const fd = this.open(job);
    try {
      let digests: Buffer[];
      if (job.end - job.start <= this.tuning.chunkBytes) {
        digests = this.hashSmall(job, fd);
      } else {
        // A long read must not start on something else (a FIFO or device swapped in): check first.
        this.checkWalked(job, fd);
        digests = await this.hashLarge(job, fd);
      }
      return { digests, bytes: job.end - job.start };
    } finally {
      closeSync(fd);
    }
  }

  /** Opens the file, never blocking (a FIFO swapped in after the walk) and never through a link. */
  private open(job: HashJob): number {
    try {
      return openSync(job.open, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw changedDuringHash(job.path, 'it disappeared');
      if (code === 'ELOOP') throw changedDuringHash(job.path, 'it became a symbolic link');
      throw fromFsError(err, job.path);
    }
  }

  /** Fails unless the descriptor is still the file the walk saw, unchanged. */
  private checkWalked(job: HashJob, fd: number): void {
    const why = walkChange(job.identity, fstatSync(fd));
    if (why !== undefined) throw changedDuringHash(job.path, why);
  }

  /**
   * The whole range in one synchronous buffered read, then one `fstat` compared with the walk:
   * four system calls per small file (no `fstat` before the read; a change at any time since the
   * walk shows in the one after it).
   */
  private hashSmall(job: HashJob, fd: number): Buffer[] {
    const want = job.end - job.start;
    const buf = this.first;
    let got = 0;
    try {
      while (got < want) {
        const n = readSync(fd, buf, got, want - got, job.start + got);
        if (n === 0) break;
        got += n;
      }
    } catch (err) {
      // Reading a directory or device swapped in fails; say it changed rather than unreadable.
      this.checkWalked(job, fd);
      throw wrapRead(err, job.path);
    }
    this.checkWalked(job, fd);
    if (got !== want) throw changedDuringHash(job.path, `read ${got} of ${want} bytes`);
    this.onBytes(want);
    // The whole range is in memory: one-shot digests, no hasher objects per file.
    const data = buf.subarray(0, want);
    if (job.shardSize === 0) return [hashBytes(this.algorithm, data)];
    const digests: Buffer[] = [];
    for (let off = 0; off < want; off += job.shardSize) {
      digests.push(hashBytes(this.algorithm, data.subarray(off, off + job.shardSize)));
    }
    return digests;
  }

  /**
   * Cached data is read synchronously in small chunks that stay in the CPU cache between the
   * copy and the hash (measured faster than big chunks and than `openssl dgst`). Data coming
   * from the disk is read with O_DIRECT in big chunks, the next read in flight while the current
   * chunk is hashed. A probe at the start, and slow reads later, choose between the two.
   */
  private async hashLarge(job: HashJob, fd: number): Promise<Buffer[]> {
    const feed = new ShardFeed(this.algorithm, job);
    const { directIo, cachedReadRate, cachedChunkBytes } = this.tuning;
    const buf = this.first;
    if (!this.probeAreaFaulted) {
      // Fault the probe area in first, so the probe times the read and not page faults.
      buf.fill(0, 0, Math.min(2 * PROBE_BYTES, buf.length));
      this.probeAreaFaulted = true;
    }
    let direct: number | undefined;
    try {
      let pos = job.start;
      // Probe: small synchronous buffered reads show whether the data is in the page cache
      // (about 150 us per MiB here when cached, 1 ms and more from the disk). One slow read
      // can be noise (a busy CPU), so a second one must agree before going to the disk.
      const probeMax = Math.min(PROBE_BYTES, this.tuning.chunkBytes / 2);
      let got = 0;
      let rate = 0;
      for (let i = 0; i < 2 && rate < cachedReadRate && job.end > pos + got; i++) {
        const want = Math.min(probeMax, job.end - pos - got);
        const t0 = process.hrtime.bigint();
        readFully(job.path, fd, buf.subarray(got), pos + got, want);
        rate = Math.max(rate, (want * 1e9) / Math.max(Number(process.hrtime.bigint() - t0), 1));
        got += want;
      }
      this.consume(feed, buf.subarray(0, got));
      pos += got;
      if (this.hooks.afterFirstChunk !== undefined) await this.hooks.afterFirstChunk(job.path);
      if (directIo === 'always' || (directIo === 'auto' && rate < cachedReadRate)) {
        direct = this.openDirect(job, fd);
      }
      // Partly cached files: judge the read rate over whole windows, not single reads, which a
      // busy CPU can stall; two slow windows in a row mean the rest comes from the disk.
      let windowBytes = 0;
      let windowNs = 0;
      let slowWindows = 0;
      while (direct === undefined && pos < job.end) {
        const want = Math.min(cachedChunkBytes, this.tuning.chunkBytes, job.end - pos);
        const t0 = process.hrtime.bigint();
        const data = readFully(job.path, fd, buf, pos, want);
        windowNs += Number(process.hrtime.bigint() - t0);
        windowBytes += want;
        this.consume(feed, data);
        pos += want;
        if (windowBytes >= SLOW_WINDOW_BYTES) {
          const slow = (windowBytes * 1e9) / Math.max(windowNs, 1) < cachedReadRate;
          slowWindows = slow ? slowWindows + 1 : 0;
          windowBytes = 0;
          windowNs = 0;
          if (directIo === 'auto' && slowWindows >= 2) {
            direct = this.openDirect(job, fd);
            if (direct === undefined) slowWindows = Number.NEGATIVE_INFINITY; // unsupported
          }
        }
      }
      if (pos < job.end) await this.pipelined(job, fd, direct, pos, feed);
      this.checkWalked(job, fd);
      return feed.finish(job.path);
    } finally {
      if (direct !== undefined) closeSync(direct);
    }
  }

  private consume(feed: ShardFeed, data: Buffer): void {
    feed.update(data);
    this.onBytes(data.length);
  }

  /**
   * Big reads through a ring of `readBuffers` buffers: while chunk k is hashed, the next
   * `readBuffers - 1` chunks are being read (by libuv's threads), so the disk always has work.
   */
  private async pipelined(
    job: HashJob,
    fd: number,
    direct: number | undefined,
    start: number,
    feed: ShardFeed,
  ): Promise<void> {
    const chunk = this.tuning.chunkBytes;
    const ring = this.buffers.length;
    const inFlight: Promise<Chunk>[] = [];
    let next = start;
    let issued = 0;
    const issue = (): void => {
      const want = Math.min(chunk, job.end - next);
      // Chunk i always lands in buffer i mod ring: the one whose chunk was consumed last.
      inFlight.push(this.readChunk(job, fd, direct, this.buffers[issued % ring]!, next, want));
      next += want;
      issued++;
    };
    try {
      while (inFlight.length < ring - 1 && next < job.end) issue();
      while (inFlight.length > 0) {
        const current = await inFlight.shift()!;
        if (next < job.end) issue();
        this.consume(feed, current.data);
      }
    } finally {
      // Never close a descriptor (or reuse its buffers) under a read still in flight.
      await Promise.allSettled(inFlight);
    }
  }

  private openDirect(job: HashJob, fd: number): number | undefined {
    const O_DIRECT = constants.O_DIRECT;
    if (O_DIRECT === undefined) return undefined;
    let dfd: number;
    try {
      dfd = openSync(job.open, constants.O_RDONLY | constants.O_NOFOLLOW | O_DIRECT);
    } catch {
      return undefined; // e.g. EINVAL on tmpfs: buffered reads it is
    }
    const a = fstatSync(fd, { bigint: true });
    const b = fstatSync(dfd, { bigint: true });
    if (a.dev !== b.dev || a.ino !== b.ino) {
      closeSync(dfd);
      throw changedDuringHash(job.path, 'replaced by another file');
    }
    return dfd;
  }

  /** Reads exactly `want` bytes at `pos`, or fails as a change (the file got shorter). */
  private async readChunk(
    job: HashJob,
    fd: number,
    direct: number | undefined,
    buf: Buffer,
    pos: number,
    want: number,
  ): Promise<Chunk> {
    if (direct !== undefined) {
      const aligned = pos - (pos % ALIGN);
      const head = pos - aligned;
      const len = Math.ceil((head + want) / ALIGN) * ALIGN;
      try {
        // Reading past the end of the file is fine with O_DIRECT: the count is just shorter,
        // and only there is it not a multiple of the alignment.
        let n = 0;
        while (n < len) {
          const r = await preadAsync(direct, buf, n, len - n, aligned + n);
          n += r;
          if (r === 0 || r % ALIGN !== 0) break;
        }
        const got = Math.max(0, Math.min(n - head, want));
        if (got !== want)
          throw changedDuringHash(job.path, `read ${pos + got} of ${job.end} bytes`);
        return { data: buf.subarray(head, head + want) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw wrapRead(err, job.path);
        // Some file systems accept O_DIRECT at open but not the read; fall through to buffered.
      }
    }
    let got = 0;
    while (got < want) {
      const n = await preadAsync(fd, buf, got, want - got, pos + got).catch((err: unknown) => {
        throw wrapRead(err, job.path);
      });
      if (n === 0) break;
      got += n;
    }
    if (got !== want) throw changedDuringHash(job.path, `read ${pos + got} of ${job.end} bytes`);
    return { data: buf.subarray(0, want) };
  }
}

function readFully(path: string, fd: number, buf: Buffer, pos: number, want: number): Buffer {
  let got = 0;
  while (got < want) {
    const n = readFd(path, () => readSync(fd, buf, got, want - got, pos + got));
    if (n === 0) break;
    got += n;
  }
  if (got !== want) throw changedDuringHash(path, `read ${pos + got} bytes, expected more`);
  return buf.subarray(0, want);
}

function readFd(path: string, op: () => number): number {
  try {
    return op();
  } catch (err) {
    throw wrapRead(err, path);
  }
}

function wrapRead(err: unknown, path: string): Error {
  if (err instanceof UsageError) return err;
  return fromFsError(err, path);
}

function preadAsync(
  fd: number,
  buf: Buffer,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/** Feeds a byte stream to one hasher per shard (or one for the whole job). */
class ShardFeed {
  private readonly digests: Buffer[] = [];
  private hasher: StreamingHasher;
  private left: number;
  private readonly expected: number;

  constructor(
    private readonly algorithm: HashAlgorithm,
    private readonly job: HashJob,
  ) {
    this.hasher = createHasher(algorithm);
    this.expected = digestCount(job);
    this.left = this.shardLength(job.start);
  }

  private shardLength(at: number): number {
    return this.job.shardSize === 0
      ? this.job.end - at
      : Math.min(this.job.shardSize, this.job.end - at);
  }

  update(data: Buffer): void {
    let off = 0;
    while (off < data.length) {
      const take = Math.min(this.left, data.length - off);
      this.hasher.update(off === 0 && take === data.length ? data : data.subarray(off, off + take));
      off += take;
      this.left -= take;
      if (this.left === 0 && this.digests.length + 1 < this.expected) {
        this.digests.push(this.hasher.digest());
        this.hasher = createHasher(this.algorithm);
        const done = this.job.start + this.digests.length * this.job.shardSize;
        this.left = this.shardLength(done);
      }
    }
  }

  finish(path: string): Buffer[] {
    if (this.left !== 0) throw changedDuringHash(path, 'fewer bytes than expected');
    this.digests.push(this.hasher.digest());
    return this.digests;
  }
}

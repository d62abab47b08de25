import { Worker } from 'node:worker_threads';
import { InfraError, errorFromWire } from '../errors/index.js';
import { type Unit, type UnitMessage, type WorkerInit, type WorkerReply } from './protocol.js';

export interface PoolInit {
  readonly algorithm: WorkerInit['algorithm'];
  readonly tuning: WorkerInit['tuning'];
  /** BigInt64Array of bytes hashed; worker i writes slot `firstSlot + i`. */
  readonly progress: SharedArrayBuffer;
  readonly firstSlot: number;
  /** Test seam, see `FileHasherHooks.afterFirstChunk`. */
  readonly onPaused: ((path: string) => void | Promise<void>) | undefined;
}

/**
 * A worker may hold this many bytes of queued work besides the unit it is hashing, so it never
 * waits for a message between two small units, while big units stay with whoever is free.
 */
const PREFETCH_BYTES = 32 * 1024 * 1024;
const MAX_IN_FLIGHT = 3;
/**
 * Workers only hold read buffers and short-lived hashing objects; a small young generation keeps
 * each thread's resident memory a few MiB above its buffers (V8's default grows to 48 MiB).
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 };

interface Slot {
  readonly worker: Worker;
  readonly pause: Int32Array | undefined;
  readonly inFlight: Map<number, number>;
  bytes: number;
}

/**
 * Hash worker threads fed from one queue. Threads are started on demand, up to `maxSize`, only
 * when every running one is busy: a model that is one big file never starts a second thread.
 * Units can be pushed while the model is still being walked.
 */
export class HashPool {
  private readonly slots: Slot[] = [];
  private readonly queue: { id: number; unit: Unit }[] = [];
  private readonly units = new Map<number, Unit>();
  private nextId = 0;
  /** Queued units of at least `bigBytes`: only these start a thread beyond `smallMaxSize`. */
  private bigQueued = 0;
  private ended = false;
  private closing = false;
  private failure: Error | undefined;
  private resolveDone!: () => void;
  private rejectDone!: (err: Error) => void;
  /** Settles when every pushed unit is hashed after `end()`, or at the first failure. */
  readonly done: Promise<void>;

  /**
   * `maxSize` threads at most; only `smallMaxSize` of them for units under `bigBytes`, which the
   * owner thread can also `take` once it is free (it hashes small units itself rather than
   * paying for one more thread: ~50 ms of CPU and ~9 MiB each here).
   */
  constructor(
    private readonly maxSize: number,
    private readonly init: PoolInit,
    private readonly onDone: (unit: Unit, digests: Uint8Array, sizes: Float64Array) => void,
    private readonly smallMaxSize = maxSize,
    private readonly bigBytes = Number.POSITIVE_INFINITY,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // The owner may stop awaiting after another failure; the rejection is still handled.
    this.done.catch(() => undefined);
  }

  get size(): number {
    return this.slots.length;
  }

  /** The first error, if any: the owner stops feeding the pool when it is set. */
  get failed(): Error | undefined {
    return this.failure;
  }

  push(unit: Unit): void {
    if (this.failure !== undefined || unit.paths.length === 0) return;
    const id = this.nextId++;
    this.units.set(id, unit);
    this.queue.push({ id, unit });
    if (unit.bytes >= this.bigBytes) this.bigQueued++;
    this.dispatch();
  }

  /**
   * Hands the last queued unit to the caller, to hash on its own thread, if it is a small one
   * (under `bigBytes`); it is no longer the pool's to hash or to wait for.
   */
  take(): Unit | undefined {
    const last = this.queue[this.queue.length - 1];
    if (this.failure !== undefined || last === undefined || last.unit.bytes >= this.bigBytes) {
      return undefined;
    }
    this.queue.pop();
    this.units.delete(last.id);
    return last.unit;
  }

  /** No more units will be pushed. */
  end(): void {
    this.ended = true;
    this.settleIfDone();
  }

  fail(err: Error): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.queue.length = 0;
    this.bigQueued = 0;
    this.rejectDone(err);
  }

  /** Stops every worker; safe to call more than once. */
  async close(): Promise<void> {
    this.closing = true;
    // A worker parked in the test seam must be released before it can be stopped.
    for (const slot of this.slots) {
      if (slot.pause !== undefined) {
        Atomics.store(slot.pause, 0, 1);
        Atomics.notify(slot.pause, 0);
      }
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private settleIfDone(): void {
    if (this.ended && this.units.size === 0 && this.failure === undefined) this.resolveDone();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.inFlight.size === 0) this.send(slot);
    }
    while (
      this.queue.length > 0 &&
      this.slots.length < (this.bigQueued > 0 ? this.maxSize : this.smallMaxSize)
    ) {
      this.send(this.spawn());
    }
    for (const slot of this.slots) {
      while (
        this.queue.length > 0 &&
        slot.inFlight.size < MAX_IN_FLIGHT &&
        slot.bytes + this.queue[0]!.unit.bytes <= PREFETCH_BYTES
      ) {
        this.send(slot);
      }
    }
  }

  private send(slot: Slot): void {
    const next = this.queue.shift();
    if (next === undefined) return;
    if (next.unit.bytes >= this.bigBytes) this.bigQueued--;
    slot.inFlight.set(next.id, next.unit.bytes);
    slot.bytes += next.unit.bytes;
    const message: UnitMessage = { type: 'unit', id: next.id, unit: next.unit };
    slot.worker.postMessage(message);
  }

  private spawn(): Slot {
    const index = this.slots.length;
    const pauseBuffer =
      this.init.onPaused === undefined
        ? undefined
        : new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
    const workerData: WorkerInit = {
      algorithm: this.init.algorithm,
      tuning: this.init.tuning,
      progress: this.init.progress,
      slot: this.init.firstSlot + index,
      pause: pauseBuffer,
    };
    const worker = new Worker(new URL('./hash-worker.js', import.meta.url), {
      workerData,
      resourceLimits: WORKER_LIMITS,
    });
    const slot: Slot = {
      worker,
      pause: pauseBuffer === undefined ? undefined : new Int32Array(pauseBuffer),
      inFlight: new Map(),
      bytes: 0,
    };
    worker.on('message', (reply: WorkerReply) => this.onReply(slot, reply));
    worker.on('error', (err) => {
      this.fail(
        new InfraError('WORKER_FAILED', `A hash worker crashed: ${err.message}`, { cause: err }),
      );
    });
    worker.on('exit', (code) => {
      if (!this.closing) {
        this.fail(new InfraError('WORKER_FAILED', `A hash worker exited with code ${code}`));
      }
    });
    this.slots.push(slot);
    return slot;
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    if (this.failure !== undefined) return;
    switch (reply.type) {
      case 'done': {
        slot.bytes -= slot.inFlight.get(reply.id) ?? 0;
        slot.inFlight.delete(reply.id);
        const unit = this.units.get(reply.id);
        this.units.delete(reply.id);
        if (unit !== undefined) {
          try {
            this.onDone(unit, reply.digests, reply.sizes);
          } catch (err) {
            this.fail(err instanceof Error ? err : new Error(String(err)));
            return;
          }
        }
        this.dispatch();
        this.settleIfDone();
        return;
      }
      case 'error':
        this.fail(errorFromWire(reply.error));
        return;
      case 'paused': {
        const pause = slot.pause;
        const resume = (): void => {
          if (pause === undefined) return;
          Atomics.store(pause, 0, 1);
          Atomics.notify(pause, 0);
        };
        Promise.resolve(this.init.onPaused?.(reply.path)).then(resume, (err: unknown) => {
          resume();
          this.fail(err instanceof Error ? err : new Error(String(err)));
        });
        return;
      }
    }
  }
}

export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  return new DOMException('The operation was aborted', 'AbortError');
}

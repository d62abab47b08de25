import { Worker } from 'node:worker_threads';
import { InfraError } from '../errors/index.js';
import type { HashJob } from './file-hasher.js';
import { errorFromWire, type UnitMessage, type WorkerInit, type WorkerReply } from './protocol.js';

export interface PoolInit {
  readonly algorithm: WorkerInit['algorithm'];
  readonly tuning: WorkerInit['tuning'];
  readonly progress: SharedArrayBuffer;
  /** First progress slot; worker i writes slot `firstSlot + i`. */
  readonly firstSlot: number;
  /** Test seam, see `FileHasherHooks.afterFirstChunk`. */
  readonly onPaused: ((path: string) => void | Promise<void>) | undefined;
}

/**
 * A worker may hold this many bytes of queued work besides the unit it is hashing, so it never
 * waits for a message between two small units, while large units stay with whoever is free.
 */
const PREFETCH_BYTES = 32 * 1024 * 1024;
const MAX_IN_FLIGHT = 3;

interface Slot {
  readonly worker: Worker;
  readonly pause: Int32Array | undefined;
  readonly inFlight: Map<number, number>;
  bytes: number;
}

export function unitBytes(unit: readonly HashJob[]): number {
  let n = 0;
  for (const job of unit) n += job.end - job.start;
  return n;
}

/** A fixed set of hash worker threads fed from one queue of units. */
export class HashPool {
  private readonly slots: Slot[];
  private closing = false;
  private fail: (err: Error) => void = () => undefined;

  constructor(
    size: number,
    private readonly init: PoolInit,
  ) {
    const url = new URL('./hash-worker.js', import.meta.url);
    this.slots = [];
    for (let i = 0; i < size; i++) {
      const pause =
        init.onPaused === undefined
          ? undefined
          : new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
      const workerData: WorkerInit = {
        algorithm: init.algorithm,
        tuning: init.tuning,
        progress: init.progress,
        slot: init.firstSlot + i,
        pause,
      };
      const worker = new Worker(url, { workerData });
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
      this.slots.push({
        worker,
        pause: pause === undefined ? undefined : new Int32Array(pause),
        inFlight: new Map(),
        bytes: 0,
      });
    }
  }

  get size(): number {
    return this.slots.length;
  }

  /**
   * Hashes every unit; `onDone` gets each unit's digests (concatenated, in job order) as soon as
   * it is ready. Rejects with the first error; the caller then closes the pool.
   */
  run(
    units: readonly (readonly HashJob[])[],
    onDone: (unit: number, digests: Uint8Array) => void,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let next = 0;
      let remaining = units.length;
      let settled = false;
      const sizes = units.map(unitBytes);
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        for (const slot of this.slots) slot.worker.removeAllListeners('message');
        if (err === undefined) resolve();
        else reject(err);
      };
      this.fail = (err) => finish(err);
      const onAbort = (): void => finish(abortReason(signal));
      if (signal?.aborted === true) return finish(abortReason(signal));
      signal?.addEventListener('abort', onAbort, { once: true });

      const feed = (slot: Slot): void => {
        while (
          next < units.length &&
          (slot.inFlight.size === 0 ||
            (slot.inFlight.size < MAX_IN_FLIGHT && slot.bytes < PREFETCH_BYTES))
        ) {
          const id = next++;
          const bytes = sizes[id]!;
          slot.inFlight.set(id, bytes);
          slot.bytes += bytes;
          const message: UnitMessage = { type: 'unit', id, jobs: units[id]! };
          slot.worker.postMessage(message);
        }
      };

      for (const slot of this.slots) {
        slot.worker.on('message', (reply: WorkerReply) => {
          if (settled) return;
          switch (reply.type) {
            case 'done': {
              slot.bytes -= slot.inFlight.get(reply.id) ?? 0;
              slot.inFlight.delete(reply.id);
              try {
                onDone(reply.id, reply.digests);
              } catch (err) {
                return finish(err as Error);
              }
              if (--remaining === 0) return finish();
              feed(slot);
              return;
            }
            case 'error':
              return finish(errorFromWire(reply.error));
            case 'paused': {
              const pause = slot.pause;
              const resume = (): void => {
                if (pause === undefined) return;
                Atomics.store(pause, 0, 1);
                Atomics.notify(pause, 0);
              };
              Promise.resolve(this.init.onPaused?.(reply.path)).then(resume, (err: unknown) => {
                resume();
                finish(err instanceof Error ? err : new Error(String(err)));
              });
              return;
            }
          }
        });
      }
      if (units.length === 0) return finish();
      for (const slot of this.slots) feed(slot);
    });
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
}

export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  return new DOMException('The operation was aborted', 'AbortError');
}

import { parentPort, workerData } from 'node:worker_threads';
import { errorToWire } from '../errors/index.js';
import { FileHasher } from './file-hasher.js';
import {
  jobAt,
  jobCount,
  type Unit,
  type UnitMessage,
  type WorkerInit,
  type WorkerReply,
} from './protocol.js';

/** Worker thread entry: hashes the units the pool posts, one at a time, in order. */
const init = workerData as WorkerInit;
const port = parentPort;
if (port === null) throw new Error('hash-worker must run as a worker thread');

const progress = new BigInt64Array(init.progress);
const pause = init.pause === undefined ? undefined : new Int32Array(init.pause);
const hasher = new FileHasher(
  init.algorithm,
  init.tuning,
  (n) => void Atomics.add(progress, init.slot, BigInt(n)),
  pause === undefined
    ? {}
    : {
        afterFirstChunk: (path) => {
          // Block this thread until the main thread has run the test hook.
          Atomics.store(pause, 0, 0);
          reply({ type: 'paused', path });
          Atomics.wait(pause, 0, 0);
        },
      },
);

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

async function runUnit(unit: Unit): Promise<{ digests: Uint8Array; sizes: Float64Array }> {
  const parts: Buffer[] = [];
  const sizes = new Float64Array(jobCount(unit));
  for (let i = 0; i < sizes.length; i++) {
    const done = await hasher.hash(jobAt(unit, i));
    parts.push(...done.digests);
    sizes[i] = done.bytes;
  }
  // A fresh copy so its ArrayBuffer can be transferred, not cloned.
  return { digests: new Uint8Array(Buffer.concat(parts)), sizes };
}

// Units are handled strictly one after another so the read buffers are never shared.
let queue: Promise<void> = Promise.resolve();
port.on('message', (message: UnitMessage) => {
  queue = queue.then(async () => {
    try {
      const { digests, sizes } = await runUnit(message.unit);
      reply({ type: 'done', id: message.id, digests, sizes }, [
        digests.buffer as ArrayBuffer,
        sizes.buffer as ArrayBuffer,
      ]);
    } catch (err) {
      reply({ type: 'error', id: message.id, error: errorToWire(err, 'Hash worker') });
    }
  });
});

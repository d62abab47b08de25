import { parentPort, workerData } from 'node:worker_threads';
import { errorToWire } from '../errors/index.js';
import { verifyBundle } from '../verify/index.js';
import {
  packVerification,
  trustFromWire,
  type WorkerData,
  type WorkerResult,
} from './verify-signature.js';

/** Worker entry: verifies one big signature bundle, posts the packed result or its error. */
const port = parentPort;
if (port === null) throw new Error('verify-worker must run as a worker thread');

const data = workerData as WorkerData;
let result: WorkerResult;
let transfer: ArrayBuffer[] = [];
try {
  const packed = packVerification(
    verifyBundle(
      Buffer.from(data.bundle.buffer, data.bundle.byteOffset, data.bundle.byteLength),
      trustFromWire(data.trust),
    ),
  );
  result = { ok: true, verified: packed };
  transfer = [packed.digests, packed.ends, packed.sizes, packed.shards].map(
    (a) => a.buffer as ArrayBuffer,
  );
} catch (err) {
  result = { ok: false, error: errorToWire(err, 'Signature verification worker') };
}
port.postMessage(result, transfer);

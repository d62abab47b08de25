import { parentPort, workerData } from 'node:worker_threads';
import { errorToWire } from '../errors/index.js';
import { packedTransferList } from '../manifest/index.js';
import { verifyBundlePacked } from '../verify/index.js';
import { trustFromWire, type WorkerData, type WorkerResult } from './verify-signature.js';

/** Worker entry: verifies one big signature bundle, posts the packed result or its error. */
const port = parentPort;
if (port === null) throw new Error('verify-worker must run as a worker thread');

const data = workerData as WorkerData;
let result: WorkerResult;
let transfer: ArrayBuffer[] = [];
try {
  // The bytes were transferred to this thread and are read once: the payload may be decoded in
  // place (megabytes less on a model of many files).
  const packed = verifyBundlePacked(data.bundle, trustFromWire(data.trust), { reuseBytes: true });
  result = { ok: true, verified: packed };
  transfer = packedTransferList(packed.manifest);
} catch (err) {
  result = { ok: false, error: errorToWire(err, 'Signature verification worker') };
}
port.postMessage(result, transfer);

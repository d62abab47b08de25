/**
 * The fastest a Node.js program can hash a tree of many small files on this machine, as a
 * reference for the small-files rows of `npm run bench` (see docs/performance.md).
 *
 *   node dist/bench/node-ceiling.js DIR [sha256|blake3]
 *
 * Deliberately not Cairn: no name, symlink or type checks, no manifest, no ordering, no CLI.
 * The main thread lists the directories (not the files), then it and `availableParallelism() - 1`
 * worker threads claim directories from a shared counter; each lists its directory, `lstat`s
 * every file (as any walk that records sizes must), then opens, reads it whole into a reused
 * buffer, `fstat`s and closes it and hashes it in one shot with the same primitives Cairn uses
 * (`crypto.hash`, the native BLAKE3 binding). Prints `{ files, bytes }` as JSON.
 *
 * When Cairn's time is far from this program's, Cairn's own overhead is to blame; when this
 * program is itself short of the reference tool, no Node.js design is going to reach it.
 */
import {
  closeSync,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  readdirSync,
  type Dirent,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { hashBytes, isHashAlgorithm, type HashAlgorithm } from '../src/digest/index.js';

interface Shared {
  readonly dirs: readonly string[];
  readonly counter: SharedArrayBuffer;
  readonly algorithm: HashAlgorithm;
}

/** Hashes the files of the directories this thread claims; returns [files, bytes]. */
function work(shared: Shared): [number, number] {
  const next = new Int32Array(shared.counter);
  const buf = Buffer.allocUnsafeSlow(8 * 1024 * 1024);
  let files = 0;
  let bytes = 0;
  for (let i = Atomics.add(next, 0, 1); i < shared.dirs.length; i = Atomics.add(next, 0, 1)) {
    const dir = shared.dirs[i]!;
    const listed: string[] = [];
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isFile()) continue;
      const path = `${dir}/${e.name}`;
      if (lstatSync(path).size > buf.length) throw new Error(`${path}: larger than 8 MiB`);
      listed.push(path);
    }
    for (const path of listed) {
      const fd = openSync(path, 'r');
      const got = readSync(fd, buf, 0, buf.length, 0);
      fstatSync(fd);
      closeSync(fd);
      hashBytes(shared.algorithm, buf.subarray(0, got));
      files++;
      bytes += got;
    }
  }
  return [files, bytes];
}

function directories(root: string): string[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    const entries: Dirent[] = readdirSync(out[i]!, { withFileTypes: true });
    for (const e of entries) if (e.isDirectory()) out.push(`${out[i]!}/${e.name}`);
  }
  return out;
}

async function main(): Promise<void> {
  const [root, algorithm = 'sha256'] = process.argv.slice(2);
  if (root === undefined || !isHashAlgorithm(algorithm)) {
    throw new Error('usage: node-ceiling.js DIR [sha256|blake2b|blake3]');
  }
  const shared: Shared = {
    dirs: directories(root),
    counter: new SharedArrayBuffer(4),
    algorithm,
  };
  const workers = Array.from(
    { length: Math.max(0, availableParallelism() - 1) },
    () => new Worker(new URL(import.meta.url), { workerData: shared }),
  );
  const theirs = workers.map(
    (w) =>
      new Promise<[number, number]>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      }),
  );
  const totals = work(shared);
  for (const [f, b] of await Promise.all(theirs)) {
    totals[0] += f;
    totals[1] += b;
  }
  console.log(JSON.stringify({ files: totals[0], bytes: totals[1] }));
}

if (isMainThread) await main();
else parentPort!.postMessage(work(workerData as Shared));

/**
 * Stand-in for the CLI while `bin/cairn.js` cannot run: the same two operations through the
 * library, in a fresh process, printing JSON like `cairn … --json`.
 *
 *   node dist/bench/lib-runner.js digest MODEL [--hash H] [--shard-size N]
 *   node dist/bench/lib-runner.js verify MODEL --expect sha256:HEX [--hash H] [--shard-size N]
 *
 * `verify` re-hashes the model and compares the root digest with the expected one: the hashing
 * is what the benchmark measures; bundle checking costs milliseconds.
 */
import { formatArtifactDigest, isHashAlgorithm } from '../src/digest/index.js';
import { hashModel, manifestRootDigest } from '../src/manifest/index.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function main(): Promise<number> {
  const [command, model] = process.argv.slice(2);
  if ((command !== 'digest' && command !== 'verify') || model === undefined) {
    console.error('usage: lib-runner.js digest|verify MODEL [--hash H] [--shard-size N]');
    return 2;
  }
  const hash = flag('--hash') ?? 'sha256';
  if (!isHashAlgorithm(hash)) throw new Error(`bad --hash ${hash}`);
  const shard = flag('--shard-size');
  const manifest = await hashModel(model, {
    hashType: hash,
    ...(shard === undefined ? {} : { method: 'shards' as const, shardSize: Number(shard) }),
  });
  const digest = formatArtifactDigest(manifestRootDigest(manifest));
  if (command === 'digest') {
    console.log(JSON.stringify({ digest, resources: manifest.resources.length }));
    return 0;
  }
  const ok = digest === flag('--expect');
  console.log(JSON.stringify({ ok, digest }));
  return ok ? 0 : 1;
}

process.exitCode = await main();

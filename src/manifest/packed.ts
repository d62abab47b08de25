import { roleForPath } from './names.js';
import type { Manifest, Resource, Serialization } from './types.js';

/**
 * What a signed manifest lists, kept flat: one string per resource for its name (and one for
 * its path where that differs: shards), every digest in one buffer, numbers in typed arrays; no
 * object and no Buffer per resource. A signature of 60,000 files unpacked into `Resource` objects
 * took ~58 MiB of heap here; packed it takes the names and 2 MB of digests. It crosses a worker
 * boundary as is (the typed arrays are transferred) and `compareManifests` reads it directly.
 * Signed manifests carry no sizes, and roles follow from the paths, so neither is kept.
 */
export interface PackedManifest {
  readonly modelName: string;
  readonly serialization: Serialization;
  readonly names: readonly string[];
  /** Paths of the resources whose path is not their name (shards), by resource index. */
  readonly paths: Readonly<Record<number, string>>;
  /** The distinct algorithm strings; `algorithmIndex[i]` points into it. */
  readonly algorithms: readonly string[];
  readonly algorithmIndex: Uint16Array;
  /** Digest i is `digests[ends[i - 1] .. ends[i])` (from 0 for the first). */
  readonly digests: Uint8Array;
  readonly ends: Uint32Array;
  /** Shard start and end per resource (`2i`, `2i + 1`), -1 for whole files. */
  readonly shards: Float64Array;
}

/** Packs a manifest's names, shard ranges, algorithms and digests (sizes and roles are dropped). */
export function packManifest(manifest: Manifest): PackedManifest {
  const rs = manifest.resources;
  const n = rs.length;
  const names = new Array<string>(n);
  const algorithms: string[] = [];
  const algorithmIndex = new Uint16Array(n);
  const ends = new Uint32Array(n);
  const shards = new Float64Array(2 * n);
  const paths: Record<number, string> = {};
  let total = 0;
  for (const r of rs) total += r.digest.length;
  const digests = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const r = rs[i]!;
    names[i] = r.name;
    if (r.path !== r.name) paths[i] = r.path;
    let a = algorithms.indexOf(r.algorithm);
    if (a === -1) a = algorithms.push(r.algorithm) - 1;
    algorithmIndex[i] = a;
    digests.set(r.digest, at);
    at += r.digest.length;
    ends[i] = at;
    shards[2 * i] = r.shard?.start ?? -1;
    shards[2 * i + 1] = r.shard?.end ?? -1;
  }
  return {
    modelName: manifest.modelName,
    serialization: manifest.serialization,
    names,
    paths,
    algorithms,
    algorithmIndex,
    digests,
    ends,
    shards,
  };
}

/** The manifest as `Resource` objects (roles from the paths; digests are views, not copies). */
export function unpackManifest(packed: PackedManifest): Manifest {
  const n = packed.names.length;
  const digests = Buffer.from(
    packed.digests.buffer,
    packed.digests.byteOffset,
    packed.digests.byteLength,
  );
  const resources = new Array<Resource>(n);
  for (let i = 0; i < n; i++) {
    const name = packed.names[i]!;
    const path = packed.paths[i] ?? name;
    const algorithm = packed.algorithms[packed.algorithmIndex[i]!]!;
    const digest = digests.subarray(i === 0 ? 0 : packed.ends[i - 1], packed.ends[i]);
    const role = roleForPath(path);
    const start = packed.shards[2 * i]!;
    // Literals, not spreads: this runs once per resource.
    resources[i] =
      start < 0
        ? { name, path, algorithm, digest, role }
        : { name, path, shard: { start, end: packed.shards[2 * i + 1]! }, algorithm, digest, role };
  }
  return { modelName: packed.modelName, serialization: packed.serialization, resources };
}

/** The buffers to transfer (not copy) when posting a packed manifest to another thread. */
export function packedTransferList(packed: PackedManifest): ArrayBuffer[] {
  return [packed.algorithmIndex, packed.digests, packed.ends, packed.shards].map(
    (a) => a.buffer as ArrayBuffer,
  );
}

export function isPackedManifest(m: Manifest | PackedManifest): m is PackedManifest {
  return 'names' in m;
}

/** File paths of a manifest's resources, in manifest order (a shard's path once per shard). */
export function* manifestPaths(m: Manifest | PackedManifest): Generator<string> {
  if (isPackedManifest(m)) {
    for (let i = 0; i < m.names.length; i++) yield m.paths[i] ?? m.names[i]!;
  } else {
    for (const r of m.resources) yield r.path;
  }
}

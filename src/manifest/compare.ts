import { rootDigest } from '../digest/index.js';
import { comparePaths } from './names.js';
import { isPackedManifest, type PackedManifest } from './packed.js';
import type { DigestMismatch, Manifest, ManifestDiff } from './types.js';

/** SHA-256 over the raw resource digests in listed order (the OMS subject digest). */
export function manifestRootDigest(manifest: Manifest): Buffer {
  return rootDigest(manifest.resources.map((r) => r.digest));
}

/**
 * Compares the signed manifest with the one computed from disk by resource name, algorithm and
 * digest — exact equality, as the reference does. Lists every difference, never just the first.
 * Either side may be packed (a verified signature's manifest is, see `PackedManifest`).
 */
export function compareManifests(
  expected: Manifest | PackedManifest,
  actual: Manifest | PackedManifest,
): ManifestDiff {
  const want = listing(expected);
  const have = listing(actual);
  // Both lists are normally in manifest order: one merge pass then, with no Maps of 20k entries.
  if (isOrdered(want) && isOrdered(have)) {
    const merged = mergeCompare(want, have);
    if (merged !== undefined) return merged;
  }
  const wanted = new Map<string, number>();
  for (let i = 0; i < want.length; i++) wanted.set(want.name(i), i);
  const had = new Map<string, number>();
  for (let j = 0; j < have.length; j++) had.set(have.name(j), j);
  const diff = new DiffBuilder(want, have);
  for (let j = 0; j < have.length; j++) if (!wanted.has(have.name(j))) diff.extra(j);
  for (let i = 0; i < want.length; i++) {
    const j = had.get(want.name(i));
    if (j === undefined) diff.missing(i);
    else diff.pair(i, j);
  }
  return diff.result();
}

/** One manifest's resources by index, whatever its form. */
interface Listing {
  readonly length: number;
  name(i: number): string;
  path(i: number): string;
  /** Shard start and end, -1 for a whole file. */
  start(i: number): number;
  end(i: number): number;
  algorithm(i: number): string;
  digest(i: number): Buffer;
}

function listing(m: Manifest | PackedManifest): Listing {
  if (!isPackedManifest(m)) {
    const rs = m.resources;
    return {
      length: rs.length,
      name: (i) => rs[i]!.name,
      path: (i) => rs[i]!.path,
      start: (i) => rs[i]!.shard?.start ?? -1,
      end: (i) => rs[i]!.shard?.end ?? -1,
      algorithm: (i) => rs[i]!.algorithm,
      digest: (i) => rs[i]!.digest,
    };
  }
  const digests = Buffer.from(m.digests.buffer, m.digests.byteOffset, m.digests.byteLength);
  return {
    length: m.names.length,
    name: (i) => m.names[i]!,
    path: (i) => m.paths[i] ?? m.names[i]!,
    start: (i) => m.shards[2 * i]!,
    end: (i) => m.shards[2 * i + 1]!,
    algorithm: (i) => m.algorithms[m.algorithmIndex[i]!]!,
    digest: (i) => digests.subarray(i === 0 ? 0 : m.ends[i - 1], m.ends[i]),
  };
}

/** Reference manifest order (as `compareResourceKeys`): path components, then shard range. */
function compareKeys(a: Listing, i: number, b: Listing, j: number): number {
  const c = comparePaths(a.path(i), b.path(j));
  if (c !== 0) return c;
  const s = a.start(i) - b.start(j);
  return s !== 0 ? s : a.end(i) - b.end(j);
}

/** Strictly increasing in manifest order (so names are unique and a merge finds every pair). */
function isOrdered(l: Listing): boolean {
  for (let i = 1; i < l.length; i++) if (compareKeys(l, i - 1, l, i) >= 0) return false;
  return true;
}

/** Undefined if two resources with the same key carry different names (then compare by name). */
function mergeCompare(want: Listing, have: Listing): ManifestDiff | undefined {
  const diff = new DiffBuilder(want, have);
  let i = 0;
  let j = 0;
  while (i < want.length || j < have.length) {
    const order = i === want.length ? 1 : j === have.length ? -1 : compareKeys(want, i, have, j);
    if (order < 0) diff.missing(i++);
    else if (order > 0) diff.extra(j++);
    else {
      if (want.name(i) !== have.name(j)) return undefined;
      diff.pair(i++, j++);
    }
  }
  return diff.result();
}

class DiffBuilder {
  private readonly extras: string[] = [];
  private readonly missings: string[] = [];
  private readonly changes: DigestMismatch[] = [];

  constructor(
    private readonly want: Listing,
    private readonly have: Listing,
  ) {}

  extra(j: number): void {
    this.extras.push(this.have.name(j));
  }

  missing(i: number): void {
    this.missings.push(this.want.name(i));
  }

  /** Resource `i` expected and `j` found under the same name: a change unless they agree. */
  pair(i: number, j: number): void {
    const { want, have } = this;
    if (want.algorithm(i) === have.algorithm(j) && want.digest(i).equals(have.digest(j))) return;
    this.changes.push({
      name: want.name(i),
      expected: { algorithm: want.algorithm(i), digest: want.digest(i).toString('hex') },
      actual: { algorithm: have.algorithm(j), digest: have.digest(j).toString('hex') },
    });
  }

  result(): ManifestDiff {
    const { extras: extra, missings: missing, changes: changed } = this;
    return { ok: extra.length + missing.length + changed.length === 0, extra, missing, changed };
  }
}

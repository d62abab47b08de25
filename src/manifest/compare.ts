import { rootDigest } from '../digest/index.js';
import { compareResourceKeys } from './names.js';
import type { DigestMismatch, Manifest, ManifestDiff, Resource } from './types.js';

/** SHA-256 over the raw resource digests in listed order (the OMS subject digest). */
export function manifestRootDigest(manifest: Manifest): Buffer {
  return rootDigest(manifest.resources.map((r) => r.digest));
}

/**
 * Compares the signed manifest with the one computed from disk by resource name, algorithm and
 * digest — exact equality, as the reference does. Lists every difference, never just the first.
 */
export function compareManifests(expected: Manifest, actual: Manifest): ManifestDiff {
  // Both lists are normally in manifest order: one merge pass then, with no Maps of 20k entries.
  if (isOrdered(expected.resources) && isOrdered(actual.resources)) {
    const merged = mergeCompare(expected.resources, actual.resources);
    if (merged !== undefined) return merged;
  }
  const want = new Map(expected.resources.map((r) => [r.name, r]));
  const have = new Map(actual.resources.map((r) => [r.name, r]));
  const extra: string[] = [];
  const missing: string[] = [];
  const changed: DigestMismatch[] = [];
  for (const r of actual.resources) if (!want.has(r.name)) extra.push(r.name);
  for (const r of expected.resources) {
    const got = have.get(r.name);
    if (got === undefined) {
      missing.push(r.name);
    } else if (got.algorithm !== r.algorithm || !got.digest.equals(r.digest)) {
      changed.push({
        name: r.name,
        expected: { algorithm: r.algorithm, digest: r.digest.toString('hex') },
        actual: { algorithm: got.algorithm, digest: got.digest.toString('hex') },
      });
    }
  }
  return { ok: extra.length + missing.length + changed.length === 0, extra, missing, changed };
}

/** Strictly increasing in manifest order (so names are unique and a merge finds every pair). */
function isOrdered(resources: readonly Resource[]): boolean {
  for (let i = 1; i < resources.length; i++) {
    if (compareResourceKeys(resources[i - 1]!, resources[i]!) >= 0) return false;
  }
  return true;
}

/** Undefined if two resources with the same key carry different names (then compare by name). */
function mergeCompare(
  expected: readonly Resource[],
  actual: readonly Resource[],
): ManifestDiff | undefined {
  const extra: string[] = [];
  const missing: string[] = [];
  const changed: DigestMismatch[] = [];
  let i = 0;
  let j = 0;
  while (i < expected.length || j < actual.length) {
    const want = expected[i];
    const got = actual[j];
    const order = want === undefined ? 1 : got === undefined ? -1 : compareResourceKeys(want, got);
    if (order < 0) {
      missing.push(want!.name);
      i++;
    } else if (order > 0) {
      extra.push(got!.name);
      j++;
    } else {
      if (got!.name !== want!.name) return undefined;
      if (got!.algorithm !== want!.algorithm || !got!.digest.equals(want!.digest)) {
        changed.push({
          name: want!.name,
          expected: { algorithm: want!.algorithm, digest: want!.digest.toString('hex') },
          actual: { algorithm: got!.algorithm, digest: got!.digest.toString('hex') },
        });
      }
      i++;
      j++;
    }
  }
  return { ok: extra.length + missing.length + changed.length === 0, extra, missing, changed };
}

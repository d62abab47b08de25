import { rootDigest } from '../digest/index.js';
import type { DigestMismatch, Manifest, ManifestDiff } from './types.js';

/** SHA-256 over the raw resource digests in listed order (the OMS subject digest). */
export function manifestRootDigest(manifest: Manifest): Buffer {
  return rootDigest(manifest.resources.map((r) => r.digest));
}

/**
 * Compares the signed manifest with the one computed from disk by resource name, algorithm and
 * digest — exact equality, as the reference does. Lists every difference, never just the first.
 */
export function compareManifests(expected: Manifest, actual: Manifest): ManifestDiff {
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

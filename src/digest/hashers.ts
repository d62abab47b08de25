import { createHash, timingSafeEqual } from 'node:crypto';
import { Blake3Hasher } from '@napi-rs/blake-hash';

/** Hash algorithms OMS records in `serialization.hash_type`. */
export const HASH_ALGORITHMS = ['sha256', 'blake2b', 'blake3'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

export function isHashAlgorithm(value: unknown): value is HashAlgorithm {
  return typeof value === 'string' && (HASH_ALGORITHMS as readonly string[]).includes(value);
}

/** Digest length in bytes for each algorithm (blake2b is BLAKE2b-512, as Python's hashlib default). */
export function digestLength(algorithm: HashAlgorithm): number {
  switch (algorithm) {
    case 'sha256':
      return 32;
    case 'blake2b':
      return 64;
    case 'blake3':
      return 32;
  }
}

export interface StreamingHasher {
  update(data: Uint8Array): void;
  digest(): Buffer;
}

/**
 * A streaming hasher. sha256 and blake2b come from Node's OpenSSL (SHA-NI / AVX2 where the CPU
 * has them); blake3 from the native `@napi-rs/blake-hash` build (SIMD; the WASM builds measured
 * 10x slower here).
 */
export function createHasher(algorithm: HashAlgorithm): StreamingHasher {
  switch (algorithm) {
    case 'sha256':
    case 'blake2b': {
      const h = createHash(algorithm === 'sha256' ? 'sha256' : 'blake2b512');
      return {
        update: (data) => void h.update(data),
        digest: () => h.digest(),
      };
    }
    case 'blake3': {
      const h = new Blake3Hasher();
      return {
        update: (data) => void h.update(data),
        digest: () => h.digestBuffer(),
      };
    }
  }
}

export function hashBytes(algorithm: HashAlgorithm, data: Uint8Array): Buffer {
  const h = createHasher(algorithm);
  h.update(data);
  return h.digest();
}

/** Constant-time equality for digests, MACs and key hints; different lengths are simply unequal. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/**
 * The OMS root digest: SHA-256 over the concatenation of the raw resource digests in manifest
 * order (reference `Payload.__init__`). Always SHA-256, whatever the per-resource algorithm.
 */
export function rootDigest(resourceDigests: Iterable<Uint8Array>): Buffer {
  const h = createHash('sha256');
  for (const d of resourceDigests) h.update(d);
  return h.digest();
}

/** `sha256:<hex>` — the artifact digest used everywhere in Cairn. */
export type ArtifactDigest = `sha256:${string}`;

const ARTIFACT_DIGEST = /^sha256:[0-9a-f]{64}$/;

export function formatArtifactDigest(digest: Uint8Array): ArtifactDigest {
  return `sha256:${Buffer.from(digest).toString('hex')}`;
}

export function isArtifactDigest(value: unknown): value is ArtifactDigest {
  return typeof value === 'string' && ARTIFACT_DIGEST.test(value);
}

import { createHash, hash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import type { blake3 as NobleBlake3 } from '@noble/hashes/blake3.js';

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

interface NativeBlake3Hasher {
  update(data: Buffer): unknown;
  digestBuffer(): Buffer;
}

let native: (new () => NativeBlake3Hasher) | null | undefined;
/** The binding's one-shot `blake3(bytes)`: no hasher object left for the GC to finalise. */
let nativeOneShot: ((data: Buffer) => Buffer) | undefined;

/**
 * The native BLAKE3 (the Rust `blake3` crate with SIMD, from the prebuilt binary that
 * `@napi-rs/blake-hash` publishes for linux-x64-gnu, an optional dependency). Measured here:
 * ~2.4 GB/s per core, against ~0.35 GB/s for the native package's 1.3.4 build and far less for
 * pure-JS and WASM builds. Elsewhere Cairn falls back to @noble/hashes (audited, pure JS, slow).
 * The wrapper package itself is not used: its 1.3.6 release lists platform packages that were never
 * published, which breaks `npm ci`.
 */
function nativeBlake3(): (new () => NativeBlake3Hasher) | undefined {
  if (native === undefined) {
    try {
      const binding = createRequire(import.meta.url)('@napi-rs/blake-hash-linux-x64-gnu') as {
        Blake3Hasher?: new () => NativeBlake3Hasher;
        blake3?: (data: Buffer) => Buffer;
      };
      native = binding.Blake3Hasher ?? null;
      nativeOneShot = native === null ? undefined : binding.blake3;
    } catch {
      native = null;
    }
  }
  return native ?? undefined;
}

let noble: typeof NobleBlake3 | undefined;

/**
 * The pure-JS fallback, loaded only where the native binary is missing: importing it costs
 * ~10 ms in every process and hash worker that never uses it (measured on the bench machine).
 */
function nobleBlake3(): typeof NobleBlake3 {
  noble ??= (
    createRequire(import.meta.url)('@noble/hashes/blake3.js') as { blake3: typeof NobleBlake3 }
  ).blake3;
  return noble;
}

/** True when BLAKE3 runs natively (SIMD) rather than in the pure-JS fallback. */
export function blake3IsNative(): boolean {
  return nativeBlake3() !== undefined;
}

/**
 * A streaming hasher. sha256 and blake2b come from Node's OpenSSL (SHA-NI / AVX2 where the CPU
 * has them); blake3 natively where the prebuilt binary exists (see `nativeBlake3`).
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
      const Native = nativeBlake3();
      if (Native === undefined) {
        const h = nobleBlake3().create();
        return { update: (data) => void h.update(data), digest: () => Buffer.from(h.digest()) };
      }
      const h = new Native();
      return {
        // The binding takes Buffers only; a Buffer view over the same memory costs no copy.
        update: (data) =>
          void h.update(
            Buffer.isBuffer(data)
              ? data
              : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
          ),
        digest: () => h.digestBuffer(),
      };
    }
  }
}

/**
 * One-shot digest. Uses the one-shot entry points (`crypto.hash`, the binding's `blake3`), which
 * leave no native hasher behind: hashing tens of thousands of small files with a streaming
 * native BLAKE3 object each grew a process by ~50 MiB before the GC finalised them (measured).
 */
export function hashBytes(algorithm: HashAlgorithm, data: Uint8Array): Buffer {
  switch (algorithm) {
    case 'sha256':
      return hash('sha256', data, 'buffer');
    case 'blake2b':
      return hash('blake2b512', data, 'buffer');
    case 'blake3': {
      if (nativeBlake3() !== undefined && nativeOneShot !== undefined) {
        const buf = Buffer.isBuffer(data)
          ? data
          : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        return nativeOneShot(buf);
      }
      const h = createHasher(algorithm);
      h.update(data);
      return h.digest();
    }
  }
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

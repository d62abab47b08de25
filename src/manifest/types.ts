import type { HashAlgorithm } from '../digest/index.js';

export type SerializationMethod = 'files' | 'shards';

/** How a manifest was (or is to be) computed: the OMS `predicate.serialization` block. */
export interface Serialization {
  readonly method: SerializationMethod;
  readonly hashType: HashAlgorithm;
  /** Shard size in bytes; present exactly when `method` is `shards`. */
  readonly shardSize?: number;
  readonly allowSymlinks: boolean;
  /** Paths relative to the model root, `/`-separated, excluded from hashing (recorded in the bundle). */
  readonly ignorePaths: readonly string[];
}

/** What a file can be for, in one fixed order (a role's index is stable: worker messages use it). */
export const RESOURCE_ROLES = [
  'weights',
  'config',
  'tokenizer',
  'code',
  'dependency-lock',
  'data-reference',
  'documentation',
  'other',
] as const;

/** What a file is for; assigned from its name (see `roleForPath`). */
export type ResourceRole = (typeof RESOURCE_ROLES)[number];

export interface ShardRange {
  readonly start: number;
  readonly end: number;
}

/** One file, or one shard of a file, with its digest. */
export interface Resource {
  /** The OMS resource name: `a/b.txt`, `.` for a single-file model, `a/b.bin:0:1000` for a shard. */
  readonly name: string;
  /** The file path relative to the model root (`.` for a single-file model). */
  readonly path: string;
  /** Present for shard resources. */
  readonly shard?: ShardRange;
  /** As recorded: `sha256`, `blake2b`, `blake3`, or `<hash>-sharded-<N>` for reference shards. */
  readonly algorithm: string;
  readonly digest: Buffer;
  /** Bytes covered: the file size, or `end - start` for a shard. Known when hashed locally. */
  readonly size?: number;
  readonly role: ResourceRole;
}

/** The ordered list of resources plus how they were hashed. */
export interface Manifest {
  /** Informational model name (the OMS subject name): basename of the model path. */
  readonly modelName: string;
  readonly serialization: Serialization;
  /** In manifest order (reference order: path components by code point, shards by offset). */
  readonly resources: readonly Resource[];
}

export interface HashProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly filesDone: number;
  readonly filesTotal: number;
}

export interface HashModelOptions {
  /** Default `sha256`. */
  readonly hashType?: HashAlgorithm;
  /** Default `files`. */
  readonly method?: SerializationMethod;
  /** Shard size in bytes for `shards`; default 1_000_000_000 (the reference default). */
  readonly shardSize?: number;
  /** Default false: a symlink is an error. When true, links to files inside the root are hashed. */
  readonly allowSymlinks?: boolean;
  /** Paths relative to the model root to exclude (a directory excludes its subtree). */
  readonly ignorePaths?: readonly string[];
  /** Default true: exclude `.git`, `.gitattributes`, `.github`, `.gitignore` at the model root. */
  readonly ignoreGitPaths?: boolean;
  /**
   * When set, hash only these file paths (relative, `/`-separated) and ignore every other file:
   * `--ignore-unsigned-files`. Names listed here but absent on disk are simply not in the result.
   */
  readonly onlyPaths?: ReadonlySet<string>;
  /**
   * Most worker threads to hash on; default: the number of CPUs. 0 hashes on the calling thread.
   * Tiny models (≤ 32 MiB and ≤ 256 files) are always hashed on the calling thread.
   */
  readonly workers?: number;
  readonly onProgress?: (progress: HashProgress) => void;
  readonly signal?: AbortSignal;
}

export interface DigestMismatch {
  readonly name: string;
  readonly expected: { readonly algorithm: string; readonly digest: string };
  readonly actual: { readonly algorithm: string; readonly digest: string };
}

/** Differences between a signed manifest and the model on disk, by resource name. */
export interface ManifestDiff {
  readonly ok: boolean;
  /** On disk but not in the signed manifest. */
  readonly extra: readonly string[];
  /** In the signed manifest but not on disk. */
  readonly missing: readonly string[];
  readonly changed: readonly DigestMismatch[];
}

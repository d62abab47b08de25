import { VerificationError } from '../errors/index.js';
import type { ResourceRole, ShardRange } from './types.js';

/** Excluded at the model root unless `--no-ignore-git-paths` (reference `_cli.py`). */
export const GIT_PATHS = ['.git', '.gitattributes', '.github', '.gitignore'] as const;

/** Default signature file name, beside (inside) the model, never hashed. */
export const DEFAULT_SIGNATURE_NAME = 'model.sig';
/** Default attestation file name, beside (inside) the model, never hashed. */
export const DEFAULT_ATTESTATIONS_NAME = 'model.att.jsonl';

/**
 * Compares two strings by Unicode code point (Python's `str` order). JavaScript's `<` compares
 * UTF-16 code units, which puts astral characters (surrogate pairs) before U+E000–U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Lift surrogates above the rest of the BMP so the order matches code points.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * Python `PurePosixPath` order: lists of path components compared element-wise, each by code
 * point. Done in one pass without splitting (sorting and merging 20,000 paths split each one
 * ~30 times): where the strings first differ, a `/` means that side's component ended first, so
 * it is the smaller one; otherwise the characters decide as in `compareCodePoints`. Paths are
 * checked names (no empty components); `.` (a single-file model) is the empty list.
 */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '.') return -1;
  if (b === '.') return 1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

export interface ResourceKey {
  readonly path: string;
  readonly shard?: ShardRange;
}

/** Reference manifest order: by path components, then shard start and end numerically. */
export function compareResourceKeys(a: ResourceKey, b: ResourceKey): number {
  const c = comparePaths(a.path, b.path);
  if (c !== 0) return c;
  const sa = a.shard?.start ?? -1;
  const sb = b.shard?.start ?? -1;
  if (sa !== sb) return sa - sb;
  return (a.shard?.end ?? -1) - (b.shard?.end ?? -1);
}

export function sortResources<T extends ResourceKey>(resources: readonly T[]): T[] {
  return [...resources].sort(compareResourceKeys);
}

/** Why a manifest path is unsafe, or undefined when it is fine. */
export function pathProblem(path: string): string | undefined {
  // Most names are plain printable ASCII: one scan without allocation settles them.
  if (isPlainPath(path)) return undefined;
  if (path.length === 0) return 'empty name';
  if (path === '.') return undefined;
  if (path.length > 4096) return 'name longer than 4096 characters';
  if (path.startsWith('/')) return 'absolute path';
  if (/^[A-Za-z]:/.test(path)) return 'drive-letter path';
  if (path.includes('\\')) return 'backslash in name';
  // Control characters (including NUL) never belong in a model file name.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'control character in name';
  if (/[\ud800-\udfff]/.test(path.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')))
    return 'unpaired surrogate (not valid UTF-8)';
  for (const part of path.split('/')) {
    if (part === '') return 'empty path component';
    if (part === '.' || part === '..') return `"${part}" path component`;
  }
  return undefined;
}

/**
 * True when `path` is certainly fine: 1–4096 printable ASCII characters without a backslash, no
 * leading drive letter, and no empty, `.` or `..` component. Anything else takes the full check.
 */
function isPlainPath(path: string): boolean {
  const n = path.length;
  if (n === 0 || n > 4096) return false;
  let start = 0;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 0x2f : path.charCodeAt(i);
    if (c === 0x2f) {
      const len = i - start;
      if (len === 0) return false;
      if (
        len <= 2 &&
        path.charCodeAt(start) === 0x2e &&
        (len === 1 || path.charCodeAt(start + 1) === 0x2e)
      )
        return false;
      start = i + 1;
    } else if (c < 0x20 || c > 0x7e || c === 0x5c) {
      return false;
    } else if (c === 0x3a && i === 1) {
      return false; // a possible drive letter: the full check decides
    }
  }
  return true;
}

/**
 * Splits an OMS resource name into path and optional shard range. The spec says to take the last
 * two `:`-separated parts; a name whose tail is not two integers is a plain file name.
 */
export function parseResourceName(
  name: string,
  method: 'files' | 'shards',
): { path: string; shard?: ShardRange } {
  if (method === 'files') return { path: name };
  const m = /^(.*):(0|[1-9][0-9]{0,15}):(0|[1-9][0-9]{0,15})$/s.exec(name);
  if (!m) {
    throw new VerificationError(
      'MANIFEST_INVALID',
      `Shard resource name is malformed: ${JSON.stringify(name)}`,
      {
        details: { name },
      },
    );
  }
  const start = Number(m[2]);
  const end = Number(m[3]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start) {
    throw new VerificationError(
      'MANIFEST_INVALID',
      `Shard range is invalid in ${JSON.stringify(name)}`,
      {
        details: { name },
      },
    );
  }
  return { path: m[1]!, shard: { start, end } };
}

export function shardName(path: string, shard: ShardRange): string {
  return `${path}:${shard.start}:${shard.end}`;
}

const WEIGHT_EXT =
  /\.(safetensors|bin|pt|pth|ckpt|h5|hdf5|keras|onnx|gguf|ggml|tflite|pb|msgpack|npz|npy|pkl|pickle|joblib|mlmodel|params|model|engine|plan|nemo|mar)$/i;
const LOCK_NAMES = new Set([
  'requirements.txt',
  'poetry.lock',
  'pipfile.lock',
  'uv.lock',
  'pdm.lock',
  'conda-lock.yml',
  'environment.yml',
  'environment.yaml',
  'package-lock.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'cargo.lock',
  'go.sum',
]);
const TOKENIZER_NAMES =
  /^(tokenizer(_config)?\.json|special_tokens_map\.json|added_tokens\.json|vocab\.(txt|json)|merges\.txt|spiece\.model|sentencepiece\.bpe\.model|tokenizer\.model)$/i;
const CONFIG_NAMES =
  /^(config\.json|generation_config\.json|preprocessor_config\.json|params\.json|hparams\.(ya?ml|json)|.*\.(ya?ml|toml|ini|cfg))$/i;
const CODE_EXT = /\.(py|ipynb|sh|js|ts|rs|go|c|cc|cpp|h|cu|java|scala|r|jl)$/i;
const DOC_NAMES =
  /^(readme|license|licence|notice|copying|model[_-]?card|changelog)(\..*)?$|\.(md|rst|txt|pdf|html)$/i;
/** A `tokenizer` or `tokenizers` folder anywhere in the directory part. */
const TOKENIZER_DIR = /(^|\/)tokenizers?(\/|$)/i;
const DATA_REF =
  /(^|[._-])(dataset|data[_-]?snapshot|data[_-]?ref(erence)?s?)([._-]|$)|\.(dvc|datasetref)$/i;

/**
 * Assigns a role by file name. First match wins, from the most specific rule to the least:
 * dependency locks, tokenizer files (by name or inside a `tokenizer/` folder), data references,
 * weights, configs, code, documentation.
 */
export function roleForPath(path: string): ResourceRole {
  const slash = path.lastIndexOf('/');
  const base = slash === -1 ? path : path.slice(slash + 1);
  if (LOCK_NAMES.has(base.toLowerCase()) || /^requirements[-_.].*\.txt$/i.test(base))
    return 'dependency-lock';
  if (TOKENIZER_NAMES.test(base) || (slash !== -1 && TOKENIZER_DIR.test(path.slice(0, slash))))
    return 'tokenizer';
  if (DATA_REF.test(base)) return 'data-reference';
  if (WEIGHT_EXT.test(base) || /^pytorch_model.*|^model-\d+-of-\d+/.test(base)) return 'weights';
  if (CONFIG_NAMES.test(base)) return 'config';
  if (CODE_EXT.test(base)) return 'code';
  if (DOC_NAMES.test(base)) return 'documentation';
  return 'other';
}

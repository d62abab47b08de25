import { lstatSync, readdirSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, posix, resolve, sep } from 'node:path';
import { UsageError, fromFsError } from '../errors/index.js';
import { GIT_PATHS, pathProblem } from './names.js';

/**
 * What a file was when the walk saw it. The hasher compares an `fstat` of the open descriptor,
 * taken after the read, with it: a file swapped for another, resized, written or touched at any
 * time between the walk and the end of the read is caught (see file-hasher.ts).
 * Plain numbers: `lstat` without BigInts allocates far less over tens of thousands of files,
 * and the same double conversion on both sides keeps the comparison exact (the times are
 * milliseconds with sub-microsecond resolution).
 */
export interface FileIdentity {
  readonly size: number;
  readonly dev: number;
  readonly ino: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

/** Numbers kept per file in `WalkedFiles`: the identity, size first. */
const STAT_FIELDS = 5;

/**
 * The files a walk found, in the order found, kept flat: one name string per file and its
 * identity in a growable Float64Array, no object per file. Over tens of thousands of files this
 * keeps the main thread's heap (and V8's young generation, which grows with what survives) small.
 */
export class WalkedFiles {
  /** Relative `/`-separated names, or `.` for a single-file model. */
  readonly paths: string[] = [];
  /** The absolute path to open, where it is not `prefix + path` (allowed symlinks, one file). */
  private readonly targets = new Map<number, string>();
  private stats = new Float64Array(STAT_FIELDS * 1024);

  /** `prefix + path` is the file to open: the resolved model root and a separator. */
  constructor(readonly prefix: string) {}

  get length(): number {
    return this.paths.length;
  }

  add(path: string, target: string | undefined, st: Stats): number {
    const i = this.paths.length;
    this.paths.push(path);
    if (target !== undefined) this.targets.set(i, target);
    if ((i + 1) * STAT_FIELDS > this.stats.length) {
      const grown = new Float64Array(this.stats.length * 2);
      grown.set(this.stats);
      this.stats = grown;
    }
    const at = i * STAT_FIELDS;
    this.stats[at] = st.size;
    this.stats[at + 1] = st.dev;
    this.stats[at + 2] = st.ino;
    this.stats[at + 3] = st.mtimeMs;
    this.stats[at + 4] = st.ctimeMs;
    return i;
  }

  size(i: number): number {
    return this.stats[i * STAT_FIELDS]!;
  }

  /** The absolute path to open for file `i`. */
  open(i: number): string {
    return this.targets.get(i) ?? this.prefix + this.paths[i]!;
  }

  /** The absolute path to open for file `i`, or `''` when it is `prefix + path`. */
  target(i: number): string {
    return this.targets.get(i) ?? '';
  }

  identity(i: number): FileIdentity {
    const at = i * STAT_FIELDS;
    const n = this.stats;
    return {
      size: n[at]!,
      dev: n[at + 1]!,
      ino: n[at + 2]!,
      mtimeMs: n[at + 3]!,
      ctimeMs: n[at + 4]!,
    };
  }

  /** Copies file `i`'s identity into `out` at `at` (size, dev, ino, mtimeMs, ctimeMs). */
  copyIdentity(i: number, out: Float64Array, at: number): void {
    out.set(this.stats.subarray(i * STAT_FIELDS, (i + 1) * STAT_FIELDS), at);
  }
}

export interface WalkOptions {
  readonly allowSymlinks: boolean;
  /**
   * Called with each file's index in `files` as soon as it is found (hashing starts while the
   * walk goes on); `files` is the table the result will hold.
   */
  readonly onFile: (files: WalkedFiles, index: number) => void;
  /** Validated, normalised ignore paths (git paths included when they apply). */
  readonly ignorePaths: readonly string[];
  readonly onlyPaths: ReadonlySet<string> | undefined;
  readonly signal: AbortSignal | undefined;
}

export interface WalkResult {
  readonly modelName: string;
  /** Files in the order found (the caller sorts them into manifest order). */
  readonly files: WalkedFiles;
}

/**
 * Validates user ignore paths and returns the effective list recorded in the manifest: the git
 * paths first (when on), then the given ones, normalised and de-duplicated.
 */
export function effectiveIgnorePaths(
  given: readonly string[],
  ignoreGitPaths: boolean,
): readonly string[] {
  const out: string[] = ignoreGitPaths ? [...GIT_PATHS] : [];
  for (const raw of given) {
    const bad = (why: string) =>
      new UsageError('USAGE', `Ignore path ${JSON.stringify(raw)} is not valid: ${why}`, {
        details: { ignorePath: raw },
        hint: 'Ignore paths are relative to the model root, `/`-separated, without `..`.',
      });
    if (raw.startsWith('/') || /^[A-Za-z]:[\\/]/.test(raw)) throw bad('absolute path');
    // Trailing slashes and `./` segments are harmless spellings of the same path.
    const norm = posix.normalize(raw).replace(/\/+$/, '');
    if (norm === '.' || norm === '') throw bad('it would ignore the whole model');
    if (norm === '..' || norm.startsWith('../') || norm.split('/').includes('..'))
      throw bad('it leaves the model root');
    const problem = pathProblem(norm);
    if (problem !== undefined) throw bad(problem);
    if (!out.includes(norm)) out.push(norm);
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lossy = new TextDecoder('utf-8');
const PLAIN_NAME = /^[\x20-\x5b\x5d-\x7e]+$/;
const DRIVE_LETTER = /^[A-Za-z]:/;
// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;
/** Entries handled between two yields to the event loop during a (synchronous) directory walk. */
const YIELD_EVERY = 256;

/**
 * Lists the files of a model in reference order, enforcing the naming, symlink and file-type
 * rules. Directory reads and stats are synchronous (several times faster than the promise API
 * for tens of thousands of small files) but the walk yields to the event loop regularly.
 */
export async function walkModel(modelPath: string, options: WalkOptions): Promise<WalkResult> {
  const absolute = resolve(modelPath);
  const modelName = basename(absolute);
  let top: Stats;
  try {
    // The model path itself was named by the user, so a link there is followed.
    top = await stat(absolute);
  } catch (err) {
    throw fromFsError(err, modelPath);
  }
  options.signal?.throwIfAborted();
  if (top.isFile()) {
    if (options.onlyPaths !== undefined && !options.onlyPaths.has('.')) {
      return { modelName, files: new WalkedFiles('') };
    }
    let real: string;
    try {
      real = await realpath(absolute);
    } catch (err) {
      throw fromFsError(err, modelPath);
    }
    const files = new WalkedFiles('');
    options.onFile(files, files.add('.', real, top));
    return { modelName, files };
  }
  if (!top.isDirectory()) {
    throw new UsageError(
      'MODEL_SPECIAL_FILE',
      `The model path is neither a file nor a directory: ${modelPath}`,
      { details: { path: modelPath } },
    );
  }
  let rootReal: string;
  try {
    rootReal = await realpath(absolute);
  } catch (err) {
    throw fromFsError(err, modelPath);
  }
  const walker = new Walker(rootReal, options);
  await walker.run();
  return { modelName, files: walker.files };
}

class Walker {
  readonly files: WalkedFiles;
  private readonly ignore: ReadonlySet<string>;
  /** Directories that lead to an `onlyPaths` entry; others need not be read. */
  private readonly onlyDirs: ReadonlySet<string> | undefined;
  private readonly byNfc = new Map<string, string>();
  private sinceYield = 0;
  private readonly prefix: string;

  constructor(
    private readonly root: string,
    private readonly options: WalkOptions,
  ) {
    this.prefix = root.endsWith(sep) ? root : root + sep;
    this.files = new WalkedFiles(this.prefix);
    this.ignore = new Set(options.ignorePaths);
    if (options.onlyPaths !== undefined) {
      const dirs = new Set<string>();
      for (const p of options.onlyPaths) {
        const parts = p.split('/');
        for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
      }
      this.onlyDirs = dirs;
    }
  }

  async run(): Promise<void> {
    const stack: string[] = [''];
    for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
      const { names, kinds } = this.list(dir);
      for (let i = 0; i < names.length; i++) {
        if (++this.sinceYield >= YIELD_EVERY) {
          this.sinceYield = 0;
          await new Promise<void>((r) => setImmediate(r));
          this.options.signal?.throwIfAborted();
        }
        const child = this.visit(dir, names[i]!, kinds[i]!);
        if (child !== undefined) stack.push(child);
      }
    }
  }

  /**
   * A directory's entry names and their kinds. Names are read as strings (one native call, no
   * Buffer per name); the kernel's bytes are only looked at when a name holds U+FFFD, which is
   * what an invalid UTF-8 sequence decodes to: then the directory is listed again as bytes and
   * every name must decode strictly (a genuine U+FFFD in a valid name passes).
   */
  private list(dir: string): { names: string[]; kinds: EntryKind[] } {
    const absDir = dir === '' ? this.root : this.prefix + dir;
    const names: string[] = [];
    const kinds: EntryKind[] = [];
    try {
      let suspect = false;
      for (const entry of readdirSync(absDir, { withFileTypes: true })) {
        if (entry.name.includes('\uFFFD')) suspect = true;
        names.push(entry.name);
        kinds.push(direntKind(entry));
      }
      if (!suspect) return { names, kinds };
      const raw = readdirSync(absDir, { encoding: 'buffer', withFileTypes: true });
      return { names: raw.map((e) => decodeName(dir, e.name)), kinds: raw.map(direntKind) };
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw fromFsError(err, dir === '' ? '.' : dir, 'list directory');
    }
  }

  /** Handles one directory entry; returns a relative directory to descend into, if any. */
  private visit(dir: string, name: string, listed: EntryKind): string | undefined {
    const rel = dir === '' ? name : `${dir}/${name}`;
    // Ignored paths are skipped before any other check, as the reference does.
    if (this.ignore.has(rel)) return undefined;
    const only = this.options.onlyPaths;
    if (only !== undefined && !only.has(rel) && !this.onlyDirs?.has(rel)) return undefined;
    // The directory part was checked when it was visited; a plain printable-ASCII name (no
    // backslash) that is not `.`/`..`, a drive letter or too long needs no further check.
    const plain =
      PLAIN_NAME.test(name) &&
      name !== '.' &&
      name !== '..' &&
      rel.length <= 4096 &&
      (dir !== '' || !DRIVE_LETTER.test(name));
    const problem = plain ? undefined : pathProblem(rel);
    if (problem !== undefined) {
      throw new UsageError('MODEL_NAME_INVALID', `Unsafe file name (${problem}): ${rel}`, {
        details: { path: rel, problem },
      });
    }
    // `rel` is checked (no empty, `.` or `..` parts), so plain concatenation equals path.join.
    const abs = this.prefix + rel;
    let kind = listed;
    let st: Stats | undefined;
    if (kind === 'unknown' || kind === 'file') {
      // d_type can be DT_UNKNOWN on some file systems; lstat tells for sure.
      st = this.lstat(abs, rel);
      kind = statsKind(st);
    }
    switch (kind) {
      case 'directory':
        if (only !== undefined && !this.onlyDirs?.has(rel)) return undefined;
        return rel;
      case 'file':
        if (only !== undefined && !only.has(rel)) return undefined;
        this.add(rel, undefined, st ?? this.lstat(abs, rel));
        return undefined;
      case 'symlink':
        if (only !== undefined && !only.has(rel)) return undefined;
        this.symlink(rel, abs);
        return undefined;
      case 'special':
      case 'unknown':
        throw specialFile(rel, 'it is a FIFO, socket or device');
    }
  }

  private symlink(rel: string, abs: string): void {
    if (!this.options.allowSymlinks) {
      throw new UsageError('MODEL_SYMLINK', `The model contains a symbolic link: ${rel}`, {
        details: { path: rel },
      });
    }
    let target: Stats;
    let real: string;
    try {
      target = statSync(abs);
      real = realpathSync(abs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') {
        throw specialFile(rel, 'it is a broken symbolic link');
      }
      throw fromFsError(err, rel);
    }
    if (real !== this.root && !real.startsWith(this.root + sep)) {
      throw new UsageError(
        'MODEL_SYMLINK_ESCAPE',
        `Symbolic link ${rel} points outside the model directory`,
        { details: { path: rel, target: real } },
      );
    }
    if (target.isDirectory()) {
      throw new UsageError(
        'MODEL_SYMLINK',
        `The model contains a symbolic link to a directory: ${rel}`,
        {
          details: { path: rel },
          hint: 'Links to directories are never followed, even with --allow-symlinks; replace the link with the directory or exclude it with --ignore-paths.',
        },
      );
    }
    if (!target.isFile()) throw specialFile(rel, 'it links to a FIFO, socket or device');
    // Open the resolved target, not the link, so a retargeted link cannot redirect the read;
    // the identity check at open time catches a swap of the target itself.
    this.add(rel, real, target);
  }

  private add(rel: string, target: string | undefined, st: Stats): void {
    // ASCII is already in NFC; normalising only other names keeps this cheap for big models.
    const nfc = ASCII.test(rel) ? rel : rel.normalize('NFC');
    const other = this.byNfc.get(nfc);
    if (other !== undefined) {
      throw new UsageError(
        'MODEL_NAME_COLLISION',
        `Two files have names that are equal after Unicode normalisation: ${JSON.stringify(other)} and ${JSON.stringify(rel)}`,
        { details: { paths: [other, rel] } },
      );
    }
    this.byNfc.set(nfc, rel);
    this.options.onFile(this.files, this.files.add(rel, target, st));
  }

  private lstat(abs: string, rel: string): Stats {
    try {
      return lstatSync(abs);
    } catch (err) {
      throw fromFsError(err, rel, 'stat');
    }
  }
}

type EntryKind = 'file' | 'directory' | 'symlink' | 'special' | 'unknown';

function decodeName(dir: string, raw: Buffer): string {
  try {
    return utf8.decode(raw);
  } catch {
    const shown = (dir === '' ? '' : `${dir}/`) + lossy.decode(raw);
    throw new UsageError('MODEL_NAME_INVALID', `File name is not valid UTF-8: ${shown}`, {
      details: { path: shown, problem: 'not valid UTF-8' },
    });
  }
}

function direntKind(entry: Dirent<Buffer> | Dirent): EntryKind {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'directory';
  if (entry.isSymbolicLink()) return 'symlink';
  if (entry.isFIFO() || entry.isSocket() || entry.isBlockDevice() || entry.isCharacterDevice())
    return 'special';
  return 'unknown';
}

function statsKind(st: Stats): EntryKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  return 'special';
}

function specialFile(rel: string, why: string): UsageError {
  return new UsageError('MODEL_SPECIAL_FILE', `Cannot hash ${rel}: ${why}`, {
    details: { path: rel },
  });
}

import { lstatSync, readdirSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, join, posix, resolve, sep } from 'node:path';
import { UsageError, fromFsError } from '../errors/index.js';
import {
  DEFAULT_ATTESTATIONS_NAME,
  DEFAULT_SIGNATURE_NAME,
  GIT_PATHS,
  comparePaths,
  pathProblem,
} from '../manifest/index.js';

/**
 * The files of a model, by the manifest's rules (manifest does not export its walker): git paths,
 * `model.sig` and `model.att.jsonl` at the root are skipped, names must be safe UTF-8 and distinct
 * after NFC, symlinks are refused unless allowed and always refused when they leave the root or
 * point at a directory, and FIFOs, sockets and devices are refused (opening one could block).
 */

export interface ModelEntry {
  /** Relative, `/`-separated; `.` for a single-file model. */
  readonly path: string;
  /** The last name component, for judging extensions (the file's own name for `.`). */
  readonly name: string;
  /** Absolute path to open (the resolved target for an allowed symlink). */
  readonly open: string;
  readonly size: number;
  readonly dev: number;
  readonly ino: number;
}

export interface ModelWalkOptions {
  readonly ignorePaths: readonly string[];
  readonly ignoreGitPaths: boolean;
  readonly allowSymlinks: boolean;
  readonly signal: AbortSignal | undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const YIELD_EVERY = 256;

/** Validated, normalised ignore paths (as the manifest records them). */
export function normaliseIgnorePaths(given: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of given) {
    const bad = (why: string) =>
      new UsageError('USAGE', `Ignore path ${JSON.stringify(raw)} is not valid: ${why}`, {
        details: { ignorePath: raw },
        hint: 'Ignore paths are relative to the model root, `/`-separated, without `..`.',
      });
    if (raw.startsWith('/') || /^[A-Za-z]:[\\/]/.test(raw)) throw bad('absolute path');
    const norm = posix.normalize(raw).replace(/\/+$/, '');
    if (norm === '.' || norm === '') throw bad('it would ignore the whole model');
    if (norm.split('/').includes('..')) throw bad('it leaves the model root');
    const problem = pathProblem(norm);
    if (problem !== undefined) throw bad(problem);
    if (!out.includes(norm)) out.push(norm);
  }
  return out;
}

export async function listModelFiles(
  modelPath: string,
  options: ModelWalkOptions,
): Promise<{ modelName: string; files: ModelEntry[] }> {
  const absolute = resolve(modelPath);
  const modelName = basename(absolute);
  let top: Stats;
  let real: string;
  try {
    // The path itself was named by the user, so a link there is followed.
    top = await stat(absolute);
    real = await realpath(absolute);
  } catch (err) {
    throw fromFsError(err, modelPath);
  }
  if (top.isFile()) {
    return {
      modelName,
      files: [
        { path: '.', name: modelName, open: real, size: top.size, dev: top.dev, ino: top.ino },
      ],
    };
  }
  if (!top.isDirectory()) {
    throw new UsageError(
      'MODEL_SPECIAL_FILE',
      `The model path is neither a file nor a directory: ${modelPath}`,
      { details: { path: modelPath } },
    );
  }
  const ignore = new Set([
    ...(options.ignoreGitPaths ? GIT_PATHS : []),
    DEFAULT_SIGNATURE_NAME,
    DEFAULT_ATTESTATIONS_NAME,
    ...normaliseIgnorePaths(options.ignorePaths),
  ]);
  const files: ModelEntry[] = [];
  const byNfc = new Map<string, string>();
  const stack = [''];
  let sinceYield = 0;
  for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
    let entries: Dirent<Buffer>[];
    try {
      entries = readdirSync(dir === '' ? real : join(real, dir), {
        encoding: 'buffer',
        withFileTypes: true,
      });
    } catch (err) {
      throw fromFsError(err, dir === '' ? '.' : dir, 'list directory');
    }
    for (const entry of entries) {
      if (++sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await new Promise<void>((r) => setImmediate(r));
        options.signal?.throwIfAborted();
      }
      let name: string;
      try {
        name = utf8.decode(entry.name);
      } catch {
        const shown = `${dir === '' ? '' : `${dir}/`}${entry.name.toString('latin1')}`;
        throw new UsageError('MODEL_NAME_INVALID', `File name is not valid UTF-8: ${shown}`, {
          details: { path: shown, problem: 'not valid UTF-8' },
        });
      }
      const rel = dir === '' ? name : `${dir}/${name}`;
      if (ignore.has(rel)) continue;
      const problem = pathProblem(rel);
      if (problem !== undefined) {
        throw new UsageError('MODEL_NAME_INVALID', `Unsafe file name (${problem}): ${rel}`, {
          details: { path: rel, problem },
        });
      }
      const abs = join(real, rel);
      let st: Stats;
      try {
        st = lstatSync(abs);
      } catch (err) {
        throw fromFsError(err, rel, 'stat');
      }
      let open = abs;
      if (st.isDirectory()) {
        stack.push(rel);
        continue;
      }
      if (st.isSymbolicLink()) {
        [open, st] = followLink(real, rel, abs, options.allowSymlinks);
      } else if (!st.isFile()) {
        throw special(rel, 'it is a FIFO, socket or device');
      }
      const nfc = rel.normalize('NFC');
      const other = byNfc.get(nfc);
      if (other !== undefined) {
        throw new UsageError(
          'MODEL_NAME_COLLISION',
          `Two files have names that are equal after Unicode normalisation: ${JSON.stringify(other)} and ${JSON.stringify(rel)}`,
          { details: { paths: [other, rel] } },
        );
      }
      byNfc.set(nfc, rel);
      files.push({ path: rel, name, open, size: st.size, dev: st.dev, ino: st.ino });
    }
  }
  files.sort((a, b) => comparePaths(a.path, b.path));
  return { modelName, files };
}

function followLink(root: string, rel: string, abs: string, allowed: boolean): [string, Stats] {
  if (!allowed) {
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
      throw special(rel, 'it is a broken symbolic link');
    }
    throw fromFsError(err, rel);
  }
  if (real !== root && !real.startsWith(root + sep)) {
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
        hint: 'Links to directories are never followed; replace the link with the directory or exclude it with --ignore-paths.',
      },
    );
  }
  if (!target.isFile()) throw special(rel, 'it links to a FIFO, socket or device');
  return [real, target];
}

function special(rel: string, why: string): UsageError {
  return new UsageError('MODEL_SPECIAL_FILE', `Cannot scan ${rel}: ${why}`, {
    details: { path: rel },
  });
}

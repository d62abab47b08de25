import {
  DEFAULT_ATTESTATIONS_NAME,
  DEFAULT_SIGNATURE_NAME,
  comparePaths,
  effectiveIgnorePaths,
  walkModel,
} from '../manifest/index.js';

/**
 * The files of a model, by exactly the manifest's rules (the manifest's own walker): git paths,
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

export async function listModelFiles(
  modelPath: string,
  options: ModelWalkOptions,
): Promise<{ modelName: string; files: ModelEntry[] }> {
  const ignorePaths = [
    ...effectiveIgnorePaths(options.ignorePaths, options.ignoreGitPaths),
    DEFAULT_SIGNATURE_NAME,
    DEFAULT_ATTESTATIONS_NAME,
  ];
  const { modelName, files } = await walkModel(modelPath, {
    allowSymlinks: options.allowSymlinks,
    ignorePaths,
    onlyPaths: undefined,
    signal: options.signal,
    onFile: () => undefined,
  });
  const entries = files.paths.map((path, i): ModelEntry => {
    const { size, dev, ino } = files.identity(i);
    const name = path === '.' ? modelName : path.slice(path.lastIndexOf('/') + 1);
    return { path, name, open: files.open(i), size, dev, ino };
  });
  entries.sort((a, b) => comparePaths(a.path, b.path));
  return { modelName, files: entries };
}

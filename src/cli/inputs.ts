import { isAbsolute, relative, resolve, sep } from 'node:path';
import { UsageError } from '../errors/index.js';
import { MAX_KEY_BYTES, readSmallFile } from '../model/index.js';
import type { Io } from './output.js';

/** The environment variable that may carry a key passphrase (never argv). */
export const PASSPHRASE_ENV = 'CAIRN_KEY_PASSPHRASE';

/**
 * The passphrase from `--passphrase-file` (first line, trailing newline removed) or the
 * CAIRN_KEY_PASSPHRASE variable; undefined when neither is set.
 */
export function readPassphrase(io: Io, passphraseFile: string | undefined): string | undefined {
  if (passphraseFile !== undefined) {
    const text = readSmallFile(resolve(io.cwd, passphraseFile), MAX_KEY_BYTES, 'Passphrase file')
      .toString('utf8')
      .replace(/\r?\n$/, '');
    if (text.length === 0) {
      throw new UsageError('USAGE', `Passphrase file is empty: ${passphraseFile}`);
    }
    return text;
  }
  const fromEnv = io.env[PASSPHRASE_ENV];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

/**
 * `--ignore-paths` values, as model-relative paths. Like the reference, a path is first resolved
 * against the current directory and used when it lies inside the model; otherwise a relative path
 * is taken as relative to the model root. Anything else is refused rather than silently dropped.
 */
export function modelRelativeIgnorePaths(
  io: Io,
  modelPath: string,
  given: readonly string[],
): string[] {
  const root = resolve(io.cwd, modelPath);
  return given.map((p) => {
    const fromCwd = relative(root, resolve(io.cwd, p));
    if (
      fromCwd !== '' &&
      !fromCwd.startsWith(`..${sep}`) &&
      fromCwd !== '..' &&
      !isAbsolute(fromCwd)
    ) {
      return fromCwd.split(sep).join('/');
    }
    if (!isAbsolute(p)) return p.replace(/^\.\//, '').replace(/\/+$/, '');
    throw new UsageError('USAGE', `Ignore path is outside the model: ${p}`, {
      hint: 'Give paths inside the model, relative to the model root or the current directory.',
    });
  });
}

export function parsePositiveInt(value: string, flag: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(
      'USAGE',
      `${flag} must be a positive integer, got ${JSON.stringify(value)}`,
    );
  }
  return Number(value);
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
  linkSync,
} from 'node:fs';
import { constants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError, fromFsError } from '../errors/index.js';

/** Upper bounds for small inputs read whole: bundles, keys, certificates, passphrase files. */
export const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;
export const MAX_KEY_BYTES = 64 * 1024;
export const MAX_CERT_BYTES = 1024 * 1024;

/**
 * Reads a small file whole, refusing anything larger than `limit` before reading it (and again if
 * it grew while being read), and anything that is not a regular file (a FIFO would block).
 */
export function readSmallFile(path: string, limit: number, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw fromFsError(err, path);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new UsageError('INPUT_UNREADABLE', `${what} is not a regular file: ${path}`, {
        details: { path },
      });
    }
    if (st.size > limit) {
      throw new UsageError(
        'INPUT_TOO_LARGE',
        `${what} is ${st.size} bytes, over the ${limit}-byte limit: ${path}`,
        { details: { path, size: st.size, limit } },
      );
    }
    const buf = Buffer.alloc(Math.min(limit + 1, st.size + 1));
    let len = 0;
    for (;;) {
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
      if (len > limit) {
        throw new UsageError(
          'INPUT_TOO_LARGE',
          `${what} grew past the ${limit}-byte limit: ${path}`,
          {
            details: { path, limit },
          },
        );
      }
      if (len === buf.length) break;
    }
    return buf.subarray(0, len);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw fromFsError(err, path);
  } finally {
    closeSync(fd);
  }
}

export interface AtomicWriteOptions {
  /** Replace an existing file (default: refuse with OUTPUT_EXISTS). */
  readonly overwrite?: boolean;
  /** File mode for the new file, e.g. 0o600 for private keys. */
  readonly mode?: number;
}

/**
 * Writes a file so that readers see either nothing or the whole new content: write a temporary
 * file in the same directory, fsync, then rename over the target. Nothing is left behind on error.
 */
export function writeFileAtomic(
  path: string,
  data: Uint8Array,
  options: AtomicWriteOptions = {},
): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    if (!options.overwrite) assertAbsent(path);
    fd = openSync(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
      options.mode ?? 0o644,
    );
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    // fsync before rename so a crash cannot leave an empty file under the final name.
    fsyncQuiet(fd);
    closeSync(fd);
    fd = undefined;
    if (options.overwrite) {
      renameSync(tmp, path);
    } else {
      // link() fails with EEXIST instead of replacing: no check-then-write race.
      try {
        linkSync(tmp, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new UsageError('OUTPUT_EXISTS', `Refusing to overwrite ${path}`, {
            details: { path },
          });
        }
        throw err;
      }
      unlinkSync(tmp);
    }
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // the temporary file may not exist; nothing to clean
    }
    if (err instanceof UsageError) throw err;
    throw new UsageError('OUTPUT_UNWRITABLE', `Cannot write ${path}: ${(err as Error).message}`, {
      cause: err,
      details: { path },
    });
  }
}

function assertAbsent(path: string): void {
  if (existsSync(path)) {
    throw new UsageError('OUTPUT_EXISTS', `Refusing to overwrite ${path}`, { details: { path } });
  }
}

function fsyncQuiet(fd: number): void {
  try {
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync (EINVAL); the rename is still atomic there.
  }
}

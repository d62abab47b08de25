import { UsageError } from './cairn-error.js';

/** Maps a Node filesystem error on `path` to a CairnError with a useful code. */
export function fromFsError(err: unknown, path: string, action = 'read'): UsageError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  // Errno strings are open-ended; everything not named here is INPUT_UNREADABLE.
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check
  switch (code) {
    case 'ENOENT':
      return new UsageError('INPUT_NOT_FOUND', `No such file or directory: ${path}`, {
        cause: err,
        details: { path },
      });
    case 'EACCES':
    case 'EPERM':
      return new UsageError('INPUT_UNREADABLE', `Permission denied to ${action}: ${path}`, {
        cause: err,
        details: { path },
      });
    default:
      return new UsageError('INPUT_UNREADABLE', `Cannot ${action} ${path} (${code ?? 'error'})`, {
        cause: err,
        details: { path },
      });
  }
}

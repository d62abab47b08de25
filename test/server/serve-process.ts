import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { repoRoot } from '../helpers.js';

/** The real `cairn serve` binary as users run it, for tests that need a process to kill. */

const CLI = join(repoRoot, 'bin', 'cairn.js');

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** The bootstrap admin token, printed only by the first start on a data directory. */
  readonly token: string | undefined;
  /** Everything the process wrote to stderr so far (its logs). */
  readonly stderr: () => string;
}

/** Starts `cairn serve --port 0 --json …args` and resolves with its startup information. */
export async function startServe(t: TestContext, args: readonly string[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CAIRN_LOG_LEVEL: 'warn' },
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 30_000);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      let parsed: Record<string, unknown>;
      try {
        // The startup information is one JSON document, possibly over several chunks.
        parsed = JSON.parse(out) as Record<string, unknown>;
      } catch {
        return;
      }
      clearTimeout(timer);
      resolve(parsed);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${String(code)}: ${err}`));
    });
  });
  const token = info['bootstrapAdminToken'];
  return {
    child,
    url: info['url'] as string,
    token: typeof token === 'string' ? token : undefined,
    stderr: () => err,
  };
}

/** SIGTERM, then the exit code (0 for a clean shutdown). */
export async function stopServe(s: ServeProcess): Promise<number | null> {
  if (s.child.exitCode !== null) return s.child.exitCode;
  const exited = new Promise<number | null>((resolve) => s.child.on('exit', resolve));
  s.child.kill('SIGTERM');
  return exited;
}

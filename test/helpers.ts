import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/index.js';

/** The repository root (tests run from dist/test/…). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fixtures = join(repoRoot, 'test', 'fixtures');
export const keyed = join(fixtures, 'oms-keyed');
/** ../shared beside the repository: upstream vectors are read from there, never committed. */
export const sharedVectors = resolve(repoRoot, '..', 'shared', 'vectors');

/**
 * Returns the shared vectors directory, or skips the test loudly when it is absent.
 * Under CI=true a missing ../shared is a failure, never a skip.
 */
export function requireShared(t: TestContext): string | undefined {
  if (existsSync(sharedVectors)) return sharedVectors;
  if (process.env['CI'] === 'true') {
    throw new Error(`../shared/vectors is absent at ${sharedVectors}; CI must have it`);
  }
  console.warn(
    `\n*** SKIPPING ${t.name}: ${sharedVectors} is absent (upstream vectors are read from ../shared) ***\n`,
  );
  t.skip('../shared absent');
  return undefined;
}

/** A fresh temporary directory, removed after the test. */
export function tempDir(t: TestContext, prefix = 'cairn-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A writable copy of the interop vector model. */
export function copyKeyedModel(t: TestContext): string {
  const dir = join(tempDir(t), 'model');
  cpSync(join(keyed, 'model'), dir, { recursive: true });
  return dir;
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = Record<string, unknown>>(): T;
}

/** Runs the CLI in-process with captured output. */
export async function runCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliRun> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  const code = await main(['node', 'cairn', ...args], {
    stdout: out,
    stderr: err,
    env: options.env ?? {},
    cwd: options.cwd ?? repoRoot,
  });
  const stdout = Buffer.concat(chunks.out).toString('utf8');
  const stderr = Buffer.concat(chunks.err).toString('utf8');
  return {
    code,
    stdout,
    stderr,
    json<T>() {
      try {
        return JSON.parse(stdout) as T;
      } catch {
        throw new Error(`stdout is not JSON (exit ${code}):\n${stdout}\nstderr:\n${stderr}`);
      }
    },
  };
}

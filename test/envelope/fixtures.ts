// Test helpers shared by the envelope, keys, sign and verify tests: fixture paths, the shared
// vector directory (read in place, never copied), and small manifest builders.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { hashBytes, type HashAlgorithm } from '../../src/digest/index.js';
import { isCairnError, type CairnError } from '../../src/errors/index.js';
import { roleForPath, type Manifest, type Resource } from '../../src/manifest/index.js';

function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}

export const repoRoot = findRepoRoot();
export const keyedDir = path.join(repoRoot, 'test', 'fixtures', 'oms-keyed');
export const sharedDir = path.resolve(repoRoot, '..', 'shared');

export function keyed(name: string): Buffer {
  return readFileSync(path.join(keyedDir, name));
}

/**
 * The shared vectors directory, or undefined after skipping the test loudly. In CI
 * (`CI=true`) a missing directory fails the test instead: the vectors must be there.
 */
export function sharedOrSkip(t: TestContext): string | undefined {
  if (existsSync(sharedDir)) return sharedDir;
  const message = `${sharedDir} absent: /work/shared vectors not available, skipping`;
  if (process.env.CI === 'true') assert.fail(`${message} — not allowed in CI`);
  console.warn(`WARNING: ${message}`);
  t.skip(message);
  return undefined;
}

export function readShared(shared: string, ...parts: string[]): Buffer {
  return readFileSync(path.join(shared, ...parts));
}

/** Asserts that `fn` throws a CairnError with `code`, and returns it. */
export function throwsCode(fn: () => unknown, code: string): CairnError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  if (!isCairnError(caught)) assert.fail(`expected CairnError ${code}, got ${String(caught)}`);
  const error = caught;
  assert.equal(error.code, code, `${error.code}: ${error.message}`);
  return error;
}

export async function rejectsCode(p: Promise<unknown>, code: string): Promise<CairnError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  if (!isCairnError(caught)) assert.fail(`expected CairnError ${code}, got ${String(caught)}`);
  const error = caught;
  assert.equal(error.code, code, `${error.code}: ${error.message}`);
  return error;
}

export function fileResource(
  name: string,
  content: string | Uint8Array,
  hash: HashAlgorithm = 'sha256',
): Resource {
  return {
    name,
    path: name,
    algorithm: hash,
    digest: hashBytes(hash, typeof content === 'string' ? Buffer.from(content) : content),
    role: roleForPath(name),
  };
}

/** A files/sha256 manifest of the given (name, content) pairs, in the order given. */
export function filesManifest(
  files: readonly (readonly [string, string | Uint8Array])[],
  options: { modelName?: string; ignorePaths?: readonly string[]; hash?: HashAlgorithm } = {},
): Manifest {
  const hash = options.hash ?? 'sha256';
  return {
    modelName: options.modelName ?? 'model',
    serialization: {
      method: 'files',
      hashType: hash,
      allowSymlinks: false,
      ignorePaths: options.ignorePaths ?? ['.git', '.gitattributes', '.github', '.gitignore'],
    },
    resources: files.map(([n, c]) => fileResource(n, c, hash)),
  };
}

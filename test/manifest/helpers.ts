import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { isCairnError } from '../../src/errors/index.js';

/** The repository root (tests run from dist/test/manifest). */
export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const VECTORS = join(REPO, 'test', 'fixtures', 'oms-keyed');
export const VECTOR_MODEL = join(VECTORS, 'model');

export interface PayloadResource {
  name: string;
  algorithm: string;
  digest: string;
}

export interface VectorPayload {
  subject: { name: string; digest: { sha256: string } }[];
  predicate: {
    serialization: {
      method: string;
      hash_type: string;
      shard_size?: number;
      allow_symlinks: boolean;
      ignore_paths: string[];
    };
    resources: PayloadResource[];
  };
}

export function readPayload(name: string): VectorPayload {
  return JSON.parse(
    readFileSync(join(VECTORS, 'payloads', `${name}.payload.json`), 'utf8'),
  ) as VectorPayload;
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-manifest-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `files` (relative path → content) under `root`. */
export function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Deterministic pseudo-random bytes (SHA-256 counter mode), so failures reproduce. */
export function patternBytes(size: number, seed = 'cairn'): Buffer {
  const out = Buffer.alloc(size);
  let off = 0;
  for (let i = 0; off < size; i++) {
    const block = createHash('sha256').update(`${seed}:${i}`).digest();
    off += block.copy(out, off);
  }
  return out;
}

/** Asserts that `promise` rejects with a CairnError of `code`, and returns that error. */
export async function rejectsWithCode(promise: Promise<unknown>, code: string) {
  try {
    await promise;
  } catch (err) {
    assert.ok(isCairnError(err), `expected a CairnError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected rejection with ${code}, but it resolved`);
}

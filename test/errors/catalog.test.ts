import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ERROR_CATALOG,
  UsageError,
  VerificationError,
  exitCodeForKind,
  httpStatusForCode,
  type ErrorCode,
} from '../../src/errors/index.js';
import { repoRoot } from '../helpers.js';

const doc = readFileSync(join(repoRoot, 'docs', 'errors.md'), 'utf8');
const codes = Object.keys(ERROR_CATALOG) as ErrorCode[];

test('docs/errors.md has an entry for every code with its exit code and HTTP status', () => {
  const problems: string[] = [];
  for (const code of codes) {
    const { kind } = ERROR_CATALOG[code];
    const m = new RegExp(
      `^### \`${code}\`\\n+exit ${exitCodeForKind(kind)} · HTTP ${httpStatusForCode(code)} · ${kind}$`,
      'm',
    );
    if (!m.test(doc)) problems.push(code);
  }
  assert.deepEqual(problems, []);
});

test('docs/errors.md lists no code the catalog does not have', () => {
  const documented = [...doc.matchAll(/^### `([A-Z0-9_]+)`/gm)].map((m) => m[1]!);
  assert.deepEqual(
    documented.filter((c) => !(c in ERROR_CATALOG)),
    [],
  );
  assert.equal(new Set(documented).size, documented.length, 'a code is documented twice');
});

test('exit codes follow DESIGN.md §5', () => {
  assert.equal(exitCodeForKind('verification'), 1);
  assert.equal(exitCodeForKind('usage'), 2);
  assert.equal(exitCodeForKind('validation'), 2);
  assert.equal(exitCodeForKind('infra'), 3);
  assert.equal(new VerificationError('MODEL_MISMATCH', 'x').exitCode, 1);
  assert.equal(new UsageError('INPUT_NOT_FOUND', 'x').exitCode, 2);
});

test('every catalog entry has a summary and an actionable hint', () => {
  for (const code of codes) {
    const e = ERROR_CATALOG[code];
    assert.ok(e.summary.length > 10, code);
    assert.ok(e.hint.length > 10, code);
  }
});

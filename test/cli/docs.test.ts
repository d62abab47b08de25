import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { buildProgram } from '../../src/cli/index.js';
import { repoRoot } from '../helpers.js';

const doc = readFileSync(join(repoRoot, 'docs', 'cli.md'), 'utf8');

function section(name: string): string | undefined {
  const start = doc.indexOf(`## \`cairn ${name}`);
  if (start === -1) return undefined;
  const next = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, next === -1 ? undefined : next);
}

test('docs/cli.md documents every command and every visible option', () => {
  const program = buildProgram(
    { stdout: new PassThrough(), stderr: new PassThrough(), env: {}, cwd: repoRoot },
    () => undefined,
  );
  const missing: string[] = [];
  for (const cmd of program.commands) {
    const text = section(cmd.name());
    if (text === undefined) {
      missing.push(`command ${cmd.name()}`);
      continue;
    }
    for (const opt of cmd.options) {
      if (opt.hidden || opt.long === undefined) continue;
      if (!text.includes(`\`${opt.long}`) && !text.includes(` ${opt.long}`))
        missing.push(`${cmd.name()} ${opt.long}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('docs/cli.md documents no command that does not exist', () => {
  const program = buildProgram(
    { stdout: new PassThrough(), stderr: new PassThrough(), env: {}, cwd: repoRoot },
    () => undefined,
  );
  const names = new Set(program.commands.map((c) => c.name()));
  const documented = [...doc.matchAll(/^## `cairn ([a-z-]+)/gm)].map((m) => m[1]!);
  assert.deepEqual(
    documented.filter((n) => !names.has(n)),
    [],
  );
  assert.ok(documented.length >= 6);
});

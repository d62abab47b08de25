import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/index.js';
import { repoRoot } from '../helpers.js';

const doc = readFileSync(join(repoRoot, 'docs', 'cli.md'), 'utf8');

function section(path: string): string | undefined {
  const heading = `## \`cairn ${path}`;
  let start = doc.indexOf(heading);
  // `cairn trust` must not match the section of `cairn trust init`.
  while (start !== -1 && !/^[`\s]/.test(doc.charAt(start + heading.length))) {
    start = doc.indexOf(heading, start + 1);
  }
  if (start === -1) return undefined;
  const next = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, next === -1 ? undefined : next);
}

/** Every runnable command, as its path below `cairn` ("verify", "trust init"). */
function leafCommands(cmd: Command, prefix: string[] = []): [string, Command][] {
  return cmd.commands.flatMap((c): [string, Command][] => {
    const path = [...prefix, c.name()];
    return c.commands.length > 0 ? leafCommands(c, path) : [[path.join(' '), c]];
  });
}

function program(): Command {
  return buildProgram(
    { stdout: new PassThrough(), stderr: new PassThrough(), env: {}, cwd: repoRoot },
    () => undefined,
  );
}

test('docs/cli.md documents every command and every visible option', () => {
  const missing: string[] = [];
  for (const [path, cmd] of leafCommands(program())) {
    const text = section(path);
    if (text === undefined) {
      missing.push(`command ${path}`);
      continue;
    }
    for (const opt of cmd.options) {
      if (opt.hidden || opt.long === undefined) continue;
      if (!text.includes(`\`${opt.long}`) && !text.includes(` ${opt.long}`)) {
        missing.push(`${path} ${opt.long}`);
      }
    }
  }
  assert.deepEqual(missing, []);
});

test('docs/cli.md documents no command that does not exist', () => {
  const paths = new Set(leafCommands(program()).map(([p]) => p));
  const documented = [...doc.matchAll(/^## `cairn ([a-z0-9 -]+?)(?: [A-Z<[]|`)/gm)].map(
    (m) => m[1]!,
  );
  assert.deepEqual(
    documented.filter((n) => !paths.has(n)),
    [],
  );
  assert.ok(documented.length >= 6);
});

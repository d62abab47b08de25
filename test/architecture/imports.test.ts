import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** DESIGN.md §3: imports point down this list, never up; `errors` sits beneath everything. */
const LAYERS = [
  'errors',
  'digest',
  'manifest',
  'envelope',
  'keys',
  'sign',
  'verify',
  'model',
  'attest',
  'scan',
  'policy',
  'store',
  'tlog',
  'registry',
  'server',
  'cli',
] as const;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const srcRoot = join(repoRoot, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

function domainOf(file: string): string | undefined {
  const rel = relative(srcRoot, file).split(sep);
  return rel.length > 1 ? rel[0] : undefined;
}

interface Edge {
  readonly from: string;
  readonly spec: string;
  readonly target: string;
}

function importEdges(): Edge[] {
  const edges: Edge[] = [];
  // Static imports, dynamic `import()`, and the lazy `createRequire(import.meta.url)('./x.js')`
  // loads (zod schemas, optional libraries), which must point the same way.
  const pattern =
    /(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|createRequire\(import\.meta\.url\)\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const file of sourceFiles(srcRoot)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(pattern)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec === undefined || !spec.startsWith('.')) continue;
      edges.push({ from: file, spec, target: resolve(dirname(file), spec) });
    }
  }
  return edges;
}

test('every src file belongs to a known layer', () => {
  const unknown = sourceFiles(srcRoot)
    .map(domainOf)
    .filter((d): d is string => d !== undefined && !(LAYERS as readonly string[]).includes(d));
  assert.deepEqual([...new Set(unknown)], [], 'add new domains to LAYERS and DESIGN.md §3');
});

test('imports point down the layer list, through index.ts, and sign/verify stay apart', () => {
  const violations: string[] = [];
  for (const e of importEdges()) {
    const from = domainOf(e.from);
    const to = domainOf(e.target);
    if (from === undefined || to === undefined || from === to) continue; // src/index.ts is the package door
    const where = `${relative(repoRoot, e.from)} imports ${e.spec}`;
    const door = relative(join(srcRoot, to), e.target);
    if (door !== 'index.js' && door !== 'constants.js')
      violations.push(`${where}: not through ${to}/index.ts`);
    const fi = LAYERS.indexOf(from as (typeof LAYERS)[number]);
    const ti = LAYERS.indexOf(to as (typeof LAYERS)[number]);
    if (ti > fi) violations.push(`${where}: ${from} may not import ${to} (upward)`);
    if ((from === 'sign' && to === 'verify') || (from === 'verify' && to === 'sign')) {
      violations.push(`${where}: sign and verify never import each other`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the check itself catches a wrong arrow', () => {
  // Guard against a check that cannot fail: the layer table must order these known pairs.
  assert.ok(LAYERS.indexOf('digest') < LAYERS.indexOf('manifest'));
  assert.ok(LAYERS.indexOf('verify') < LAYERS.indexOf('model'));
  assert.ok(importEdges().length > 10, 'import scanner found too few edges');
});

test('libraries never print or exit: console and process.exit only in src/cli', () => {
  const offenders = sourceFiles(srcRoot)
    .filter((f) => domainOf(f) !== 'cli')
    .filter((f) => /\bconsole\.|process\.exit\(/.test(readFileSync(f, 'utf8')))
    .map((f) => relative(repoRoot, f));
  assert.deepEqual(offenders, []);
});

test('a constants.ts light door re-exports only from modules that import nothing', () => {
  // constants.ts exists so the CLI can declare option choices without loading a whole domain;
  // it stays light only if what it re-exports imports nothing at all.
  const doors = sourceFiles(srcRoot).filter((f) => f.endsWith(`${sep}constants.ts`));
  assert.ok(doors.length > 0, 'expected at least one constants.ts door');
  const offenders: string[] = [];
  for (const door of doors) {
    const text = readFileSync(door, 'utf8');
    for (const m of text.matchAll(/from\s+['"]([^'"]+)['"]/g)) {
      const spec = m[1] ?? '';
      if (!spec.startsWith('./')) {
        offenders.push(`${relative(repoRoot, door)} imports ${spec}`);
        continue;
      }
      const target = resolve(dirname(door), spec).replace(/\.js$/, '.ts');
      if (/(?:^|\s)(?:import|export)\s[^;]*?from\s+['"]/m.test(readFileSync(target, 'utf8')))
        offenders.push(`${relative(repoRoot, target)} (re-exported by a constants door) imports`);
    }
  }
  assert.deepEqual(offenders, []);
});

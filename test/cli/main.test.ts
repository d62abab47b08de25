import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { main as fullMain } from '../../src/cli/index.js';
import { main } from '../../src/cli/main.js';
import { copyKeyedModel, repoRoot } from '../helpers.js';

type Main = typeof main;

async function run(entry: Main, args: readonly string[]) {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  const code = await entry(['node', 'cairn', ...args], {
    stdout: out,
    stderr: err,
    env: {},
    cwd: repoRoot,
  });
  return {
    code,
    stdout: Buffer.concat(chunks.out).toString('utf8'),
    stderr: Buffer.concat(chunks.err).toString('utf8'),
  };
}

void describe('cli entry: the digest fast path', () => {
  void it('answers every digest command line exactly as the full program', async (t) => {
    const model = copyKeyedModel(t);
    const lines: string[][] = [
      ['digest', model, '--json'],
      ['digest', model, '--manifest'],
      ['digest', model, '--hash', 'blake3', '--shard_size', '1000', '--json'],
      ['digest', model, '--ignore-paths', 'config.json', '--no-ignore-git-paths'],
      ['digest', '--help'],
      ['digest', model, '--bogus', '--json'],
      ['digest', model, '--hash', 'md5'],
      ['digest', join(model, 'absent'), '--json'],
      ['digest'],
    ];
    for (const args of lines) {
      assert.deepEqual(await run(main, args), await run(fullMain, args), args.join(' '));
    }
  });

  void it('every other command line goes to the full program', async () => {
    for (const args of [['--version'], ['verify', '--help'], ['help', 'digest'], ['bogus']]) {
      assert.deepEqual(await run(main, args), await run(fullMain, args), args.join(' '));
    }
  });

  void it('`cairn digest` loads no signing, verification, policy or registry code', () => {
    // A fresh process with a loader hook that names every module of ours it loads.
    const hook = `export async function load(url, context, next) {
      if (url.includes('/dist/src/')) process.stderr.write('LOADED ' + url + '\\n');
      return next(url, context);
    }`;
    const register = `import { register } from 'node:module';
      register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
    const res = spawnSync(
      process.execPath,
      [
        '--import',
        `data:text/javascript,${encodeURIComponent(register)}`,
        join(repoRoot, 'bin', 'cairn.js'),
        'digest',
        join(repoRoot, 'package.json'),
        '--json',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(res.status, 0, res.stderr);
    const domains = new Set(
      [...res.stderr.matchAll(/LOADED \S*\/dist\/src\/([^/]+)\//g)].map((m) => m[1]),
    );
    assert.ok(domains.has('manifest') && domains.has('cli'), [...domains].join(' '));
    for (const heavy of ['sign', 'verify', 'envelope', 'policy', 'attest', 'registry', 'scan']) {
      assert.ok(!domains.has(heavy), `digest loaded ${heavy}: ${[...domains].join(' ')}`);
    }
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { main as fullMain } from '../../src/cli/index.js';
import { main } from '../../src/cli/main.js';
import { copyKeyedModel, repoRoot, tempDir } from '../helpers.js';

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

void describe('the launcher, bin/cairn.js, run as users run `cairn`', () => {
  const launcher = join(repoRoot, 'bin', 'cairn.js');
  // The launcher execs the `node` on PATH: make that the one running the tests.
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };

  void it("passes every argument through unchanged and returns node's exit code", async (t) => {
    const dir = tempDir(t);
    const awkward = join(dir, `a b "c" $HOME 'd' \\ *.txt`);
    writeFileSync(awkward, 'weights');
    const res = spawnSync(launcher, ['digest', awkward, '--json'], { encoding: 'utf8', env });
    assert.equal(res.status, 0, res.stderr);
    const inProcess = await run(main, ['digest', awkward, '--json']);
    assert.equal(res.stdout, inProcess.stdout);

    const missing = spawnSync(launcher, ['digest', join(dir, 'no such model')], {
      encoding: 'utf8',
      env,
    });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^error\[INPUT_NOT_FOUND\]: .*no such model/m);
  });

  void it('starts node with the young generation capped', () => {
    const probe = `process.stderr.write('EXECARGV ' + JSON.stringify(process.execArgv) + '\\n');`;
    const res = spawnSync(launcher, ['--version'], {
      encoding: 'utf8',
      env: { ...env, NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(probe)}` },
    });
    assert.equal(res.status, 0, res.stderr);
    const execArgv = JSON.parse(/^EXECARGV (.*)$/m.exec(res.stderr)![1]!) as string[];
    assert.ok(execArgv.includes('--max-semi-space-size=2'), res.stderr);
  });
});

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

  void it('answers keygen, sign, verify and inspect command lines as the full program', async (t) => {
    const model = copyKeyedModel(t);
    const keyed = join(repoRoot, 'test', 'fixtures', 'oms-keyed');
    const sig = join(model, '..', 'light.sig');
    const lines: string[][] = [
      [
        'verify',
        model,
        '--signature',
        join(keyed, 'model.sig'),
        '--public-key',
        join(keyed, 'p256.pub.pem'),
        '--json',
      ],
      [
        'verify',
        model,
        '--signature',
        join(keyed, 'model.sig'),
        '--public-key',
        join(keyed, 'other-p256.pub.pem'),
        '--json',
      ],
      ['verify', model, '--signature', join(keyed, 'model.sig')],
      ['inspect', join(keyed, 'model.cert.sig'), '--json'],
      ['inspect', join(keyed, 'neg-media-type.sig')],
      [
        'sign',
        model,
        '--private-key',
        join(keyed, 'p256.key.pem'),
        '--signature',
        sig,
        '--allow-unencrypted-key',
        '--force',
        '--json',
      ],
      ['sign', model, '--json'],
      ['keygen', '--type', 'rsa', '--out', join(model, '..', 'k.pem'), '--json'],
      ['sign', '--help'],
      ['keygen'],
    ];
    for (const args of lines) {
      assert.deepEqual(await run(main, args), await run(fullMain, args), args.join(' '));
    }
  });

  void it('every other command line goes to the full program', async () => {
    for (const args of [['--version'], ['help', 'verify'], ['help', 'digest'], ['bogus']]) {
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

  void it('`cairn keygen` and `cairn sign` load no zod and no other command', (t) => {
    // zod (~75 ms to load) is only for parsing untrusted input; signing never needs it.
    const model = copyKeyedModel(t);
    const keyed = join(repoRoot, 'test', 'fixtures', 'oms-keyed');
    for (const args of [
      ['keygen', '--out', join(model, '..', 'fresh.pem')],
      [
        'sign',
        model,
        '--private-key',
        join(keyed, 'p256.key.pem'),
        '--allow-unencrypted-key',
        '--signature',
        join(model, '..', 'fresh.sig'),
      ],
    ]) {
      const { status, stderr, loaded } = modulesLoaded(args);
      assert.equal(status, 0, stderr);
      assert.ok(
        loaded.some((u) => u.includes('/dist/src/keys/')),
        loaded.join(' '),
      );
      assert.deepEqual(zodModules(loaded), [], `${args[0]} imported zod`);
      const domains = new Set(
        loaded.flatMap((u) => [...u.matchAll(/\/dist\/src\/([^/]+)\//g)].map((m) => m[1])),
      );
      for (const heavy of ['verify', 'policy', 'attest', 'registry', 'scan', 'server', 'store']) {
        assert.ok(!domains.has(heavy), `${args[0]} loaded ${heavy}: ${[...domains].join(' ')}`);
      }
      const registers = loaded.filter((u) => /\/cli\/[a-z-]+-register\.js$/.test(u));
      assert.deepEqual(
        registers.map((u) => u.replace(/.*\/cli\//, '')),
        ['sign-register.js'],
        `${args[0]} loaded other commands' declarations`,
      );
    }
  });

  void it('`cairn verify` of a well-formed bundle loads no zod; a bad one still gets its issues', (t) => {
    // The bundle and statement schemas' zod-free fast paths (envelope/bundle.ts) take every
    // well-formed bundle; zod is loaded only to describe what is wrong with a bad one.
    const model = copyKeyedModel(t);
    const keyed = join(repoRoot, 'test', 'fixtures', 'oms-keyed');
    const verify = (signature: string) =>
      modulesLoaded([
        'verify',
        model,
        '--signature',
        signature,
        '--public-key',
        join(keyed, 'p256.pub.pem'),
        '--json',
      ]);
    const good = verify(join(keyed, 'model.sig'));
    assert.equal(good.status, 0, good.stderr);
    assert.ok(
      good.loaded.some((u) => u.includes('/dist/src/verify/')),
      good.loaded.join(' '),
    );
    assert.deepEqual(zodModules(good.loaded), [], 'verify imported zod');

    const bad = JSON.parse(readFileSync(join(keyed, 'model.sig'), 'utf8')) as {
      dsseEnvelope: { signatures: { keyid: unknown }[] };
    };
    bad.dsseEnvelope.signatures[0]!.keyid = 7;
    const badPath = join(model, '..', 'bad.sig');
    writeFileSync(badPath, JSON.stringify(bad));
    const refused = verify(badPath);
    assert.notEqual(refused.status, 0);
    const error = (JSON.parse(refused.stdout) as { error: { code: string; details: unknown } })
      .error;
    assert.equal(error.code, 'BUNDLE_INVALID', refused.stdout);
    assert.match(JSON.stringify(error.details), /dsseEnvelope\.signatures\[0\]\.keyid/);
    assert.notDeepEqual(zodModules(refused.loaded), [], 'the issues come from the zod schema');
  });
});

/** Runs the CLI with hooks that print every module it loads (ESM imports and `require`s). */
function modulesLoaded(args: readonly string[]): {
  status: number | null;
  stdout: string;
  stderr: string;
  loaded: string[];
} {
  const hook = `export async function load(url, context, next) {
    if (url.includes('/dist/src/') || url.includes('/node_modules/')) process.stderr.write('LOADED ' + url + '\\n');
    return next(url, context);
  }`;
  // Lazy loads go through createRequire, which the hook above does not see in Node 20.
  const register = `import Module, { register } from 'node:module';
    register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});
    const original = Module.prototype.require;
    Module.prototype.require = function (id) {
      process.stderr.write('LOADED require:' + id + '\\n');
      return original.call(this, id);
    };`;
  const res = spawnSync(
    process.execPath,
    [
      '--import',
      `data:text/javascript,${encodeURIComponent(register)}`,
      join(repoRoot, 'bin', 'cairn.js'),
      ...args,
    ],
    { encoding: 'utf8' },
  );
  const loaded = [...res.stderr.matchAll(/LOADED (\S+)/g)].map((m) => m[1]!);
  return { status: res.status, stdout: res.stdout, stderr: res.stderr, loaded };
}

function zodModules(loaded: readonly string[]): string[] {
  return loaded.filter((u) => u.includes('/node_modules/zod/') || /zod|-schema\.js/.test(u));
}

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import { Command, CommanderError } from 'commander';
import { buildProgram } from '../../src/cli/index.js';
import { printError, printJson, type Io } from '../../src/cli/output.js';
import { registerScanCommands } from '../../src/cli/scan.js';
import { UsageError, toCairnError } from '../../src/errors/index.js';
import { repoRoot, runCli, tempDir, type CliRun } from '../helpers.js';
import { protocol0System, torchStateDictPickle, torchZip, validSafetensors } from './builders.js';

const wired = buildProgram(
  { stdout: new PassThrough(), stderr: new PassThrough(), env: {}, cwd: repoRoot },
  () => undefined,
).commands.some((c) => c.name() === 'scan');

/**
 * Runs `cairn scan …` through the real CLI once `scan` is wired into src/cli/index.ts; until then
 * through a program with the same error handling as `main`.
 */
async function cairnScan(args: readonly string[], cwd = repoRoot): Promise<CliRun> {
  if (wired) return runCli(['scan', ...args], { cwd });
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  const io: Io = { stdout: out, stderr: err, env: {}, cwd };
  let code = 0;
  const program = new Command('cairn')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) });
  registerScanCommands(program, io, (c) => {
    code = c;
  });
  const json = args.includes('--json');
  try {
    await program.parseAsync(['scan', ...args], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      const usage = new UsageError('USAGE', e.message);
      if (json) printJson(io, { ok: false, error: usage.toJSON() });
      code = usage.exitCode;
    } else {
      const ce = toCairnError(e);
      if (json) printJson(io, { ok: false, error: ce.toJSON() });
      else printError(io, ce);
      code = ce.exitCode;
    }
  }
  const stdout = Buffer.concat(chunks.out).toString('utf8');
  const stderr = Buffer.concat(chunks.err).toString('utf8');
  return {
    code,
    stdout,
    stderr,
    json<T>() {
      return JSON.parse(stdout) as T;
    },
  };
}

function fixture(t: TestContext, evil: boolean): string {
  const dir = join(tempDir(t), 'model');
  mkdirSync(dir);
  writeFileSync(join(dir, 'model.safetensors'), validSafetensors());
  writeFileSync(
    join(dir, 'pytorch_model.bin'),
    torchZip(evil ? protocol0System() : torchStateDictPickle(['w'])),
  );
  return dir;
}

interface ScanJson {
  ok: boolean;
  failOn: string;
  error?: { code: string };
  report: { findings: { file: string; callable?: string; offset?: number; member?: string }[] };
}

describe(`cairn scan (${wired ? 'through main' : 'registered on a bare program'})`, () => {
  test('a clean model exits 0 and says so', async (t) => {
    const run = await cairnScan([fixture(t, false)]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Scanned 2 files of model \(1 safetensors, 1 pytorch-zip\)/);
    assert.match(run.stdout, /No findings \(fail-on high\)/);
    assert.equal(run.stderr, '');
  });

  test('a malicious pickle exits 1 and names file, member, offset and callable', async (t) => {
    const run = await cairnScan([fixture(t, true)]);
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      /CRITICAL\s+pytorch_model\.bin › archive\/data\.pkl @ 0\s+GLOBAL os\.system/,
    );
    assert.match(run.stdout, /with \("echo hi"\)/);
    assert.match(run.stderr, /^error\[SCAN_FINDINGS\]: 1 finding at or above high in model/);
    assert.match(run.stderr, /hint: /);
  });

  test('--json puts the report on stdout with ok and the error code', async (t) => {
    const dir = fixture(t, true);
    const run = await cairnScan([dir, '--json']);
    assert.equal(run.code, 1);
    const out = run.json<ScanJson>();
    assert.equal(out.ok, false);
    assert.equal(out.error?.code, 'SCAN_FINDINGS');
    assert.deepEqual(
      out.report.findings.map((f) => [f.file, f.member, f.offset, f.callable]),
      [['pytorch_model.bin', 'archive/data.pkl', 0, 'os.system']],
    );
    const pass = await cairnScan([
      dir,
      '--json',
      '--fail-on',
      'critical',
      '--ignore-paths',
      'pytorch_model.bin',
    ]);
    assert.equal(pass.code, 0);
    assert.equal(pass.json<ScanJson>().ok, true);
  });

  test('--fail-on decides the exit code; --allow-global and limits are applied', async (t) => {
    const dir = join(tempDir(t), 'm');
    mkdirSync(dir);
    writeFileSync(join(dir, 'args.pkl'), Buffer.from('\x80\x02cmypkg\nConfig\n)\x81.', 'latin1'));
    assert.equal((await cairnScan([dir])).code, 0, 'an unknown global is medium');
    assert.equal((await cairnScan([dir, '--fail-on', 'medium'])).code, 1);
    assert.equal(
      (await cairnScan([dir, '--fail-on', 'medium', '--allow-global', 'mypkg.Config'])).code,
      0,
    );
    const limited = await cairnScan([dir, '--max-file-bytes', '4', '--json']);
    assert.equal(limited.code, 1);
    assert.deepEqual(
      limited
        .json<{ report: { findings: { rule: string }[] } }>()
        .report.findings.map((f) => f.rule),
      ['scan.too-large'],
    );
  });

  test('usage and unreadable input exit 2', async (t) => {
    const dir = fixture(t, false);
    const missing = await cairnScan([join(dir, 'nope'), '--json']);
    assert.equal(missing.code, 2);
    assert.equal(missing.json<{ error: { code: string } }>().error.code, 'INPUT_NOT_FOUND');
    assert.equal((await cairnScan([dir, '--fail-on', 'severe'])).code, 2);
    assert.equal((await cairnScan([dir, '--max-file-bytes', '-1'])).code, 2);
    assert.equal((await cairnScan([dir, '--allow-global', 'not a name'])).code, 2);
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CairnError } from '../../src/errors/index.js';
import {
  SCAN_RULES,
  scanModel,
  scanReportFromJSON,
  type ScanReport,
} from '../../src/scan/index.js';
import { repoRoot, tempDir } from '../helpers.js';
import {
  gguf,
  onnxModel,
  protocol0System,
  torchStateDictPickle,
  torchZip,
  validSafetensors,
} from './builders.js';

function model(dir: string, files: Record<string, Buffer | string>): string {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'no error';
  } catch (err) {
    return err instanceof CairnError ? String(err.code) : `not a CairnError: ${String(err)}`;
  }
}

describe('scanModel', () => {
  test('walks a model directory in manifest order and skips git paths, model.sig and model.att.jsonl', async (t) => {
    const dir = model(join(tempDir(t), 'tiny'), {
      'pytorch_model.bin': torchZip(torchStateDictPickle(['w'])),
      'model.safetensors': validSafetensors(),
      'model.gguf': gguf(),
      'onnx/model.onnx': onnxModel(),
      'config.json': '{"a": 1}',
      'model.sig': protocol0System(),
      'model.att.jsonl': protocol0System(),
      '.git/evil.pkl': protocol0System(),
      'sub/model.sig': '{}',
    });
    const report = await scanModel(dir);
    assert.equal(report.modelName, 'tiny');
    assert.deepEqual(
      report.files.map((f) => [f.path, f.format, f.status]),
      [
        ['config.json', 'other', 'not-inspected'],
        ['model.gguf', 'gguf', 'complete'],
        ['model.safetensors', 'safetensors', 'complete'],
        ['onnx/model.onnx', 'onnx', 'complete'],
        ['pytorch_model.bin', 'pytorch-zip', 'complete'],
        ['sub/model.sig', 'other', 'not-inspected'],
      ],
    );
    assert.deepEqual(report.findings, []);
    assert.equal(report.summary.highest, null);
  });

  test('a malicious file is named with its offset and callable; the report survives JSON', async (t) => {
    const dir = model(join(tempDir(t), 'm'), {
      'weights/model.pt': torchZip(protocol0System('rm -rf ~')),
      'clean.safetensors': validSafetensors(),
    });
    const report = await scanModel(dir);
    const [f] = report.findings;
    assert.ok(f?.kind === 'callable');
    assert.deepEqual(
      [f.file, f.member, f.offset, f.opcode, f.callable, f.severity, f.args],
      [
        'weights/model.pt',
        'archive/data.pkl',
        0,
        'GLOBAL',
        'os.system',
        'critical',
        ['"rm -rf ~"'],
      ],
    );
    assert.deepEqual(report.summary.findings, { critical: 1, high: 0, medium: 0, low: 0, info: 0 });
    const back: ScanReport = scanReportFromJSON(JSON.parse(JSON.stringify(report)));
    assert.deepEqual(back, report);
  });

  test('a single file model is `.`', async (t) => {
    const file = join(tempDir(t), 'evil.pkl');
    writeFileSync(file, protocol0System());
    const report = await scanModel(file);
    assert.equal(report.modelName, 'evil.pkl');
    assert.deepEqual(
      report.files.map((f) => f.path),
      ['.'],
    );
    assert.equal(report.findings[0]?.file, '.');
  });

  test('symlinks: refused by default, followed inside the root when allowed, never out of it', async (t) => {
    const root = tempDir(t);
    const dir = model(join(root, 'm'), { 'a.pkl': protocol0System() });
    writeFileSync(join(root, 'outside.pkl'), protocol0System());
    symlinkSync('a.pkl', join(dir, 'inside.pkl'));
    assert.equal(await codeOf(() => scanModel(dir)), 'MODEL_SYMLINK');
    const report = await scanModel(dir, { allowSymlinks: true });
    assert.deepEqual(
      report.files.map((f) => f.path),
      ['a.pkl', 'inside.pkl'],
    );
    symlinkSync('../outside.pkl', join(dir, 'escape.pkl'));
    assert.equal(
      await codeOf(() => scanModel(dir, { allowSymlinks: true })),
      'MODEL_SYMLINK_ESCAPE',
    );
  });

  test('usage errors: missing model, bad limits, bad allow-list entries, bad ignore paths', async (t) => {
    const dir = model(join(tempDir(t), 'm'), { 'a.txt': 'x' });
    assert.equal(await codeOf(() => scanModel(join(dir, 'nope'))), 'INPUT_NOT_FOUND');
    assert.equal(await codeOf(() => scanModel(dir, { limits: { maxFileBytes: 0 } })), 'USAGE');
    assert.equal(await codeOf(() => scanModel(dir, { allowGlobals: ['os'] })), 'USAGE');
    assert.equal(await codeOf(() => scanModel(dir, { ignorePaths: ['../x'] })), 'USAGE');
    const r = await scanModel(dir, { ignorePaths: ['a.txt'] });
    assert.deepEqual(r.files, []);
  });

  test('an unreadable file is a could-not-scan finding, never a pass', async (t) => {
    const base = tempDir(t);
    const dir = model(join(base, 'm'), { 'x.pkl': protocol0System() });
    chmodSync(join(dir, 'x.pkl'), 0);
    const want = [['scan.unreadable', 'unscanned']];
    if (process.getuid?.() !== 0) {
      const r = await scanModel(dir);
      assert.deepEqual(
        r.findings.map((f) => [f.rule, f.kind]),
        want,
      );
      return;
    }
    // Root reads anything, so run the same scan as an unprivileged user in a child process.
    chmodSync(base, 0o755);
    chmodSync(dir, 0o755);
    const script = `
      import { scanModel } from ${JSON.stringify(join(repoRoot, 'dist/src/scan/index.js'))};
      const r = await scanModel(${JSON.stringify(dir)});
      console.log(JSON.stringify(r.findings.map((f) => [f.rule, f.kind])));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      uid: 65534,
      gid: 65534,
      encoding: 'utf8',
    });
    if (child.error !== undefined || child.status !== 0) {
      t.skip(`cannot run as an unprivileged user here: ${child.error?.message ?? child.stderr}`);
      return;
    }
    assert.deepEqual(JSON.parse(child.stdout), want);
  });

  test('--max-file-bytes bounds what is read; the unscanned severity is configurable', async (t) => {
    const big = Buffer.concat([
      Buffer.from([0x80, 0x02, 0x5d]),
      Buffer.alloc(300_000, 0x4e),
      Buffer.from('.'),
    ]);
    const dir = model(join(tempDir(t), 'm'), { 'big.pkl': big });
    const r = await scanModel(dir, { limits: { maxFileBytes: 100_000 } });
    assert.deepEqual(
      r.findings.map((f) => [f.rule, f.severity]),
      [['scan.too-large', 'high']],
    );
    assert.equal(r.summary.incompleteFiles, 1);
    const r2 = await scanModel(dir, {
      limits: { maxFileBytes: 100_000 },
      unscannedSeverity: 'critical',
    });
    assert.equal(r2.findings[0]?.severity, 'critical');
    assert.deepEqual((await scanModel(dir)).findings, []);
  });

  test('findings over the per-file limit are counted, and the worst are kept', async (t) => {
    const p: number[] = [0x80, 0x02];
    for (let i = 0; i < 30; i++) p.push(...Buffer.from(`cmod${i}\nX\n0`, 'latin1'));
    p.push(...Buffer.from('cos\nsystem\n.', 'latin1'));
    const dir = model(join(tempDir(t), 'm'), { 'x.pkl': Buffer.from(p) });
    const r = await scanModel(dir, { limits: { maxFindingsPerFile: 5 } });
    assert.equal(r.findings.length, 6);
    assert.equal(r.findings.filter((f) => f.severity === 'critical').length, 1);
    assert.equal(r.findings.filter((f) => f.rule === 'scan.findings-truncated').length, 1);
    assert.deepEqual(r.summary.findings, { critical: 1, high: 0, medium: 30, low: 0, info: 1 });
  });
});

describe('scan reports as untrusted input', () => {
  test('every bad field is listed under SCAN_REPORT_INVALID', async (t) => {
    const file = join(tempDir(t), 'evil.pkl');
    writeFileSync(file, protocol0System());
    const good = JSON.parse(JSON.stringify(await scanModel(file))) as Record<string, unknown>;
    const bad = {
      ...good,
      version: 2,
      extra: true,
      findings: [{ kind: 'callable', rule: 'x', severity: 'fatal' }],
    };
    try {
      scanReportFromJSON(bad);
      assert.fail('accepted a bad report');
    } catch (err) {
      assert.ok(err instanceof CairnError);
      assert.equal(err.code, 'SCAN_REPORT_INVALID');
      const paths = (err.details?.['issues'] as { path: string }[]).map((i) => i.path);
      for (const p of ['version', 'findings[0].severity', 'findings[0].file', '(root)']) {
        assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
      }
    }
    const lying = { ...good, summary: { ...(good['summary'] as object), highest: null } };
    assert.equal(await codeOf(() => scanReportFromJSON(lying)), 'SCAN_REPORT_INVALID');
  });
});

test('docs/scan.md documents every rule', () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'scan.md'), 'utf8');
  const missing = Object.keys(SCAN_RULES).filter((r) => !doc.includes(`\`${r}\``));
  assert.deepEqual(missing, []);
});

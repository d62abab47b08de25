import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, tempDir } from '../helpers.js';
import { protocol0System, torchZip } from './builders.js';

interface Report {
  report: { findings: { file: string; rule: string; callable?: string }[] };
}

test('scanning never executes: payloads that would create a file leave no file behind', async (t) => {
  const dir = tempDir(t);
  const model = join(dir, 'model');
  mkdirSync(model);
  const canary = (name: string) => join(dir, name);
  // Had any of these been unpickled, `touch` would have created the canary.
  writeFileSync(join(model, 'evil.pkl'), protocol0System(`touch ${canary('plain')}`));
  writeFileSync(
    join(model, 'pytorch_model.bin'),
    torchZip(protocol0System(`touch ${canary('zipped')}`)),
  );
  writeFileSync(
    join(model, 'nested.pt'),
    torchZip(protocol0System(`touch ${canary('deflated')}`), { method: 8 }),
  );
  const run = await runCli(['scan', model, '--json']);
  assert.equal(run.code, 1);
  const findings = run.json<Report>().report.findings;
  assert.deepEqual(
    [...new Set(findings.filter((f) => f.callable === 'os.system').map((f) => f.file))].sort(),
    ['evil.pkl', 'nested.pt', 'pytorch_model.bin'],
  );
  for (const name of ['plain', 'zipped', 'deflated']) {
    assert.equal(existsSync(canary(name)), false, name);
  }
});

test('a stream of 25 million cheap opcodes ends at the opcode budget: could not scan, within seconds', async (t) => {
  const model = join(tempDir(t), 'model');
  mkdirSync(model);
  // PROTO 2, then NONE/POP pairs: no stack growth, just work.
  const body = Buffer.alloc(25_000_000);
  for (let i = 0; i < body.length; i += 2) {
    body[i] = 0x4e;
    body[i + 1] = 0x30;
  }
  writeFileSync(
    join(model, 'weights.pkl'),
    Buffer.concat([Buffer.from([0x80, 0x02]), body, Buffer.from('.')]),
  );
  const started = performance.now();
  const run = await runCli(['scan', model, '--json']);
  const seconds = (performance.now() - started) / 1000;
  assert.equal(run.code, 1, run.stdout);
  const rules = run.json<Report>().report.findings.map((f) => f.rule);
  assert.deepEqual(rules, ['scan.limit']);
  // Generous on a loaded 2-core machine; the walk itself takes about a second.
  assert.ok(seconds < 60, `${seconds.toFixed(1)} s`);
  t.diagnostic(`25 MB hostile pickle scanned to its opcode budget in ${seconds.toFixed(2)} s`);
});

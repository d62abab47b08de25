import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { copyKeyedModel, keyed, repoRoot, runCli, tempDir } from '../helpers.js';

const script = join(repoRoot, 'test', 'interop', 'reference_rules.py');

/** python3 with `cryptography`, or a loud skip (a failure under CI=true). */
function python(t: TestContext): string | undefined {
  const probe = spawnSync('python3', ['-c', 'import cryptography'], { encoding: 'utf8' });
  if (probe.status === 0) return 'python3';
  if (process.env['CI'] === 'true') throw new Error('python3 with cryptography is required in CI');
  console.warn(
    `\n*** SKIPPING ${t.name}: python3 with the cryptography package is not available ***\n`,
  );
  t.skip('python3/cryptography missing');
  return undefined;
}

function check(py: string, model: string, sig: string, pub: string): string {
  return execFileSync(py, [script, model, sig, pub], { encoding: 'utf8' }).trim();
}

test('Cairn bundles verify under the reference rules (independent Python check)', async (t) => {
  const py = python(t);
  if (py === undefined) return;
  const dir = tempDir(t);
  const model = copyKeyedModel(t);
  for (const type of ['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521'] as const) {
    const key = join(dir, `${type}.pem`);
    assert.equal((await runCli(['keygen', '--type', type, '--out', key])).code, 0);
    const sig = join(dir, `${type}.sig`);
    const run = await runCli(['sign', model, '--private-key', key, '--signature', sig]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      check(py, model, sig, `${key}.pub`),
      'ok 6dbeb2c77258be99a913ec8794367ac31055ba1793c62674942e95c9d323ca3a',
    );
  }
  // The default layout: model.sig inside the model, recorded in ignore_paths.
  const key = join(dir, 'ecdsa-p256.pem');
  assert.equal((await runCli(['sign', model, '--private-key', key])).code, 0);
  assert.match(check(py, model, join(model, 'model.sig'), `${key}.pub`), /^ok /);
});

test('the independent check is not a rubber stamp: it rejects a tampered model', async (t) => {
  const py = python(t);
  if (py === undefined) return;
  const dir = tempDir(t);
  const model = copyKeyedModel(t);
  const sig = join(dir, 'm.sig');
  assert.equal(
    (
      await runCli([
        'sign',
        model,
        '--private-key',
        join(keyed, 'p256.key.pem'),
        '--signature',
        sig,
      ])
    ).code,
    0,
  );
  execFileSync('sh', ['-c', `printf x >> '${join(model, 'config.json')}'`]);
  const r = spawnSync(py, [script, model, sig, join(keyed, 'p256.pub.pem')], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /model does not match/);
});

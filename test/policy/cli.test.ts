import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import { Command } from 'commander';
import { registerPolicyCommands } from '../../src/cli/policy.js';
import { isCairnError } from '../../src/errors/index.js';
import { POLICY_API_VERSION } from '../../src/policy/index.js';
import { fixtures, keyed, repoRoot, tempDir } from '../helpers.js';
import { DIGEST, hint } from './builders.js';

/**
 * `cairn policy …` through commander, as the CLI runs it. The commands are registered on a
 * program of their own here: src/cli/index.ts wires them into `cairn` (one line).
 */

const policies = join(fixtures, 'policies');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The CairnError code when the command threw (main() turns it into the exit code). */
  readonly error?: string;
  readonly details?: Readonly<Record<string, unknown>>;
  json<T = Record<string, unknown>>(): T;
}

function program(out: PassThrough, err: PassThrough, setExit: (n: number) => void): Command {
  const p = new Command('cairn').exitOverride().configureOutput({
    writeOut: (s) => out.write(s),
    writeErr: (s) => err.write(s),
  });
  registerPolicyCommands(p, { stdout: out, stderr: err, env: {}, cwd: repoRoot }, setExit);
  return p;
}

async function cairn(...args: string[]): Promise<Run> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  let code = 0;
  let error: string | undefined;
  let details: Readonly<Record<string, unknown>> | undefined;
  try {
    await program(out, err, (n) => (code = n)).parseAsync(args, { from: 'user' });
  } catch (e) {
    if (!isCairnError(e)) throw e;
    code = e.exitCode;
    error = e.code;
    details = e.details;
  }
  const stdout = Buffer.concat(chunks.out).toString('utf8');
  const stderr = Buffer.concat(chunks.err).toString('utf8');
  return {
    code,
    stdout,
    stderr,
    ...(error === undefined ? {} : { error }),
    ...(details === undefined ? {} : { details }),
    json: <T>() => JSON.parse(stdout) as T,
  };
}

function factsFile(t: TestContext, changes: Record<string, unknown> = {}): string {
  const path = join(tempDir(t), 'facts.json');
  const facts = {
    digest: DIGEST,
    repository: 'acme/llm',
    environment: 'staging',
    reference: { kind: 'digest' },
    signatures: [
      { digest: DIGEST, signer: { kind: 'key', keyType: 'ecdsa-p256', hint: hint('a1') } },
    ],
    ...changes,
  };
  writeFileSync(path, JSON.stringify(facts));
  return path;
}

describe('cairn policy test', () => {
  test('the example policy directory passes its own tests', async () => {
    const run = await cairn('policy', 'test', policies, '--json');
    assert.equal(run.code, 0, run.stdout);
    const out = run.json<{ ok: boolean; passed: number; failed: number }>();
    assert.equal(out.ok, true);
    assert.equal(out.failed, 0);
    assert.ok(out.passed >= 19);
  });

  test('human output lists every case', async () => {
    const run = await cairn('policy', 'test', policies);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^PASS {2}break-glass-lets-deny-through/m);
    assert.match(run.stdout, /passed, 0 failed$/m);
  });

  test('a case that does not get its expected decision fails the run (exit 1)', async (t) => {
    const dir = join(tempDir(t), 'policies');
    cpSync(policies, dir, { recursive: true });
    const cases = join(dir, 'tests', 'cases.yaml');
    writeFileSync(
      cases,
      readFileSync(cases, 'utf8').replace(
        /(name: critical-finding-denied[\s\S]*?expect:\n\s+outcome: )deny/,
        '$1allow',
      ),
    );
    const run = await cairn('policy', 'test', dir, '--json');
    assert.equal(run.code, 1);
    const out = run.json<{
      failed: number;
      error: { code: string };
      results: { name: string; passed: boolean }[];
    }>();
    assert.equal(out.failed, 1);
    assert.equal(out.error.code, 'POLICY_TEST_FAILED');
    assert.deepEqual(
      out.results.filter((r) => !r.passed).map((r) => r.name),
      ['critical-finding-denied'],
    );
  });

  test('a directory without test cases is POLICY_EMPTY', async (t) => {
    const dir = tempDir(t);
    cpSync(join(policies, 'policies.yaml'), join(dir, 'policies.yaml'));
    assert.equal((await cairn('policy', 'test', dir)).error, 'POLICY_EMPTY');
  });

  test('an invalid policy is POLICY_INVALID with every problem, file by file', async (t) => {
    const dir = tempDir(t);
    cpSync(policies, dir, { recursive: true });
    writeFileSync(
      join(dir, 'broken.yaml'),
      `apiVersion: ${POLICY_API_VERSION}\nkind: ModelPolicy\nmetadata: {name: broken}\nspec: {mode: sometimes}\n`,
    );
    const run = await cairn('policy', 'test', dir);
    assert.equal(run.error, 'POLICY_INVALID');
    assert.equal(run.code, 2);
    const issues = run.details?.['issues'] as { source: string; path: string }[];
    assert.deepEqual(
      issues.map((i) => `${i.source} ${i.path}`),
      ['broken.yaml#1 spec.match', 'broken.yaml#1 spec.mode'],
    );
  });

  test('an oversized policy file is refused before parsing', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'big.yaml'), `# ${'x'.repeat(300 * 1024)}\n`);
    assert.equal((await cairn('policy', 'test', dir)).error, 'INPUT_TOO_LARGE');
  });
});

describe('cairn policy eval', () => {
  test('facts that meet the policies: allow, exit 0', async (t) => {
    const run = await cairn(
      'policy',
      'eval',
      '--policy',
      policies,
      '--facts',
      factsFile(t),
      '--now',
      '2025-10-01T12:00:00Z',
      '--json',
    );
    assert.equal(run.code, 0, run.stdout);
    const out = run.json<{ ok: boolean; decision: { outcome: string; evaluatedAt: string } }>();
    assert.equal(out.ok, true);
    assert.equal(out.decision.outcome, 'allow');
    assert.equal(out.decision.evaluatedAt, '2025-10-01T12:00:00Z');
  });

  test('a deny exits 1 with POLICY_DENIED and the reason', async (t) => {
    const facts = factsFile(t, { environment: 'production' });
    const run = await cairn('policy', 'eval', '--policy', policies, '--facts', facts, '--json');
    assert.equal(run.code, 1);
    const out = run.json<{
      ok: boolean;
      decision: { outcome: string; violations: { code: string }[] };
      error: { code: string };
    }>();
    assert.equal(out.ok, false);
    assert.equal(out.decision.outcome, 'deny');
    assert.equal(out.error.code, 'POLICY_DENIED');
    assert.ok(out.decision.violations.some((v) => v.code === 'SIGNATURES_INSUFFICIENT'));
  });

  test('human output: verdict, reason, what to do, each requirement; the error on stderr', async (t) => {
    const run = await cairn(
      'policy',
      'eval',
      '--policy',
      policies,
      '--facts',
      factsFile(t),
      '--tag',
      'latest',
      '--environment',
      'production',
    );
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^DENY {2}acme\/llm:latest {2}in production/m);
    assert.match(run.stdout, /^What to do: /m);
    assert.match(run.stdout, /FAIL {2}digest/);
    assert.match(run.stderr, /^error\[POLICY_DENIED\]: Denied: /m);
  });

  test('verifies a model and evaluates what the verification established', async (t) => {
    const keyHint = 'e0cf4cda27940b22ecd03881987156ca9be52f38afcbfecdf5efc51818117f7e';
    const dir = tempDir(t);
    writeFileSync(
      join(dir, 'policy.yaml'),
      `apiVersion: ${POLICY_API_VERSION}
kind: ModelPolicy
metadata: {name: interop}
spec:
  match: {repositories: [test/interop], environments: [staging, production]}
  mode: enforce
  requireDigest: true
  signatures:
    - name: release
      anyOf: [{key: ${keyHint}}]
---
apiVersion: ${POLICY_API_VERSION}
kind: ModelPolicy
metadata: {name: production-lineage}
spec:
  match: {repositories: ["test/*"], environments: [production]}
  mode: enforce
  transformation: {requireContinuity: true}
`,
    );
    const model = join(keyed, 'model');
    const trust = [
      '--signature',
      join(keyed, 'model.sig'),
      '--public-key',
      join(keyed, 'p256.pub.pem'),
    ];
    const ok = await cairn(
      'policy',
      'eval',
      model,
      '--policy',
      dir,
      '--repository',
      'test/interop',
      '--environment',
      'staging',
      ...trust,
      '--json',
    );
    assert.equal(ok.code, 0, ok.stdout);
    const decision = ok.json<{ decision: { outcome: string; artifact: { digest: string } } }>()
      .decision;
    assert.equal(decision.outcome, 'allow');
    assert.equal(decision.artifact.digest, readFileSync(join(keyed, 'digest.txt'), 'utf8').trim());

    const tag = await cairn(
      'policy',
      'eval',
      model,
      '--policy',
      dir,
      '--repository',
      'test/interop',
      '--environment',
      'staging',
      '--tag',
      'latest',
      ...trust,
      '--json',
    );
    assert.equal(tag.code, 1);
    // Lineage is not established by a signature alone: no provenance or transformation attested.
    const prod = await cairn(
      'policy',
      'eval',
      model,
      '--policy',
      dir,
      '--repository',
      'test/interop',
      '--environment',
      'production',
      ...trust,
      '--json',
    );
    assert.equal(prod.code, 1);
    const violations = prod.json<{ decision: { violations: { code: string }[] } }>().decision
      .violations;
    assert.deepEqual(
      violations.map((v) => v.code),
      ['TRANSFORMATION_UNKNOWN'],
    );

    const wrongKey = await cairn(
      'policy',
      'eval',
      model,
      '--policy',
      dir,
      '--repository',
      'test/interop',
      '--environment',
      'staging',
      '--signature',
      join(keyed, 'model.sig'),
      '--public-key',
      join(keyed, 'other-p256.pub.pem'),
    );
    assert.equal(wrongKey.error, 'KEY_MISMATCH');
  });

  test('usage errors', async (t) => {
    assert.equal((await cairn('policy', 'eval', '--policy', policies)).error, 'USAGE');
    assert.equal(
      (await cairn('policy', 'eval', 'model', '--policy', policies, '--facts', factsFile(t))).error,
      'USAGE',
    );
    assert.equal(
      (
        await cairn(
          'policy',
          'eval',
          '--policy',
          policies,
          '--facts',
          factsFile(t),
          '--now',
          'tomorrow',
        )
      ).error,
      'USAGE',
    );
    assert.equal(
      (
        await cairn(
          'policy',
          'eval',
          join(keyed, 'model'),
          '--policy',
          policies,
          '--public-key',
          join(keyed, 'p256.pub.pem'),
        )
      ).error,
      'USAGE',
    );
    assert.equal(
      (await cairn('policy', 'eval', '--policy', join(policies, 'nope'), '--facts', factsFile(t)))
        .error,
      'INPUT_NOT_FOUND',
    );
  });

  test('bad facts are POLICY_FACTS_INVALID', async (t) => {
    const path = join(tempDir(t), 'facts.json');
    writeFileSync(path, JSON.stringify({ digest: 'nope' }));
    assert.equal(
      (await cairn('policy', 'eval', '--policy', policies, '--facts', path)).error,
      'POLICY_FACTS_INVALID',
    );
  });
});

test('docs/cli.md documents every policy command and option', () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'cli.md'), 'utf8');
  const p = new Command('cairn');
  registerPolicyCommands(
    p,
    { stdout: new PassThrough(), stderr: new PassThrough(), env: {}, cwd: repoRoot },
    () => undefined,
  );
  const missing: string[] = [];
  for (const cmd of p.commands[0]!.commands) {
    const start = doc.indexOf(`## \`cairn policy ${cmd.name()}`);
    if (start === -1) {
      missing.push(`policy ${cmd.name()}`);
      continue;
    }
    const end = doc.indexOf('\n## ', start + 1);
    const section = doc.slice(start, end === -1 ? undefined : end);
    for (const opt of cmd.options) {
      if (!opt.hidden && opt.long !== undefined && !section.includes(`\`${opt.long}`)) {
        missing.push(`policy ${cmd.name()} ${opt.long}`);
      }
    }
  }
  assert.deepEqual(missing, []);
});

import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { API_TOKEN_ISSUER as SERVER_API_TOKEN_ISSUER } from '../../src/server/auth/index.js';
import { API_TOKEN_ISSUER, breakGlassName, durationFlag } from '../../src/cli/registry-admin.js';
import { fixtures, keyed, runCli, tempDir, type CliRun } from '../helpers.js';
import { startServe, stopServe } from '../server/serve-process.js';

/**
 * The administrator's commands against the real `cairn serve` binary (embedded SQLite and
 * filesystem blobs, the fixture policies): its bootstrap admin token sets up a repository and a
 * CI identity, which then pushes with CAIRN_TOKEN — and is refused once its role or token is gone.
 * Tokens travel only in CAIRN_TOKEN, never in argv, and are never printed except by `token create`.
 */

function errorCode(run: CliRun): string | undefined {
  return run.json<{ error?: { code: string } }>().error?.code;
}

/** A refused push (its first request is a blob HEAD, whose 403 carries no body). */
function pushRefused(run: CliRun): boolean {
  const error = run.json<{ error?: { code: string; details?: { httpStatus?: number } } }>().error;
  return error?.code === 'ACCESS_DENIED' && error.details?.httpStatus === 403;
}

function exceptionYaml(requirement: string): string {
  const now = Date.now();
  return [
    'apiVersion: cairn.dev/v1alpha1',
    'kind: PolicyException',
    'metadata:',
    '  name: vendor-scan',
    'spec:',
    '  policy: production',
    `  requirements: ["${requirement}"]`,
    '  scope:',
    '    repositories: [acme/llm]',
    '    environments: [production]',
    '  owner: ml-platform@acme.com',
    '  justification: The vendor scanner cannot read this format yet.',
    '  ticket: SEC-7',
    `  createdAt: "${new Date(now - 60_000).toISOString()}"`,
    `  expiresAt: "${new Date(now + 86_400_000).toISOString()}"`,
    '',
  ].join('\n');
}

async function signedModel(t: TestContext): Promise<string> {
  const model = join(tempDir(t), 'model');
  cpSync(join(keyed, 'model'), model, { recursive: true });
  const signed = await runCli([
    'sign',
    model,
    '--private-key',
    join(keyed, 'p256.key.pem'),
    '--allow-unencrypted-key',
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  return model;
}

test('the CLI issuer for API tokens is the server’s', () => {
  assert.equal(API_TOKEN_ISSUER, SERVER_API_TOKEN_ISSUER);
});

test('durations and break-glass names', () => {
  assert.equal(durationFlag('1d12h', '--ttl'), 129_600);
  for (const bad of ['', '0s', '5', '1w', '-1h', '2h1d']) {
    assert.throws(() => durationFlag(bad, '--ttl'), { code: 'USAGE' });
  }
  const name = breakGlassName('INC-1234 / db outage!');
  assert.match(name, /^bg-inc-1234-db-outage-[0-9a-f]{8}$/);
  assert.match(breakGlassName('??'), /^bg-[0-9a-f]{8}$/);
  assert.ok(breakGlassName('x'.repeat(300)).length <= 63);
});

test('no admin command takes a token on the command line', async () => {
  for (const cmd of [
    ['repo', 'create'],
    ['token', 'create'],
    ['token', 'revoke'],
    ['role', 'grant'],
    ['exception', 'create'],
    ['break-glass', 'request'],
  ]) {
    const help = await runCli([...cmd, '--help']);
    assert.equal(help.code, 0);
    assert.doesNotMatch(help.stdout, /--token\b|--secret\b|--password\b/, cmd.join(' '));
  }
});

test('admin commands against cairn serve: repo, token, role, exception, break-glass; CI pushes, then is refused', async (t) => {
  const policies = join(tempDir(t), 'policies');
  mkdirSync(policies);
  cpSync(join(fixtures, 'policies', 'policies.yaml'), join(policies, 'policies.yaml'));
  const s = await startServe(t, ['--data-dir', join(tempDir(t), 'data'), '--policy', policies]);
  const admin = s.token;
  assert.ok(admin !== undefined && admin.startsWith('cairn_'));
  const runs: CliRun[] = [];
  const secrets: string[] = [admin];
  const as = async (token: string, args: readonly string[]) => {
    const run = await runCli(args, {
      env: { CAIRN_TOKEN: token, CAIRN_SERVER: s.url, HOME: tempDir(t) },
    });
    runs.push(run);
    return run;
  };
  const asAdmin = (args: readonly string[]) => as(admin, args);

  // Repositories.
  const created = await asAdmin(['repo', 'create', 'acme/llm', '--json']);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.json<{ repository: { name: string } }>().repository.name, 'acme/llm');
  const again = await asAdmin(['repo', 'create', 'acme/llm', '--json']);
  assert.equal(errorCode(again), 'REPOSITORY_EXISTS');
  assert.equal(again.code, 2);
  const badName = await asAdmin(['repo', 'create', '../etc', '--json']);
  assert.equal(errorCode(badName), 'REPOSITORY_NAME_INVALID');
  const shown = await asAdmin(['repo', 'show', 'acme/llm', '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  assert.deepEqual(shown.json<{ environments: unknown[] }>().environments, [
    { name: 'staging', promotionOnly: false, protected: false },
    { name: 'production', promotionOnly: true, protected: true },
  ]);
  const human = await asAdmin(['repo', 'show', 'acme/llm']);
  assert.match(human.stdout, /production\s+promotion-only, protected retrieval/);
  const listed = await asAdmin(['repo', 'list', '--json']);
  assert.deepEqual(
    listed.json<{ repositories: { name: string }[] }>().repositories.map((r) => r.name),
    ['acme/llm'],
  );
  const missing = await asAdmin(['repo', 'show', 'acme/none', '--json']);
  assert.equal(errorCode(missing), 'REPOSITORY_NOT_FOUND');

  // A token for the CI identity: printed once on stdout, a warning on stderr.
  const issued = await asAdmin([
    'token',
    'create',
    '--subject',
    'ci-acme',
    '--description',
    'CI pipeline',
    '--expires-in',
    '30d',
    '--json',
  ]);
  assert.equal(issued.code, 0, issued.stdout + issued.stderr);
  const { token: ci, record } = issued.json<{
    token: string;
    record: { id: string; expiresAt: string };
  }>();
  secrets.push(ci);
  assert.match(ci, /^cairn_/);
  assert.match(issued.stderr, /only once/);
  const days = (Date.parse(record.expiresAt) - Date.now()) / 86_400_000;
  assert.ok(days > 29.9 && days <= 30, String(days));
  const plain = await asAdmin(['token', 'create', '--subject', 'ops']);
  assert.equal(plain.code, 0, plain.stderr);
  const opsToken = plain.stdout.trim();
  secrets.push(opsToken);
  assert.match(opsToken, /^cairn_[^\s]+$/, 'human output is the token alone, for `> file`');
  const tokens = await asAdmin(['token', 'list', '--json']);
  const ids = tokens.json<{ tokens: { id: string; subject: { subject: string } }[] }>().tokens;
  assert.ok(ids.some((x) => x.id === record.id && x.subject.subject === 'ci-acme'));

  // Without a role the CI identity can do nothing; it is not an admin.
  const model = await signedModel(t);
  assert.ok(pushRefused(await as(ci, ['push', model, 'acme/llm:rc1', '--json'])));
  for (const args of [
    ['repo', 'create', 'acme/other'],
    ['token', 'create', '--subject', 'me-too'],
    ['token', 'list'],
    [
      'role',
      'grant',
      '--subject',
      'ci-acme',
      '--role',
      'admin',
      '--repository',
      '**',
      '--environment',
      '*',
    ],
    ['role', 'list'],
    ['exception', 'list'],
    ['break-glass', 'list'],
  ]) {
    const refused = await as(ci, [...args, '--json']);
    assert.equal(errorCode(refused), 'ACCESS_DENIED', args.join(' '));
    assert.equal(refused.code, 1);
  }

  // Grant pusher on acme/* staging; the CI identity pushes with CAIRN_TOKEN.
  const roleArgs = [
    '--subject',
    'ci-acme',
    '--role',
    'pusher',
    '--repository',
    'acme/*',
    '--environment',
    'staging',
  ];
  const granted = await asAdmin(['role', 'grant', ...roleArgs, '--json']);
  assert.equal(granted.code, 0, granted.stderr);
  const bindings = await asAdmin(['role', 'list', '--subject', 'ci-acme', '--json']);
  assert.deepEqual(bindings.json<{ bindings: unknown[] }>().bindings, [
    {
      subject: { issuer: 'cairn:api-token', subject: 'ci-acme' },
      role: 'pusher',
      repository: 'acme/*',
      environment: 'staging',
    },
  ]);
  const badRole = await asAdmin([
    'role',
    'grant',
    ...roleArgs.slice(0, 2),
    '--role',
    'owner',
    '--repository',
    'acme/*',
    '--environment',
    'staging',
    '--json',
  ]);
  assert.equal(errorCode(badRole), 'REQUEST_INVALID');
  const pushed = await as(ci, ['push', model, 'acme/llm:rc1', '--json']);
  assert.equal(pushed.code, 0, pushed.stderr);
  const digest = pushed.json<{ digest: string }>().digest;
  const toProd = await as(ci, ['push', model, 'acme/llm', '--environment', 'production', '--json']);
  assert.equal(errorCode(toProd), 'PUSH_TO_PROTECTED_ENVIRONMENT');

  // Exceptions: checked locally, then against the policies in force.
  const dir = tempDir(t);
  writeFileSync(join(dir, 'ok.yaml'), exceptionYaml('attestation:scan'));
  writeFileSync(join(dir, 'misspelt.yaml'), exceptionYaml('attestation:scna'));
  writeFileSync(
    join(dir, 'policy.yaml'),
    exceptionYaml('x').replace('PolicyException', 'ModelPolicy'),
  );
  const stored = await asAdmin(['exception', 'create', '--file', join(dir, 'ok.yaml'), '--json']);
  assert.equal(stored.code, 0, stored.stdout + stored.stderr);
  assert.equal(stored.json<{ exception: { id: string } }>().exception.id, 'vendor-scan');
  const misspelt = await asAdmin([
    'exception',
    'create',
    '--file',
    join(dir, 'misspelt.yaml'),
    '--json',
  ]);
  assert.equal(errorCode(misspelt), 'POLICY_INVALID');
  const wrongKind = await asAdmin([
    'exception',
    'create',
    '--file',
    join(dir, 'policy.yaml'),
    '--json',
  ]);
  assert.equal(errorCode(wrongKind), 'POLICY_INVALID');
  const absent = await asAdmin(['exception', 'create', '--file', join(dir, 'none.yaml'), '--json']);
  assert.equal(errorCode(absent), 'INPUT_NOT_FOUND');
  const exceptions = await asAdmin(['exception', 'list', '--json']);
  assert.deepEqual(
    exceptions.json<{ exceptions: { id: string }[] }>().exceptions.map((e) => e.id),
    ['vendor-scan'],
  );

  // Break-glass: refused without the role (admin does not imply it), granted with it.
  const glass = [
    'break-glass',
    'request',
    '--repository',
    'acme/llm',
    '--environment',
    'production',
    '--incident',
    'INC-7',
    '--reason',
    'rollback during outage',
    '--ttl',
    '7d',
    '--digest',
    digest,
    '--json',
  ];
  assert.equal(errorCode(await as(ci, glass)), 'ACCESS_DENIED');
  assert.equal(errorCode(await asAdmin(glass)), 'ACCESS_DENIED');
  assert.equal(
    (
      await asAdmin([
        'role',
        'grant',
        '--subject',
        'ci-acme',
        '--role',
        'break-glass',
        '--repository',
        'acme/*',
        '--environment',
        'production',
      ])
    ).code,
    0,
  );
  const grant = await as(ci, glass);
  assert.equal(grant.code, 0, grant.stdout + grant.stderr);
  const g = grant.json<{ grant: { id: string; at: string; expiresAt: string } }>().grant;
  assert.match(g.id, /^bg-inc-7-[0-9a-f]{8}$/);
  assert.ok(Date.parse(g.expiresAt) - Date.parse(g.at) <= 4 * 3600 * 1000, 'capped by policy');
  const grants = await asAdmin(['break-glass', 'list', '--json']);
  assert.deepEqual(
    grants.json<{ grants: { id: string }[] }>().grants.map((x) => x.id),
    [g.id],
  );
  assert.equal(
    errorCode(await as(ci, [...glass.slice(0, -3), '--ttl', 'soon', '--json'])),
    'USAGE',
  );

  // Role revoked: the next push is refused.
  const revokedRole = await asAdmin(['role', 'revoke', ...roleArgs, '--json']);
  assert.equal(revokedRole.code, 0, revokedRole.stderr);
  assert.ok(pushRefused(await as(ci, ['push', model, 'acme/llm:rc2', '--json'])));
  assert.equal(errorCode(await as(ci, ['tags', 'acme/llm', '--json'])), 'ACCESS_DENIED');

  // Token revoked: the next call is refused as unauthenticated.
  const revoked = await asAdmin(['token', 'revoke', record.id, '--json']);
  assert.equal(revoked.code, 0, revoked.stderr);
  const after = await as(ci, ['whoami', '--json']);
  assert.equal(errorCode(after), 'AUTH_TOKEN_REVOKED');
  assert.notEqual(after.code, 0);
  const listedAfter = await asAdmin(['token', 'list', '--json']);
  const revokedRecord = listedAfter
    .json<{ tokens: { id: string; revokedAt: string | null }[] }>()
    .tokens.find((x) => x.id === record.id);
  assert.ok(revokedRecord?.revokedAt !== null && revokedRecord?.revokedAt !== undefined);

  // No secret in any stderr or the server's logs; `token create` is the only stdout that has one.
  for (const run of runs) {
    for (const secret of secrets) assert.ok(!run.stderr.includes(secret), 'token on stderr');
    if (run !== issued && run !== plain) {
      for (const secret of secrets) assert.ok(!run.stdout.includes(secret), 'token on stdout');
    }
  }
  assert.equal(await stopServe(s), 0);
  for (const secret of secrets) assert.ok(!s.stderr().includes(secret), 'token in server logs');
});

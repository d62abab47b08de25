import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  authorize,
  rolesForAction,
  type AccessAction,
  type AccessQuery,
} from '../../../src/server/auth/index.js';
import type { EnvironmentConfig } from '../../../src/registry/index.js';
import type { Actor, Role, RoleBinding } from '../../../src/store/index.js';

const GH = 'https://token.actions.githubusercontent.com';
const K8S = 'https://kubernetes.default.svc.cluster.local';
const who = (subject: string, issuer = GH): Actor => ({ issuer, subject });
const granter = who('root', 'cairn:api-token');

function bind(subject: Actor, role: Role, repository = '**', environment = '*'): RoleBinding {
  return { subject, role, repository, environment, grantedBy: granter, at: new Date(0) };
}

const ENVS: readonly EnvironmentConfig[] = [
  { name: 'dev', promotionOnly: false, protected: false },
  { name: 'staging', promotionOnly: false, protected: false },
  { name: 'production', promotionOnly: true, protected: true },
];

const ci = who('repo:team/model:ref:refs/heads/main');
const deployer = who('system:serviceaccount:ml:inference', K8S);
const admin = who('admin', 'cairn:api-token');
const reader = who('auditor');
const promoter = who('release-manager');
const signer = who('signing-service');
const oncall = who('oncall');

const BINDINGS: readonly RoleBinding[] = [
  bind(ci, 'pusher', 'team/*', 'staging'),
  bind(deployer, 'deployer', 'team/model', 'production'),
  bind(admin, 'admin'),
  bind(reader, 'reader', 'team/**'),
  bind(promoter, 'promoter', 'team/*', 'production'),
  bind(signer, 'signer', '**', 'staging'),
  bind(oncall, 'break-glass', 'team/model', 'production'),
];

type Row = readonly [
  who: Actor,
  action: AccessAction,
  repository: string | undefined,
  environment: string | undefined,
  expected: 'allow' | 'ACCESS_DENIED' | 'PUSH_TO_PROTECTED_ENVIRONMENT',
];

const TABLE: readonly Row[] = [
  // pushers push to their repositories in staging, nowhere else
  [ci, 'push', 'team/model', 'staging', 'allow'],
  [ci, 'push', 'team/model', undefined, 'allow'], // blob uploads are not environment-bound
  [ci, 'push', 'team/model', 'dev', 'ACCESS_DENIED'],
  [ci, 'push', 'other/model', 'staging', 'ACCESS_DENIED'],
  [ci, 'push', 'team/sub/model', 'staging', 'ACCESS_DENIED'], // `*` is one segment
  [ci, 'push', 'team', 'staging', 'ACCESS_DENIED'],
  [ci, 'read', 'team/model', 'staging', 'allow'],
  [ci, 'promote', 'team/model', 'production', 'ACCESS_DENIED'],
  [ci, 'sign', 'team/model', 'staging', 'ACCESS_DENIED'],
  // production accepts no direct uploads, not even from an admin
  [ci, 'push', 'team/model', 'production', 'PUSH_TO_PROTECTED_ENVIRONMENT'],
  [admin, 'push', 'team/model', 'production', 'PUSH_TO_PROTECTED_ENVIRONMENT'],
  [admin, 'push', 'team/model', 'staging', 'allow'],
  // protected retrieval needs a deployer binding for that repository and environment
  [deployer, 'retrieve', 'team/model', 'production', 'allow'],
  [deployer, 'deploy', 'team/model', 'production', 'allow'],
  [deployer, 'retrieve', 'team/other', 'production', 'ACCESS_DENIED'],
  [deployer, 'retrieve', 'team/model', 'staging', 'ACCESS_DENIED'],
  [reader, 'retrieve', 'team/model', 'production', 'ACCESS_DENIED'],
  [reader, 'retrieve', 'team/model', 'staging', 'allow'],
  [reader, 'read', 'team/a/b', 'production', 'allow'], // `**` spans segments
  [reader, 'read', 'teamx/model', 'staging', 'ACCESS_DENIED'],
  [reader, 'push', 'team/model', 'staging', 'ACCESS_DENIED'],
  // promotion and signing
  [promoter, 'promote', 'team/model', 'production', 'allow'],
  [promoter, 'promote', 'team/model', 'staging', 'ACCESS_DENIED'],
  [signer, 'sign', 'any/repo', 'staging', 'allow'],
  [signer, 'sign', 'any/repo', 'production', 'ACCESS_DENIED'],
  // break-glass is its own grant: admin does not imply it, it implies nothing else
  [oncall, 'break-glass', 'team/model', 'production', 'allow'],
  [oncall, 'promote', 'team/model', 'production', 'ACCESS_DENIED'],
  [admin, 'break-glass', 'team/model', 'production', 'ACCESS_DENIED'],
  // admin: everything else, everywhere; server-wide actions need a `**` binding
  [admin, 'admin', undefined, undefined, 'allow'],
  [admin, 'retrieve', 'team/model', 'production', 'allow'],
  [reader, 'admin', undefined, undefined, 'ACCESS_DENIED'],
  [reader, 'read', undefined, undefined, 'ACCESS_DENIED'], // `team/**` is not server-wide
  // unknown environments fail closed
  [admin, 'read', 'team/model', 'qa', 'ACCESS_DENIED'],
];

test('the authorization table', () => {
  const wrong: string[] = [];
  for (const [actor, action, repository, environment, expected] of TABLE) {
    const query: AccessQuery = {
      action,
      ...(repository === undefined ? {} : { repository }),
      ...(environment === undefined ? {} : { environment }),
    };
    const d = authorize(actor, BINDINGS, query, ENVS);
    const got = d.allowed ? 'allow' : d.code;
    if (got !== expected) {
      wrong.push(`${actor.subject} ${action} ${repository} ${environment}: ${got} ≠ ${expected}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('an allowed decision names the binding; a denial names its reason and the roles needed', () => {
  const ok = authorize(
    ci,
    BINDINGS,
    { action: 'push', repository: 'team/x', environment: 'staging' },
    ENVS,
  );
  assert.ok(ok.allowed);
  assert.equal(ok.binding.role, 'pusher');
  const no = authorize(
    reader,
    BINDINGS,
    { action: 'promote', repository: 'team/x', environment: 'production' },
    ENVS,
  );
  assert.ok(!no.allowed);
  assert.equal(no.reason, 'no-role');
  assert.deepEqual(no.roles, ['promoter', 'admin']);
  const prod = authorize(admin, BINDINGS, { action: 'push', environment: 'production' }, ENVS);
  assert.ok(!prod.allowed);
  assert.equal(prod.reason, 'promotion-only');
  const unknown = authorize(admin, BINDINGS, { action: 'read', environment: 'qa' }, ENVS);
  assert.ok(!unknown.allowed);
  assert.equal(unknown.reason, 'environment-unknown');
});

test('identities match exactly: issuer and subject, no patterns, no case folding', () => {
  const bindings = [bind(who('repo:team/*'), 'pusher'), bind(who('Alice', K8S), 'pusher')];
  const q: AccessQuery = { action: 'push', repository: 'team/model', environment: 'staging' };
  assert.equal(authorize(who('repo:team/model'), bindings, q, ENVS).allowed, false);
  assert.equal(authorize(who('repo:team/*'), bindings, q, ENVS).allowed, true);
  assert.equal(authorize(who('Alice', GH), bindings, q, ENVS).allowed, false);
  assert.equal(authorize(who('alice', K8S), bindings, q, ENVS).allowed, false);
  assert.equal(authorize(who('Alice', `${K8S}/`), bindings, q, ENVS).allowed, false);
  // Bindings of someone else never count, even if handed in by mistake.
  assert.equal(authorize(who('mallory'), bindings, q, ENVS).allowed, false);
});

test('the default environments: staging takes pushes, production only promotions', () => {
  const b = [bind(admin, 'admin')];
  assert.equal(authorize(admin, b, { action: 'push', environment: 'staging' }).allowed, true);
  const d = authorize(admin, b, { action: 'push', environment: 'production' });
  assert.equal(d.allowed ? 'allow' : d.code, 'PUSH_TO_PROTECTED_ENVIRONMENT');
  assert.deepEqual(
    rolesForAction('retrieve', { name: 'p', promotionOnly: true, protected: true }),
    ['deployer', 'admin'],
  );
});

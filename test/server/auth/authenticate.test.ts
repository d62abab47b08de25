import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { isCairnError } from '../../../src/errors/index.js';
import { Registry } from '../../../src/registry/index.js';
import {
  API_TOKEN_ISSUER,
  authenticate,
  createOidcVerifier,
  createServerAuth,
  ensureBootstrapAdmin,
  issueApiToken,
  type OidcVerifier,
} from '../../../src/server/auth/index.js';
import { buildServer } from '../../../src/server/index.js';
import {
  openFilesystemBlobStore,
  openSqliteStore,
  type MetadataStore,
  type Role,
} from '../../../src/store/index.js';
import { tempDir } from '../../helpers.js';
import { AUDIENCE, testIssuer, type TestIssuer } from './oidc-fixtures.js';

async function fixture(t: TestContext): Promise<{
  store: MetadataStore;
  idp: TestIssuer;
  oidc: OidcVerifier;
  dir: string;
}> {
  const dir = tempDir(t);
  const store = openSqliteStore({ path: join(dir, 'cairn.sqlite') });
  await store.migrate();
  t.after(() => store.close());
  const idp = await testIssuer(t);
  const oidc = createOidcVerifier({
    issuers: [{ issuer: idp.issuer, audience: AUDIENCE, jwksUri: idp.jwksUri }],
  });
  return { store, idp, oidc, dir };
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isCairnError(err), String(err));
    return err.code;
  }
  return 'resolved';
}

test('Bearer cairn_… goes to API tokens, other bearer tokens to OIDC', async (t) => {
  const { store, idp, oidc } = await fixture(t);
  const now = new Date();
  const { token } = await issueApiToken(store, {
    subject: 'bot',
    description: '',
    expiresAt: null,
    createdBy: { issuer: API_TOKEN_ISSUER, subject: 'admin' },
    at: now,
  });
  const viaToken = await authenticate(`Bearer ${token}`, { oidc, store, now });
  assert.equal(viaToken.method, 'api-token');
  assert.deepEqual([viaToken.issuer, viaToken.subject], [API_TOKEN_ISSUER, 'bot']);
  const jwt = await idp.sign({ sub: 'ci' });
  const viaOidc = await authenticate(`bearer  ${jwt}`, { oidc, store, now });
  assert.equal(viaOidc.method, 'oidc');
  assert.deepEqual([viaOidc.issuer, viaOidc.subject], [idp.issuer, 'ci']);
  // No OIDC configured: JWTs are from an unknown issuer; no store: API tokens are invalid.
  assert.equal(await code(authenticate(`Bearer ${jwt}`, { store, now })), 'AUTH_ISSUER_UNKNOWN');
  assert.equal(await code(authenticate(`Bearer garbage`, { store, now })), 'AUTH_TOKEN_MALFORMED');
  assert.equal(await code(authenticate(`Bearer ${token}`, { oidc, now })), 'AUTH_TOKEN_INVALID');
});

test('missing and malformed Authorization headers have distinct codes', async (t) => {
  const { store, oidc } = await fixture(t);
  const now = new Date();
  const cases: [string | undefined, string][] = [
    [undefined, 'AUTH_REQUIRED'],
    ['', 'AUTH_REQUIRED'],
    ['   ', 'AUTH_REQUIRED'],
    ['Basic dXNlcjpwYXNz', 'AUTH_HEADER_INVALID'],
    ['Bearer', 'AUTH_HEADER_INVALID'],
    ['Bearer a b', 'AUTH_HEADER_INVALID'],
    ['cairn_0123456789abcdef_x', 'AUTH_HEADER_INVALID'],
    [`Bearer ${'a'.repeat(40_000)}`, 'AUTH_TOKEN_TOO_LARGE'],
    ['Bearer cairn_nope', 'AUTH_TOKEN_MALFORMED'],
    ['Bearer a.b.c', 'AUTH_TOKEN_MALFORMED'],
  ];
  for (const [header, expected] of cases) {
    assert.equal(await code(authenticate(header, { oidc, store, now })), expected, header);
  }
});

test('createServerAuth in buildServer: 401 codes, whoami, roles from the store, no token in logs', async (t) => {
  const { store, idp, oidc, dir } = await fixture(t);
  const blobs = openFilesystemBlobStore({ root: join(dir, 'blobs') });
  t.after(() => blobs.close());
  const lines: string[] = [];
  const stream = { write: (line: string) => lines.push(line) };
  const app = await buildServer({
    registry: new Registry({ metadata: store, blobs }),
    auth: createServerAuth({ store, oidc }),
    logger: { level: 'debug', stream },
  });
  t.after(() => app.close());
  const boot = await ensureBootstrapAdmin(store, { at: new Date() });
  assert.ok(boot !== undefined);
  const get = (url: string, authorization?: string) =>
    app.inject({
      method: 'GET',
      url,
      headers: authorization === undefined ? {} : { authorization },
    });

  const who = await get('/v1/whoami', `Bearer ${boot.token}`);
  assert.equal(who.statusCode, 200);
  assert.deepEqual(who.json<{ identity: unknown }>().identity, {
    issuer: API_TOKEN_ISSUER,
    subject: 'admin',
  });

  const none = await get('/v1/whoami');
  assert.equal(none.statusCode, 401);
  assert.equal(none.json<{ error: { code: string } }>().error.code, 'AUTH_REQUIRED');
  const expired = await idp.sign({ exp: Math.floor(Date.now() / 1000) - 3600 });
  const exp = await get('/v1/whoami', `Bearer ${expired}`);
  assert.equal(exp.statusCode, 401);
  assert.equal(exp.json<{ error: { code: string } }>().error.code, 'AUTH_TOKEN_EXPIRED');
  const forged = `${boot.token.slice(0, -4)}AAAA`;
  const bad = await get('/v1/whoami', `Bearer ${forged}`);
  assert.equal(bad.statusCode, 401);
  assert.equal(bad.json<{ error: { code: string } }>().error.code, 'AUTH_TOKEN_INVALID');

  // A CI identity with no binding is authenticated but not authorized (403), then granted.
  const ci = await idp.sign({ sub: 'repo:team/model:ref:refs/heads/main' });
  const audit = await get('/v1/audit', `Bearer ${ci}`);
  assert.equal(audit.statusCode, 403);
  assert.equal(audit.json<{ error: { code: string } }>().error.code, 'ACCESS_DENIED');
  assert.equal((await get('/v1/audit', `Bearer ${boot.token}`)).statusCode, 200);

  const auth = createServerAuth({ store, oidc });
  const actor = await auth.authenticate(`Bearer ${ci}`);
  assert.deepEqual(
    Object.keys(actor).sort(),
    ['issuer', 'subject'],
    'no claims reach the registry',
  );
  await store.grantRole({
    subject: actor,
    role: 'pusher',
    repository: 'team/*',
    environment: 'staging',
    grantedBy: boot.actor,
    at: new Date(),
  });
  await auth.authorize(actor, {
    roles: ['pusher'],
    repository: 'team/model',
    environment: 'staging',
  });
  const refusals: [Role, string, string][] = [
    ['pusher', 'production', 'PUSH_TO_PROTECTED_ENVIRONMENT'],
    ['promoter', 'production', 'ACCESS_DENIED'],
    ['deployer', 'production', 'ACCESS_DENIED'],
    ['pusher', 'qa', 'ACCESS_DENIED'],
  ];
  for (const [role, environment, expected] of refusals) {
    const request = { roles: [role], repository: 'team/model', environment };
    assert.equal(await code(auth.authorize(actor, request)), expected, `${role} ${environment}`);
  }

  const logged = lines.join('\n');
  for (const secret of [boot.token, boot.token.slice(-43), expired.split('.')[2]!, forged]) {
    assert.ok(!logged.includes(secret), 'a token reached the log');
  }
  assert.ok(lines.length > 0, 'the server logged the requests');
});

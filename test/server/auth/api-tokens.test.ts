import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { isCairnError } from '../../../src/errors/index.js';
import {
  API_TOKEN_ISSUER,
  API_TOKEN_LENGTH,
  authorize,
  ensureBootstrapAdmin,
  formatApiToken,
  issueApiToken,
  parseApiToken,
  verifyApiToken,
} from '../../../src/server/auth/index.js';
import { openSqliteStore, type Actor, type MetadataStore } from '../../../src/store/index.js';
import { tempDir } from '../../helpers.js';

const T0 = new Date('2026-03-01T10:00:00Z');
const later = (ms: number) => new Date(T0.getTime() + ms);
const operator: Actor = { issuer: API_TOKEN_ISSUER, subject: 'operator' };

/** A real SQLite store in a fresh directory (the embedded default). */
async function sqlite(t: TestContext): Promise<{ store: MetadataStore; dir: string }> {
  const dir = tempDir(t);
  const store = openSqliteStore({ path: join(dir, 'cairn.sqlite') });
  await store.migrate();
  t.after(() => store.close());
  return { store, dir };
}

async function refused(promise: Promise<unknown>, code: string, token: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isCairnError(err), String(err));
    assert.equal(err.code, code);
    const secret = token.slice(-43);
    assert.ok(!JSON.stringify(err.toJSON()).includes(secret), 'the secret leaks into the error');
    assert.ok(!err.message.includes(secret));
    return true;
  });
}

test('issue → verify → revoke against SQLite; only the SHA-256 of the secret is stored', async (t) => {
  const { store, dir } = await sqlite(t);
  const { token, record } = await issueApiToken(store, {
    subject: 'ci-bot',
    description: 'CI pushes',
    expiresAt: later(86_400_000),
    createdBy: operator,
    at: T0,
  });
  assert.equal(token.length, API_TOKEN_LENGTH);
  assert.match(token, /^cairn_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  assert.equal(record.id, token.slice(6, 22));
  assert.deepEqual(record.subject, { issuer: API_TOKEN_ISSUER, subject: 'ci-bot' });

  const ok = await verifyApiToken(store, token, later(1000));
  assert.deepEqual(ok.actor, { issuer: API_TOKEN_ISSUER, subject: 'ci-bot' });
  assert.equal(ok.record.id, record.id);

  // Neither the token nor its secret is anywhere in the database files or the listing.
  const secret = token.slice(-43);
  const secretHex = Buffer.from(secret, 'base64url').toString('hex');
  // (The WAL file is read too: that is where fresh rows are.)
  for (const f of readdirSync(dir)) {
    const bytes = readFileSync(join(dir, f));
    assert.ok(!bytes.includes(secret), `${f} holds the secret`);
    assert.ok(!bytes.includes(secretHex), `${f} holds the secret`);
  }
  const listed = await store.listApiTokens();
  assert.equal(listed.length, 1);
  assert.ok(!JSON.stringify(listed).includes(secret));
  assert.match(listed[0]!.secretHash, /^[0-9a-f]{64}$/);

  await store.revokeApiToken(record.id, later(2000));
  await refused(verifyApiToken(store, token, later(3000)), 'AUTH_TOKEN_REVOKED', token);
  // Before the revocation instant it was still good (times are the caller's).
  assert.ok(await verifyApiToken(store, token, later(1500)));
});

test('expired, wrong-secret, unknown and malformed tokens are refused with their codes', async (t) => {
  const { store } = await sqlite(t);
  const { token } = await issueApiToken(store, {
    subject: 'short-lived',
    description: '',
    expiresAt: later(60_000),
    createdBy: operator,
    at: T0,
  });
  await refused(verifyApiToken(store, token, later(60_000)), 'AUTH_TOKEN_EXPIRED', token);
  // The right id with another secret: same answer as an unknown id.
  const wrongSecret = formatApiToken(token.slice(6, 22), Buffer.alloc(32, 7));
  await refused(verifyApiToken(store, wrongSecret, T0), 'AUTH_TOKEN_INVALID', wrongSecret);
  const unknown = formatApiToken('0123456789abcdef', Buffer.alloc(32, 1));
  await refused(verifyApiToken(store, unknown, T0), 'AUTH_TOKEN_INVALID', unknown);
  for (const bad of [
    'cairn_',
    `${token}x`,
    token.slice(0, -1),
    token.replace('cairn_', 'cairn-'),
    token.toUpperCase(),
    `${token.slice(0, 22)}.${token.slice(23)}`,
  ]) {
    await refused(verifyApiToken(store, bad, T0), 'AUTH_TOKEN_MALFORMED', token);
  }
  // Never-expiring tokens exist (revocation ends them); already-expired ones are not issued.
  const forever = await issueApiToken(store, {
    subject: 'forever',
    description: '',
    expiresAt: null,
    createdBy: operator,
    at: T0,
  });
  assert.ok(await verifyApiToken(store, forever.token, later(10 * 365 * 86_400_000)));
  await assert.rejects(
    issueApiToken(store, {
      subject: 'x',
      description: '',
      expiresAt: T0,
      createdBy: operator,
      at: T0,
    }),
    (e: unknown) => isCairnError(e) && e.code === 'REQUEST_INVALID',
  );
  await assert.rejects(
    issueApiToken(store, {
      subject: 'has space',
      description: '',
      expiresAt: null,
      createdBy: operator,
      at: T0,
    }),
    (e: unknown) => isCairnError(e) && e.code === 'REQUEST_INVALID',
  );
});

test('the bootstrap admin is created once, can log in, and is admin everywhere', async (t) => {
  const { store } = await sqlite(t);
  const first = await ensureBootstrapAdmin(store, { at: T0 });
  assert.ok(first !== undefined);
  assert.deepEqual(first.actor, { issuer: API_TOKEN_ISSUER, subject: 'admin' });
  assert.equal(await ensureBootstrapAdmin(store, { at: later(1000) }), undefined);
  assert.equal((await store.listApiTokens()).length, 1);

  const { actor } = await verifyApiToken(store, first.token, later(5000));
  const bindings = await store.listRoleBindings(actor);
  assert.deepEqual(
    bindings.map((b) => [b.role, b.repository, b.environment]),
    [['admin', '**', '*']],
  );
  const decision = authorize(actor, bindings, {
    action: 'admin',
    repository: 'team/model',
    environment: 'staging',
  });
  assert.equal(decision.allowed, true);
  // The audit trail records the creation, never the token.
  const audit = await store.listAudit();
  assert.equal(audit.length, 1);
  assert.equal(audit[0]!.action, 'token.create');
  assert.ok(!JSON.stringify(audit).includes(first.token.slice(-43)));
});

// ── the token-string parser, by property ─────────────────────────────────────────────────

const idArb = fc
  .uint8Array({ minLength: 8, maxLength: 8 })
  .map((b) => Buffer.from(b).toString('hex'));
const secretArb = fc.uint8Array({ minLength: 32, maxLength: 32 });

test('parse(format(id, secret)) gives back id and secret', () => {
  fc.assert(
    fc.property(idArb, secretArb, (id, secret) => {
      const token = formatApiToken(id, secret);
      assert.equal(token.length, API_TOKEN_LENGTH);
      const parsed = parseApiToken(token);
      assert.equal(parsed.id, id);
      assert.deepEqual([...parsed.secret], [...secret]);
    }),
    { numRuns: 500 },
  );
});

test('any string parses to the one token it spells, or is AUTH_TOKEN_MALFORMED', () => {
  const nearTokens = fc
    .tuple(idArb, secretArb, fc.nat(), fc.string({ minLength: 0, maxLength: 3 }))
    .map(([id, secret, at, insert]) => {
      const token = formatApiToken(id, secret);
      const i = at % (token.length + 1);
      return token.slice(0, i) + insert + token.slice(i + (insert.length === 0 ? 1 : 0));
    });
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 120 }), nearTokens), (text) => {
      let parsed;
      try {
        parsed = parseApiToken(text);
      } catch (err) {
        assert.ok(isCairnError(err) && err.code === 'AUTH_TOKEN_MALFORMED', String(err));
        return;
      }
      // Accepted: the string is exactly the canonical spelling of what it parsed to.
      assert.equal(formatApiToken(parsed.id, parsed.secret), text);
    }),
    { numRuns: 2000 },
  );
});

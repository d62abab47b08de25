import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { openSqliteStore, verifyAuditChain, type MetadataStore } from '../../src/store/index.js';
import { repoRoot, tempDir } from '../helpers.js';
import {
  alice,
  artifact,
  at,
  auditEvent,
  metadataContract,
  rejectsWith,
  twoStoresContract,
} from './metadata-contract.js';

metadataContract('sqlite', async (t) => {
  const store = openSqliteStore({ path: join(tempDir(t, 'cairn-sqlite-'), 'data', 'cairn.db') });
  await store.migrate();
  return store;
});

test('sqlite: WAL mode, a schema version, and data that survives reopening', async (t) => {
  const path = join(tempDir(t, 'cairn-sqlite-'), 'cairn.db');
  const store = openSqliteStore({ path });
  await store.migrate();
  await store.createRepository({
    name: 'team/model',
    protected: true,
    createdBy: alice,
    at: at(0),
  });
  await store.appendAudit(auditEvent(1));
  await store.close();

  const raw = new Database(path, { readonly: true });
  try {
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    assert.deepEqual(raw.prepare('SELECT version FROM cairn_schema_version').all(), [
      { version: 1 },
    ]);
  } finally {
    raw.close();
  }
  const again = openSqliteStore({ path });
  await again.migrate();
  assert.equal((await again.getRepository('team/model'))?.protected, true);
  assert.equal(verifyAuditChain(await again.listAudit()).valid, true);
  await again.close();
});

test('sqlite: a database edited behind the store fails audit verification at that record', async (t) => {
  const path = join(tempDir(t, 'cairn-sqlite-'), 'cairn.db');
  const store = openSqliteStore({ path });
  await store.migrate();
  for (let i = 1; i <= 4; i++) await store.appendAudit(auditEvent(i));
  const raw = new Database(path);
  raw.prepare('UPDATE audit SET body = replace(body, \'"allow"\', \'"deny"\') WHERE seq = 2').run();
  raw.close();
  const result = verifyAuditChain(await store.listAudit());
  assert.equal(result.valid, false);
  assert.equal(!result.valid && result.failure.seq, 2);
  await store.close();
});

test('sqlite: a closed store and an unopenable file are STORE_UNAVAILABLE', async (t) => {
  const dir = tempDir(t, 'cairn-sqlite-');
  const store = openSqliteStore({ path: join(dir, 'cairn.db') });
  await store.migrate();
  await store.close();
  await rejectsWith(store.ping(), 'STORE_UNAVAILABLE');
  await rejectsWith(store.putArtifact(artifact('team/model', 'staging', 'a')), 'STORE_UNAVAILABLE');
  assert.throws(() => openSqliteStore({ path: dir }), { code: 'STORE_UNAVAILABLE' });
});

test('sqlite: a schema newer than this Cairn is refused', async (t) => {
  const path = join(tempDir(t, 'cairn-sqlite-'), 'cairn.db');
  const store = openSqliteStore({ path });
  await store.migrate();
  const raw = new Database(path);
  raw.prepare('INSERT INTO cairn_schema_version (version) VALUES (99)').run();
  raw.close();
  await rejectsWith(store.migrate(), 'STORE_UNAVAILABLE');
  await store.close();
});

twoStoresContract('sqlite', async (t) => {
  const path = join(tempDir(t, 'cairn-sqlite-'), 'cairn.db');
  const pair: [MetadataStore, MetadataStore] = [
    openSqliteStore({ path }),
    openSqliteStore({ path }),
  ];
  await Promise.all(pair.map((s) => s.migrate()));
  return pair;
});

test('sqlite: two processes on one file append to one gapless audit chain (SQLite file locks)', async (t) => {
  const path = join(tempDir(t, 'cairn-sqlite-'), 'cairn.db');
  const store = openSqliteStore({ path });
  await store.migrate();
  const storeUrl = pathToFileURL(join(repoRoot, 'dist', 'src', 'store', 'index.js')).href;
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `
      import { openSqliteStore } from ${JSON.stringify(storeUrl)};
      const store = openSqliteStore({ path: ${JSON.stringify(path)} });
      const actor = { issuer: 'child', subject: 'c' };
      await store.ping();
      process.stdout.write('ready\\n');
      for (let i = 0; i < 60; i++) {
        await store.appendAudit({ at: new Date(), actor, action: 'push', decision: 'allow', reasons: [] });
      }
      await store.close();
      `,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise((resolve) => child.stdout.once('data', resolve));
  for (let i = 0; i < 60; i++) await store.appendAudit(auditEvent(i));
  assert.equal(await exited, 0);
  const records = await store.listAudit();
  assert.deepEqual(
    records.map((r) => r.seq),
    Array.from({ length: 120 }, (_, i) => i + 1),
  );
  assert.equal(verifyAuditChain(records).valid, true);
  assert.equal(records.filter((r) => r.actor.issuer === 'child').length, 60);
  const switches = records.filter(
    (r, i) => i > 0 && r.actor.issuer !== records[i - 1]?.actor.issuer,
  ).length;
  t.diagnostic(`writers took turns ${switches} times`);
  await store.close();
});

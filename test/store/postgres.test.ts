import assert from 'node:assert/strict';
import { after, test, type TestContext } from 'node:test';
import pg from 'pg';
import { openPostgresStore, verifyAuditChain, type MetadataStore } from '../../src/store/index.js';
import {
  alice,
  auditEvent,
  createRepo,
  metadataContract,
  rejectsWith,
  twoStoresContract,
} from './metadata-contract.js';
import {
  freePort,
  freshDatabase,
  ownPostgres,
  removeSharedPostgres,
  sharedPostgres,
} from './postgres-server.js';

after(removeSharedPostgres);

async function database(t: TestContext): Promise<string | undefined> {
  const server = await sharedPostgres(t);
  return server === undefined ? undefined : freshDatabase(t, server);
}

metadataContract('postgres', async (t) => {
  const url = await database(t);
  if (url === undefined) return undefined;
  const store = openPostgresStore({ url });
  await store.migrate();
  return store;
});

// Two servers' stores: separate pools on one database, migrating at the same moment.
twoStoresContract(
  'postgres',
  async (t) => {
    const url = await database(t);
    if (url === undefined) return undefined;
    const pair: [MetadataStore, MetadataStore] = [
      openPostgresStore({ url, poolSize: 4 }),
      openPostgresStore({ url, poolSize: 4 }),
    ];
    await Promise.all(pair.map((s) => s.migrate()));
    return pair;
  },
  25,
);

test('postgres: four servers migrating one empty database at once leave one schema version', async (t) => {
  const url = await database(t);
  if (url === undefined) return;
  const stores = Array.from({ length: 4 }, () => openPostgresStore({ url, poolSize: 2 }));
  try {
    await Promise.all(stores.map((s) => s.migrate()));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT version FROM cairn_schema_version');
      assert.deepEqual(rows, [{ version: 1 }]);
    } finally {
      await client.end();
    }
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
});

test('postgres: a database restart is STORE_UNAVAILABLE while down, then the pool reconnects', async (t) => {
  const server = await ownPostgres(t);
  if (server === undefined) return;
  const store = openPostgresStore({ url: server.url, connectTimeoutMs: 2000 });
  t.after(() => store.close());
  await store.migrate();
  await createRepo(store);
  await store.appendAudit(auditEvent(1));

  server.stop();
  await rejectsWith(store.ping(), 'STORE_UNAVAILABLE');
  await rejectsWith(store.appendAudit(auditEvent(2)), 'STORE_UNAVAILABLE');
  await rejectsWith(store.getRepository('team/model'), 'STORE_UNAVAILABLE');

  server.start();
  await store.ping();
  await store.appendAudit(auditEvent(3));
  const records = await store.listAudit();
  assert.deepEqual(
    records.map((r) => r.seq),
    [1, 2],
    'the append made while down left nothing',
  );
  assert.equal(verifyAuditChain(records).valid, true);
  assert.deepEqual((await store.getRepository('team/model'))?.createdBy, alice);
});

test('postgres: nothing listening is STORE_UNAVAILABLE, not a hang', async () => {
  const port = await freePort();
  const store = openPostgresStore({
    url: `postgres://cairn@127.0.0.1:${port}/none`,
    connectTimeoutMs: 1000,
  });
  try {
    await rejectsWith(store.ping(), 'STORE_UNAVAILABLE');
    await rejectsWith(store.migrate(), 'STORE_UNAVAILABLE');
  } finally {
    await store.close();
  }
});

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { Registry } from '../../src/registry/index.js';
import { openFilesystemBlobStore, openPostgresStore, type Actor } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';
import { freshDatabase, removeSharedPostgres, sharedPostgres } from '../store/postgres-server.js';
import { productionPolicy, signatureFor, testModel, testTrust, uploadBlob } from './fixtures.js';

after(removeSharedPostgres);

const ci: Actor = { issuer: 'test', subject: 'ci' };
const deployer: Actor = { issuer: 'test', subject: 'deployer' };

/** Two registries (two servers) on one PostgreSQL database and one blob directory. */
async function twoServers(t: TestContext): Promise<[Registry, Registry] | undefined> {
  const server = await sharedPostgres(t);
  if (server === undefined) return undefined;
  const url = await freshDatabase(t, server);
  const dir = tempDir(t);
  const trust = await testTrust();
  const make = async () => {
    const metadata = openPostgresStore({ url });
    await metadata.migrate();
    const blobs = openFilesystemBlobStore({ root: join(dir, 'blobs') });
    t.after(async () => {
      await blobs.close();
      await metadata.close();
    });
    return new Registry({
      metadata,
      blobs,
      trust: { root: trust.root },
      policies: productionPolicy(deployer),
      signer: trust.server,
    });
  };
  const pair: [Registry, Registry] = [await make(), await make()];
  const model = testModel();
  await pair[0].createRepository(ci, 'acme/llm');
  for (const bytes of model.files.values()) await uploadBlob(pair[0], 'acme/llm', bytes);
  await pair[0].push(ci, 'acme/llm', 'staging', model.digest, {
    resources: model.resources,
    serialization: model.serialization as never,
    signatures: [await signatureFor(model, trust.ci)],
  });
  return pair;
}

test('on PostgreSQL: two servers promote and move tags concurrently; one audit chain', async (t) => {
  const pair = await twoServers(t);
  if (pair === undefined) return;
  const [a, b] = pair;
  const { digest } = testModel();
  const results = await Promise.allSettled(
    Array.from({ length: 6 }, (_, i) =>
      (i % 2 === 0 ? a : b).promote(ci, 'acme/llm', { digest, from: 'staging', to: 'production' }),
    ),
  );
  assert.ok(
    results.every((r) => r.status === 'fulfilled'),
    JSON.stringify(results),
  );
  assert.equal((await b.listArtifacts('acme/llm', 'production')).length, 1);
  // Compare-and-set tag creation from both servers at once: exactly one wins.
  const tags = await Promise.allSettled(
    Array.from({ length: 6 }, (_, i) =>
      (i % 2 === 0 ? a : b).moveTag(ci, 'acme/llm', 'production', 'prod-current', {
        digest,
        expected: null,
      }),
    ),
  );
  assert.equal(tags.filter((r) => r.status === 'fulfilled').length, 1);
  const retrieved = await b.retrieve(deployer, 'acme/llm', 'production', {
    kind: 'digest',
    digest,
  });
  assert.equal(retrieved.decision?.outcome, 'allow');
  const audit = await a.listAudit();
  assert.deepEqual(
    audit.map((r) => r.seq),
    audit.map((_, i) => i + 1),
  );
  for (let i = 1; i < audit.length; i++) assert.equal(audit[i]!.prevHash, audit[i - 1]!.hash);
  assert.equal(audit.filter((r) => r.action === 'promote' && r.decision === 'allow').length, 6);
  assert.equal(audit.filter((r) => r.action === 'tag.move' && r.decision === 'deny').length, 5);
});

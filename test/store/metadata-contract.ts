/**
 * The metadata store contract, one suite for every backend: each backend's test file calls
 * `metadataContract` with a function that opens a fresh, migrated, empty store.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import { isCairnError } from '../../src/errors/index.js';
import {
  verifyAuditChain,
  type Actor,
  type MetadataStore,
  type NewArtifact,
  type NewAuditEvent,
  type Sha256Digest,
  type TagHistoryEntry,
} from '../../src/store/index.js';

export type OpenMetadataStore = (t: TestContext) => Promise<MetadataStore | undefined>;

export const alice: Actor = { issuer: 'https://issuer.example', subject: 'alice' };
export const bob: Actor = { issuer: 'cairn:api-token', subject: 'bob' };

export function sha(text: string): Sha256Digest {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** Instants a minute apart from a fixed origin: the store never reads the clock. */
export function at(minute: number): Date {
  return new Date(Date.UTC(2026, 0, 6, 12, minute, 0, 123));
}

export function artifact(repository: string, environment: string, seed: string): NewArtifact {
  return {
    repository,
    environment,
    digest: sha(`artifact ${seed}`),
    resources: [
      { name: 'config.json', blob: sha(`config ${seed}`), size: 12 },
      { name: 'weights.bin', blob: sha(`weights ${seed}`), size: 4096 },
    ],
    serialization: {
      method: 'files',
      hash_type: 'sha256',
      allow_symlinks: false,
      ignore_paths: [],
    },
    pushedBy: alice,
    at: at(1),
  };
}

export function auditEvent(i: number, extra: Partial<NewAuditEvent> = {}): NewAuditEvent {
  return {
    at: at(i),
    actor: alice,
    action: 'push',
    decision: 'allow',
    repository: 'team/model',
    environment: 'staging',
    digest: sha(`artifact ${i}`),
    reasons: [],
    detail: { n: i, nested: { b: [1, 'two', null], a: true } },
    ...extra,
  };
}

/** Asserts that `promise` rejects with a CairnError of `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isCairnError(error), `expected a CairnError ${code}, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

/** One test over a freshly opened store (skipped when `open` gives none), closed afterwards. */
export function storeTest<S extends { close(): Promise<void> }>(
  open: (t: TestContext) => Promise<S | undefined>,
): (name: string, body: (store: S) => Promise<void>) => void {
  return (name, body) => {
    test(name, async (t) => {
      const store = await open(t);
      if (store === undefined) return;
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });
  };
}

/** Creates `team/model` (or `name`) as `alice` at minute 0. */
export function createRepo(store: MetadataStore, name = 'team/model', isProtected = false) {
  return store.createRepository({ name, protected: isProtected, createdBy: alice, at: at(0) });
}

export function metadataContract(backend: string, open: OpenMetadataStore): void {
  describe(`metadata store contract: ${backend}`, () => {
    const withStore = storeTest(open);

    withStore('migrate is idempotent and ping answers', async (store) => {
      await store.migrate();
      await store.migrate();
      await store.ping();
    });

    withStore(
      'repositories: create, get, list, and a second create is REPOSITORY_EXISTS',
      async (store) => {
        const created = await createRepo(store);
        assert.deepEqual(created, {
          name: 'team/model',
          protected: false,
          createdBy: alice,
          at: at(0),
        });
        await store.createRepository({
          name: 'team/prod',
          protected: true,
          createdBy: bob,
          at: at(1),
        });
        assert.deepEqual(await store.getRepository('team/prod'), {
          name: 'team/prod',
          protected: true,
          createdBy: bob,
          at: at(1),
        });
        assert.equal(await store.getRepository('team/none'), undefined);
        assert.deepEqual(
          (await store.listRepositories()).map((r) => r.name),
          ['team/model', 'team/prod'],
        );
        await rejectsWith(
          store.createRepository({
            name: 'team/model',
            protected: true,
            createdBy: bob,
            at: at(2),
          }),
          'REPOSITORY_EXISTS',
        );
        assert.equal(
          (await store.getRepository('team/model'))?.protected,
          false,
          'the first one stands',
        );
      },
    );

    withStore(
      'artifacts: put is idempotent per (repository, environment, digest); blobs are tracked',
      async (store) => {
        await createRepo(store);
        const a = artifact('team/model', 'staging', 'a');
        const first = await store.putArtifact(a);
        assert.equal(first.created, true);
        assert.deepEqual(first.artifact, a);
        const again = await store.putArtifact({ ...a, pushedBy: bob, at: at(9) });
        assert.equal(again.created, false);
        assert.deepEqual(again.artifact, a, 'the first push stands');
        assert.deepEqual(await store.getArtifact('team/model', 'staging', a.digest), a);
        assert.equal(await store.getArtifact('team/model', 'production', a.digest), undefined);

        const promoted: NewArtifact = {
          ...a,
          environment: 'production',
          promotedFrom: { environment: 'staging', auditSeq: 7 },
        };
        assert.equal((await store.putArtifact(promoted)).created, true);
        assert.deepEqual(await store.getArtifact('team/model', 'production', a.digest), promoted);

        const b = artifact('team/model', 'staging', 'b');
        await store.putArtifact(b);
        assert.deepEqual(
          (await store.listArtifacts('team/model', 'staging')).map((x) => x.digest),
          [a.digest, b.digest],
        );
        assert.equal(await store.blobReferenced(sha('weights a')), true);
        assert.equal(await store.blobReferenced(sha('weights zzz')), false);
        await rejectsWith(
          store.putArtifact(artifact('team/none', 'staging', 'c')),
          'REPOSITORY_NOT_FOUND',
        );
      },
    );

    withStore(
      'artifacts: malformed digests and sizes are STORE_INPUT_INVALID, nothing stored',
      async (store) => {
        await createRepo(store);
        const a = artifact('team/model', 'staging', 'a');
        await rejectsWith(store.putArtifact({ ...a, digest: 'sha256:ABC' }), 'STORE_INPUT_INVALID');
        await rejectsWith(
          store.putArtifact({
            ...a,
            resources: [{ name: 'x', blob: 'md5:00' as Sha256Digest, size: 1 }],
          }),
          'STORE_INPUT_INVALID',
        );
        await rejectsWith(
          store.putArtifact({ ...a, resources: [{ name: 'x', blob: sha('x'), size: -1 }] }),
          'STORE_INPUT_INVALID',
        );
        await rejectsWith(
          store.putArtifact({ ...a, at: new Date(Number.NaN) }),
          'STORE_INPUT_INVALID',
        );
        assert.deepEqual(await store.listArtifacts('team/model', 'staging'), []);
      },
    );

    withStore(
      'bundles: stored once per repository and bytes, listed by digest in order',
      async (store) => {
        await createRepo(store);
        const digest = sha('artifact a');
        const sig = {
          repository: 'team/model',
          digest,
          kind: 'signature' as const,
          predicateType: 'https://model_signing/signature/v1.0',
          bundle: '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}',
          addedBy: alice,
          at: at(2),
        };
        const first = await store.addBundle(sig);
        assert.equal(first.created, true);
        assert.equal(first.bundle.id, sha(sig.bundle));
        assert.deepEqual(first.bundle, { ...sig, id: sha(sig.bundle) });
        assert.equal((await store.addBundle({ ...sig, addedBy: bob })).created, false);
        const att = {
          ...sig,
          kind: 'attestation' as const,
          predicateType: 'https://slsa.dev/provenance/v1',
          bundle: '{"x":1}',
        };
        await store.addBundle(att);
        const listed = await store.listBundles('team/model', digest);
        assert.deepEqual(
          listed.map((b) => b.kind),
          ['signature', 'attestation'],
        );
        assert.equal(listed[0]?.bundle, sig.bundle, 'bytes verbatim');
        assert.deepEqual(await store.listBundles('team/model', sha('other')), []);
        await rejectsWith(
          store.addBundle({ ...sig, repository: 'team/none' }),
          'REPOSITORY_NOT_FOUND',
        );
        await rejectsWith(
          store.addBundle({ ...sig, kind: 'other' as 'signature' }),
          'STORE_INPUT_INVALID',
        );
      },
    );

    withStore(
      'tags: compare-and-set moves, history records every move, TAG_CONFLICT on a stale expectation',
      async (store) => {
        await createRepo(store);
        const a = (await store.putArtifact(artifact('team/model', 'staging', 'a'))).artifact.digest;
        const b = (await store.putArtifact(artifact('team/model', 'staging', 'b'))).artifact.digest;
        const base = {
          repository: 'team/model',
          environment: 'staging',
          tag: 'latest',
          actor: alice,
        };

        const h1 = await store.moveTag({
          ...base,
          digest: a,
          expected: null,
          at: at(3),
          reason: 'first',
        });
        assert.equal(h1.previous, null);
        assert.equal(h1.reason, 'first');
        await rejectsWith(
          store.moveTag({ ...base, digest: b, expected: null, at: at(4) }),
          'TAG_CONFLICT',
        );
        await rejectsWith(
          store.moveTag({ ...base, digest: b, expected: b, at: at(4) }),
          'TAG_CONFLICT',
        );
        const h2 = await store.moveTag({ ...base, digest: b, expected: a, actor: bob, at: at(5) });
        assert.equal(h2.previous, a);
        assert.ok(h2.seq > h1.seq);
        assert.equal(h2.reason, undefined);
        const h3 = await store.moveTag({ ...base, digest: a, at: at(6) }); // unconditional
        assert.equal(h3.previous, b);

        assert.deepEqual(await store.getTag('team/model', 'staging', 'latest'), {
          repository: 'team/model',
          environment: 'staging',
          tag: 'latest',
          digest: a,
          updatedBy: alice,
          at: at(6),
        });
        assert.equal(await store.getTag('team/model', 'production', 'latest'), undefined);
        await store.moveTag({ ...base, tag: 'candidate', digest: b, at: at(7) });
        assert.deepEqual(
          (await store.listTags('team/model', 'staging')).map((t) => t.tag),
          ['candidate', 'latest'],
        );

        const history = await store.tagHistory('team/model', 'staging', 'latest');
        assert.deepEqual(
          history.map((h) => [h.digest, h.previous]),
          [
            [a, null],
            [b, a],
            [a, b],
          ],
        );
        assert.deepEqual(history[1], h2);
        assert.equal((await store.tagHistory('team/model', 'staging')).length, 4);
        // "What was latest at minute 5?": the last move at or before then.
        const atFive = history.filter((h) => h.at <= at(5)).at(-1);
        assert.equal(atFive?.digest, b);
      },
    );

    withStore(
      'tags: re-setting the same digest is not a move and adds no history',
      async (store) => {
        await createRepo(store);
        const a = (await store.putArtifact(artifact('team/model', 'staging', 'a'))).artifact.digest;
        const base = { repository: 'team/model', environment: 'staging', tag: 'v1', actor: alice };
        const h1 = await store.moveTag({ ...base, digest: a, at: at(1) });
        assert.deepEqual(await store.moveTag({ ...base, digest: a, expected: a, at: at(2) }), h1);
        assert.equal((await store.tagHistory('team/model', 'staging', 'v1')).length, 1);
      },
    );

    withStore(
      'tags: protected repositories never move a set tag (TAG_IMMUTABLE)',
      async (store) => {
        await createRepo(store, 'team/prod', true);
        const a = (await store.putArtifact(artifact('team/prod', 'production', 'a'))).artifact
          .digest;
        const b = (await store.putArtifact(artifact('team/prod', 'production', 'b'))).artifact
          .digest;
        const base = {
          repository: 'team/prod',
          environment: 'production',
          tag: 'v1',
          actor: alice,
        };
        await store.moveTag({ ...base, digest: a, expected: null, at: at(1) });
        await rejectsWith(store.moveTag({ ...base, digest: b, at: at(2) }), 'TAG_IMMUTABLE');
        await rejectsWith(
          store.moveTag({ ...base, digest: b, expected: a, at: at(2) }),
          'TAG_IMMUTABLE',
        );
        assert.equal((await store.getTag('team/prod', 'production', 'v1'))?.digest, a);
        assert.equal((await store.tagHistory('team/prod', 'production')).length, 1);
      },
    );

    withStore(
      'tags: pointing at an artifact that is not there is ARTIFACT_NOT_FOUND; bad input refused',
      async (store) => {
        await createRepo(store);
        const base = {
          repository: 'team/model',
          environment: 'staging',
          tag: 'v1',
          actor: alice,
          at: at(1),
        };
        await rejectsWith(store.moveTag({ ...base, digest: sha('nothing') }), 'ARTIFACT_NOT_FOUND');
        await rejectsWith(
          store.moveTag({ ...base, repository: 'team/none', digest: sha('x') }),
          'REPOSITORY_NOT_FOUND',
        );
        await rejectsWith(
          store.moveTag({ ...base, digest: 'latest' as Sha256Digest }),
          'STORE_INPUT_INVALID',
        );
        await rejectsWith(
          store.moveTag({ ...base, tag: '', digest: sha('x') }),
          'STORE_INPUT_INVALID',
        );
        assert.deepEqual(await store.tagHistory('team/model', 'staging'), []);
      },
    );

    withStore(
      'audit: appends chain gaplessly and verify detects edits, deletions and reordering',
      async (store) => {
        const appended = [];
        for (let i = 1; i <= 5; i++) appended.push(await store.appendAudit(auditEvent(i)));
        appended.push(
          await store.appendAudit({
            at: at(6),
            actor: bob,
            action: 'login',
            decision: 'deny',
            reasons: ['TOKEN_EXPIRED'],
          }),
        );
        assert.deepEqual(
          appended.map((r) => r.seq),
          [1, 2, 3, 4, 5, 6],
        );
        assert.equal(appended[0]?.prevHash, '0'.repeat(64));
        const listed = await store.listAudit();
        assert.deepEqual(listed, appended, 'what was appended is what reads back');
        assert.deepEqual(verifyAuditChain(listed), {
          valid: true,
          count: 6,
          head: { seq: 6, hash: appended[5]?.hash },
        });

        assert.deepEqual(
          (await store.listAudit({ afterSeq: 2, limit: 2 })).map((r) => r.seq),
          [3, 4],
        );
        const window = await store.listAudit({ afterSeq: 4 });
        const fourth = listed[3]!;
        assert.equal(
          verifyAuditChain(window, { after: { seq: 4, hash: fourth.hash } }).valid,
          true,
        );

        const edited = listed.map((r) => (r.seq === 3 ? { ...r, decision: 'deny' as const } : r));
        assert.deepEqual(problem(verifyAuditChain(edited)), ['edited', 3]);
        const deleted = listed.filter((r) => r.seq !== 3);
        assert.deepEqual(problem(verifyAuditChain(deleted)), ['missing', 4]);
        const swapped = [listed[0]!, listed[2]!, listed[1]!, ...listed.slice(3)];
        assert.deepEqual(problem(verifyAuditChain(swapped)), ['reordered', 3]);
        const renumbered = deleted.map((r) => (r.seq > 3 ? { ...r, seq: r.seq - 1 } : r));
        assert.deepEqual(problem(verifyAuditChain(renumbered)), ['edited', 3]);
        const cut = listed.slice(0, 4);
        assert.deepEqual(
          problem(verifyAuditChain(cut, { head: { seq: 6, hash: appended[5]!.hash } })),
          ['truncated', 6],
        );
      },
    );

    withStore('audit: bad limits are STORE_INPUT_INVALID', async (store) => {
      await rejectsWith(store.listAudit({ limit: 0 }), 'STORE_INPUT_INVALID');
      await rejectsWith(store.listAudit({ afterSeq: -1 }), 'STORE_INPUT_INVALID');
      await rejectsWith(store.listAudit({ limit: 1.5 }), 'STORE_INPUT_INVALID');
      await rejectsWith(
        store.appendAudit({ ...auditEvent(1), digest: 'sha256:x' }),
        'STORE_INPUT_INVALID',
      );
      assert.deepEqual(await store.listAudit(), []);
    });

    withStore('audit: concurrent appends from one store stay gapless and valid', async (store) => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendAudit(auditEvent(i))));
      const listed = await store.listAudit();
      assert.deepEqual(
        listed.map((r) => r.seq),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      assert.equal(verifyAuditChain(listed).valid, true);
    });

    withStore('api tokens: create, find, revoke once, list', async (store) => {
      const token = {
        id: 'tok1',
        secretHash: 'a'.repeat(64),
        subject: bob,
        description: 'CI',
        createdBy: alice,
        at: at(1),
        expiresAt: at(30),
      };
      assert.deepEqual(await store.createApiToken(token), { ...token, revokedAt: null });
      await store.createApiToken({ ...token, id: 'tok2', expiresAt: null });
      await rejectsWith(store.createApiToken(token), 'STORE_INPUT_INVALID');
      assert.deepEqual(await store.findApiToken('tok1'), { ...token, revokedAt: null });
      assert.equal(await store.findApiToken('nope'), undefined);
      await store.revokeApiToken('tok1', at(5));
      await store.revokeApiToken('tok1', at(6));
      assert.deepEqual(
        (await store.findApiToken('tok1'))?.revokedAt,
        at(5),
        'the first revocation stands',
      );
      await store.revokeApiToken('nope', at(6));
      assert.deepEqual(
        (await store.listApiTokens()).map((x) => [x.id, x.expiresAt]),
        [
          ['tok1', at(30)],
          ['tok2', null],
        ],
      );
    });

    withStore(
      'roles: grant is idempotent, revoke removes, list filters by exact subject',
      async (store) => {
        const grant = (subject: Actor, role: 'reader' | 'pusher', repository: string) =>
          store.grantRole({
            subject,
            role,
            repository,
            environment: '*',
            grantedBy: alice,
            at: at(1),
          });
        await grant(bob, 'pusher', 'team/*');
        await grant(bob, 'pusher', 'team/*');
        await rejectsWith(grant(bob, 'root' as 'reader', '*'), 'STORE_INPUT_INVALID');
        await grant(bob, 'reader', '*');
        await grant(alice, 'reader', 'team/model');
        await grant({ issuer: bob.issuer, subject: 'bob2' }, 'reader', '*');
        assert.deepEqual(
          (await store.listRoleBindings(bob)).map((b) => [b.role, b.repository]),
          [
            ['pusher', 'team/*'],
            ['reader', '*'],
          ],
        );
        assert.equal((await store.listRoleBindings()).length, 4);
        await store.revokeRole(bob, 'pusher', 'team/*', '*');
        await store.revokeRole(bob, 'pusher', 'team/*', '*');
        assert.deepEqual(
          (await store.listRoleBindings(bob)).map((b) => b.role),
          ['reader'],
        );
        const [binding] = await store.listRoleBindings(alice);
        assert.deepEqual(binding, {
          subject: alice,
          role: 'reader',
          repository: 'team/model',
          environment: '*',
          grantedBy: alice,
          at: at(1),
        });
      },
    );

    withStore(
      'policy data: put replaces by (kind, id); list returns only unexpired records',
      async (store) => {
        const record = {
          kind: 'exception' as const,
          id: 'EXC-1',
          document: { reason: 'scanner outage', requirements: ['scan'] },
          createdBy: alice,
          at: at(1),
          expiresAt: at(10),
        };
        await store.putPolicyData(record);
        await store.putPolicyData({ ...record, id: 'EXC-2', expiresAt: at(3) });
        await store.putPolicyData({ ...record, kind: 'break-glass', id: 'BG-1' });
        assert.deepEqual(
          (await store.listPolicyData('exception', at(2))).map((r) => r.id),
          ['EXC-1', 'EXC-2'],
        );
        assert.deepEqual(
          (await store.listPolicyData('exception', at(5))).map((r) => r.id),
          ['EXC-1'],
        );
        assert.deepEqual(await store.listPolicyData('exception', at(10)), []);
        await store.putPolicyData({
          ...record,
          document: { reason: 'extended' },
          expiresAt: at(20),
        });
        assert.deepEqual(await store.listPolicyData('exception', at(15)), [
          { ...record, document: { reason: 'extended' }, expiresAt: at(20) },
        ]);
        assert.deepEqual(
          (await store.listPolicyData('break-glass', at(2))).map((r) => r.id),
          ['BG-1'],
        );
      },
    );
  });
}

function problem(result: ReturnType<typeof verifyAuditChain>): [string, number] | 'valid' {
  return result.valid ? 'valid' : [result.failure.problem, result.failure.seq];
}

/**
 * Two stores on one database (separate connections, as two servers would have), racing:
 * every round both try to move one tag with compare-and-set from the same expected digest, push
 * the same artifact and append audit records. Exactly one CAS wins per round, exactly one push
 * creates, and the audit chain stays gapless and valid.
 */
export function twoStoresContract(
  backend: string,
  openTwo: (t: TestContext) => Promise<[MetadataStore, MetadataStore] | undefined>,
  rounds = 15,
): void {
  test(`two ${backend} stores on one database: one CAS winner per round, one gapless audit chain`, async (t) => {
    const pair = await openTwo(t);
    if (pair === undefined) return;
    const [a, b] = pair;
    try {
      await createRepo(a);
      const digests: Sha256Digest[] = [];
      for (const seed of ['x', 'y']) {
        digests.push(
          (await b.putArtifact(artifact('team/model', 'staging', seed))).artifact.digest,
        );
      }
      const [x, y] = digests as [Sha256Digest, Sha256Digest];
      let current: Sha256Digest | null = null;
      for (let round = 0; round < rounds; round++) {
        const expected: Sha256Digest | null = current;
        const move = (store: MetadataStore, digest: Sha256Digest): Promise<TagHistoryEntry> =>
          store.moveTag({
            repository: 'team/model',
            environment: 'staging',
            tag: 'prod-current',
            digest,
            expected,
            actor: alice,
            at: at(round),
          });
        const pushed = artifact('team/model', 'staging', `round ${round}`);
        const [moves, pushes, audits]: [
          PromiseSettledResult<TagHistoryEntry>[],
          { created: boolean }[],
          PromiseSettledResult<unknown>[],
        ] = await Promise.all([
          Promise.allSettled([move(a, expected === x ? y : x), move(b, expected === y ? x : y)]),
          Promise.all([a.putArtifact(pushed), b.putArtifact(pushed)]),
          Promise.allSettled([
            a.appendAudit(auditEvent(round, { action: 'tag.move' })),
            b.appendAudit(auditEvent(round, { action: 'promote' })),
            a.appendAudit(auditEvent(round)),
            b.appendAudit(auditEvent(round)),
          ]),
        ]);
        const winners = moves.filter((r) => r.status === 'fulfilled');
        assert.equal(winners.length, 1, `round ${round}: exactly one CAS winner`);
        for (const loser of moves) {
          if (loser.status === 'rejected') {
            assert.equal((loser.reason as { code?: string }).code, 'TAG_CONFLICT');
          }
        }
        assert.ok(
          audits.every((r) => r.status === 'fulfilled'),
          `round ${round}: audits appended`,
        );
        assert.deepEqual(
          pushes.map((p) => p.created).sort(),
          [false, true],
          `round ${round}: one push creates`,
        );
        current = (await a.getTag('team/model', 'staging', 'prod-current'))?.digest ?? null;
      }
      const records = await b.listAudit({ limit: 10_000 });
      assert.deepEqual(
        records.map((r) => r.seq),
        Array.from({ length: rounds * 4 }, (_, i) => i + 1),
      );
      assert.equal(verifyAuditChain(records).valid, true);
      const history = await a.tagHistory('team/model', 'staging', 'prod-current');
      assert.equal(history.length, rounds);
      for (const [i, h] of history.entries()) {
        assert.equal(h.previous, i === 0 ? null : history[i - 1]?.digest, 'history links up');
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  compareManifests,
  packManifest,
  roleForPath,
  sortResources,
  unpackManifest,
  type Manifest,
  type ManifestDiff,
  type Resource,
} from '../../src/manifest/index.js';

const SERIALIZATION = {
  method: 'shards',
  hashType: 'sha256',
  shardSize: 10,
  allowSymlinks: false,
  ignorePaths: [],
} as const;

/** A resource from a small alphabet of paths, so that mutations collide often. */
const resourceArb = fc
  .record({
    path: fc.constantFrom('a', 'a/b', 'a.b', 'a/b/c', 'b', 'é', '😀', 'z/a'),
    shard: fc.option(fc.nat({ max: 3 }), { nil: undefined }),
    algorithm: fc.constantFrom('sha256', 'sha256-sharded-10'),
    digest: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  })
  .map(({ path, shard, algorithm, digest }): Resource => {
    const range = shard === undefined ? undefined : { start: shard * 10, end: shard * 10 + 10 };
    const name = range === undefined ? path : `${path}:${range.start}:${range.end}`;
    const role = roleForPath(path);
    const d = Buffer.from(digest);
    return range === undefined
      ? { name, path, algorithm, digest: d, role }
      : { name, path, shard: range, algorithm, digest: d, role };
  });

/** Unique names; sorted (the usual case) or as generated (the fallback by name). */
const manifestArb = fc
  .record({ resources: fc.uniqueArray(resourceArb, { selector: (r) => r.name, maxLength: 12 }) })
  .chain(({ resources }) =>
    fc.boolean().map((sorted): Manifest => ({
      modelName: 'm',
      serialization: SERIALIZATION,
      resources: sorted ? sortResources(resources) : resources,
    })),
  );

/** The rule spelled out: by name, every extra, missing and changed resource. */
function byName(expected: Manifest, actual: Manifest): ManifestDiff {
  const want = new Map(expected.resources.map((r) => [r.name, r]));
  const have = new Map(actual.resources.map((r) => [r.name, r]));
  const extra = actual.resources.filter((r) => !want.has(r.name)).map((r) => r.name);
  const missing = expected.resources.filter((r) => !have.has(r.name)).map((r) => r.name);
  const changed = expected.resources.flatMap((r) => {
    const got = have.get(r.name);
    if (got === undefined || (got.algorithm === r.algorithm && got.digest.equals(r.digest))) {
      return [];
    }
    return [
      {
        name: r.name,
        expected: { algorithm: r.algorithm, digest: r.digest.toString('hex') },
        actual: { algorithm: got.algorithm, digest: got.digest.toString('hex') },
      },
    ];
  });
  return { ok: extra.length + missing.length + changed.length === 0, extra, missing, changed };
}

const sortedDiff = (d: ManifestDiff) => ({
  ok: d.ok,
  extra: [...d.extra].sort(),
  missing: [...d.missing].sort(),
  changed: [...d.changed].sort((a, b) => (a.name < b.name ? -1 : 1)),
});

void test('comparing packed and unpacked manifests finds every difference, by name', () => {
  // A second manifest that shares most resources with the first: the pairs a verification sees.
  const pairArb = manifestArb.chain((expected) =>
    fc
      .record({
        keep: fc.array(fc.boolean(), {
          minLength: expected.resources.length,
          maxLength: expected.resources.length,
        }),
        flip: fc.array(fc.nat({ max: 40 }), { maxLength: 3 }),
        more: manifestArb,
      })
      .map(({ keep, flip, more }) => {
        const kept = expected.resources
          .filter((_, i) => keep[i])
          .map((r, i) =>
            flip.includes(i) ? { ...r, digest: Buffer.from(r.digest).fill(i, 0, 1) } : r,
          );
        const names = new Set(kept.map((r) => r.name));
        const added = more.resources.filter((r) => !names.has(r.name));
        const actual: Manifest = {
          ...expected,
          resources:
            more.resources === added ? sortResources([...kept, ...added]) : [...kept, ...added],
        };
        return { expected, actual };
      }),
  );
  fc.assert(
    fc.property(pairArb, ({ expected, actual }) => {
      const want = sortedDiff(byName(expected, actual));
      for (const [e, a] of [
        [expected, actual],
        [packManifest(expected), actual],
        [expected, packManifest(actual)],
        [packManifest(expected), packManifest(actual)],
      ] as const) {
        assert.deepEqual(sortedDiff(compareManifests(e, a)), want);
      }
    }),
    { numRuns: 500 },
  );
});

void test('packing keeps names, paths, shard ranges, algorithms and digests', () => {
  fc.assert(
    fc.property(manifestArb, (m) => {
      const back = unpackManifest(packManifest(m));
      assert.equal(back.modelName, m.modelName);
      assert.deepEqual(back.serialization, m.serialization);
      // Sizes are not kept (signed manifests have none); everything else comes back.
      assert.deepEqual(
        back.resources.map((r) => ({ ...r, digest: Buffer.from(r.digest) })),
        m.resources.map((r) => ({ ...r, digest: Buffer.from(r.digest) })),
      );
    }),
    { numRuns: 200 },
  );
});

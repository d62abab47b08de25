import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  AUDIT_GENESIS_HASH,
  auditRecordHash,
  canonicalJson,
  verifyAuditChain,
  type AuditRecord,
  type UnhashedAuditRecord,
} from '../../src/store/index.js';
import { alice, at, sha } from './metadata-contract.js';

const first: UnhashedAuditRecord = {
  seq: 1,
  prevHash: AUDIT_GENESIS_HASH,
  at: at(0),
  actor: alice,
  action: 'promote',
  decision: 'allow',
  repository: 'team/model',
  environment: 'production',
  digest: sha('artifact a'),
  reasons: [],
  detail: { from: 'staging', policy: { mode: 'enforce', passed: ['signed', 'provenance'] } },
};

test('auditRecordHash is pinned: sha256(prevHash ‖ canonical JSON), the trail must verify forever', () => {
  assert.equal(
    canonicalJson(first),
    '{"action":"promote","actor":{"issuer":"https://issuer.example","subject":"alice"},' +
      '"at":"2026-01-06T12:00:00.123Z","decision":"allow","detail":{"from":"staging","policy":' +
      '{"mode":"enforce","passed":["signed","provenance"]}},"digest":"' +
      sha('artifact a') +
      '","environment":"production","prevHash":"' +
      AUDIT_GENESIS_HASH +
      '","reasons":[],"repository":"team/model","seq":1}',
  );
  assert.equal(
    auditRecordHash(AUDIT_GENESIS_HASH, first),
    '1507c6c1fd8195a3400a8fb6615e00c09c7e12c818a689eb615886acbb99c218',
  );
});

test('canonical JSON: key order never matters, undefined members vanish, non-JSON is refused', () => {
  assert.equal(
    canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined }),
    '{"a":[true,null,"x"],"b":1}',
  );
  assert.equal(canonicalJson({ é: 1, Z: 2, a: 3 }), '{"Z":2,"a":3,"é":1}');
  for (const bad of [Number.NaN, Infinity, 1n, () => 1, [undefined], new Date(Number.NaN)]) {
    assert.throws(() => canonicalJson({ bad }), { code: 'INTERNAL' });
  }
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const text = canonicalJson(value);
      assert.equal(canonicalJson(JSON.parse(text)), text, 'a fixed point');
      const shuffled = JSON.parse(text, (_k, v: unknown) =>
        v !== null && typeof v === 'object' && !Array.isArray(v)
          ? Object.fromEntries(Object.entries(v).reverse())
          : v,
      ) as unknown;
      assert.equal(canonicalJson(shuffled), text, 'independent of key order');
    }),
  );
});

test('verifyAuditChain: an empty chain and a window are valid; a bad link is reported', () => {
  assert.deepEqual(verifyAuditChain([]), { valid: true, count: 0, head: undefined });
  const record: AuditRecord = { ...first, hash: auditRecordHash(first.prevHash, first) };
  const second: UnhashedAuditRecord = { ...first, seq: 2, prevHash: 'f'.repeat(64) };
  const unlinked: AuditRecord = { ...second, hash: auditRecordHash(second.prevHash, second) };
  const result = verifyAuditChain([record, unlinked]);
  assert.equal(result.valid, false);
  assert.equal(!result.valid && result.failure.problem, 'unlinked');
  assert.equal(!result.valid && result.failure.count, 1);
});

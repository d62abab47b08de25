import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  CAIRN_TRANSFORMATION_V1,
  MAX_CHAIN_DEPTH,
  SLSA_PROVENANCE_V1,
  buildTransformation,
  evidenceFromFiles,
  openChainStore,
  signAttestation,
  traceLineage,
  verifierForTrust,
  verifierForTrustRoot,
  verifyChain,
  type ArtifactEvidence,
  type BundleVerifier,
  type ChainStore,
} from '../../src/attest/index.js';
import type { ArtifactDigest } from '../../src/digest/index.js';
import { OMS_PREDICATE_TYPE } from '../../src/envelope/index.js';
import { isCairnError } from '../../src/errors/index.js';
import { initialTrustRoot, type Signer } from '../../src/keys/index.js';
import { signModel } from '../../src/model/index.js';
import { tempDir } from '../helpers.js';
import { grant, keyPair, sealed } from './fixtures.js';

const digestOf = (c: string): ArtifactDigest => `sha256:${c.repeat(64)}`;

/** A signed model on disk: its digest and its `model.sig` bytes. */
async function signedModel(t: TestContext, signer: Signer, content: string) {
  const dir = join(tempDir(t), 'model');
  mkdirSync(dir);
  writeFileSync(join(dir, 'weights.bin'), content);
  const { digest } = await signModel(dir, { signer });
  return { dir, digest, signature: readFileSync(join(dir, 'model.sig')) };
}

async function transformation(signer: Signer, product: ArtifactDigest, parent: ArtifactDigest) {
  const { statement } = buildTransformation({
    digest: product,
    subjectName: 'derived',
    parent,
    tool: 'quantize',
    params: { bits: 4 },
  });
  return signAttestation(statement, signer);
}

const evidence = (
  signatures: Uint8Array[],
  attestations: Uint8Array[],
  claimedPredicateType?: string,
): ArtifactEvidence => ({
  signatures: signatures.map((bundle, i) => ({ source: `sig${i}`, bundle })),
  attestations: attestations.map((bundle, i) => ({
    source: 'att',
    line: i + 1,
    bundle,
    ...(claimedPredicateType === undefined ? {} : { claimedPredicateType }),
  })),
});

function memoryStore(entries: Record<string, ArtifactEvidence>): ChainStore {
  return { find: (d) => entries[d] };
}

function chainFails(
  fn: () => unknown,
  code: string,
  check?: (details: Record<string, unknown>) => void,
) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isCairnError(err), String(err));
    assert.equal(err.code, code, err.message);
    check?.(err.details ?? {});
    return true;
  });
}

test('a two-hop chain reaches the signed root; the lineage lists root, intermediate and product', async (t) => {
  const k = keyPair();
  const root = await signedModel(t, k.signer, 'base');
  const mid = digestOf('b');
  const product = digestOf('c');
  const store = memoryStore({
    [root.digest]: evidence([root.signature], []),
    // The intermediate (e.g. a merged checkpoint) is vouched for by its transformation alone.
    [mid]: evidence([], [await transformation(k.signer, mid, root.digest)]),
  });
  const start = evidence([], [await transformation(k.signer, product, mid)]);
  const result = verifyChain(product, start, store, verifierForTrust(k.trust));
  assert.deepEqual(
    result.nodes.map((n) => [n.digest, n.depth, n.parents]),
    [
      [product, 0, [mid]],
      [mid, 1, [root.digest]],
      [root.digest, 2, []],
    ],
  );
  assert.equal(result.nodes[2]!.signature?.digest, root.digest);
  assert.equal(result.nodes[0]!.transformation?.predicate.tool.name, 'quantize');
});

test('signed once, trusted forever: a derivative carrying only its parent signature fails', async (t) => {
  const k = keyPair();
  const parent = await signedModel(t, k.signer, 'base');
  const quantised = digestOf('d');
  const store = memoryStore({ [parent.digest]: evidence([parent.signature], []) });
  chainFails(
    () =>
      verifyChain(quantised, evidence([parent.signature], []), store, verifierForTrust(k.trust)),
    'CHAIN_HOP_UNSIGNED',
    (d) => assert.deepEqual(d['signedFor'], [parent.digest]),
  );
  // traceLineage reports the same break without throwing, with what it verified.
  const traced = traceLineage(
    quantised,
    evidence([parent.signature], []),
    store,
    verifierForTrust(k.trust),
  );
  assert.equal(traced.error?.code, 'CHAIN_HOP_UNSIGNED');
  assert.equal(traced.nodes.length, 1);
});

test('a missing parent, an untrusted hop, a parent signed for another digest, a cycle, a long chain', async (t) => {
  const k = keyPair();
  const stranger = keyPair();
  const verifier = verifierForTrust(k.trust);
  const parent = await signedModel(t, k.signer, 'base');
  const other = await signedModel(t, k.signer, 'other');
  const product = digestOf('e');
  const start = evidence([], [await transformation(k.signer, product, parent.digest)]);

  chainFails(
    () => verifyChain(product, start, memoryStore({}), verifier),
    'CHAIN_PARENT_MISSING',
    (d) => assert.equal(d['digest'], parent.digest),
  );

  const foreign = evidence([], [await transformation(stranger.signer, product, parent.digest)]);
  const store = memoryStore({ [parent.digest]: evidence([parent.signature], []) });
  chainFails(
    () => verifyChain(product, foreign, store, verifier),
    'CHAIN_HOP_UNTRUSTED',
    (d) =>
      assert.deepEqual(
        (d['refused'] as { code: string }[]).map((r) => r.code),
        ['KEY_MISMATCH'],
      ),
  );
  // An untrusted root signature is as bad as an untrusted transformation.
  const strangerRoot = await signedModel(t, stranger.signer, 'base');
  chainFails(
    () =>
      verifyChain(
        product,
        start,
        memoryStore({ [parent.digest]: evidence([strangerRoot.signature], []) }),
        verifier,
      ),
    'CHAIN_HOP_UNTRUSTED',
  );

  // The entry found for the parent is signed for another digest: materials → products break.
  chainFails(
    () =>
      verifyChain(
        product,
        start,
        memoryStore({ [parent.digest]: evidence([other.signature], []) }),
        verifier,
      ),
    'CHAIN_DIGEST_MISMATCH',
    (d) => assert.deepEqual(d['signedFor'], [other.digest]),
  );

  // A says it came from B, B from A.
  const a = digestOf('a');
  const b = digestOf('b');
  const cyclic = memoryStore({ [b]: evidence([], [await transformation(k.signer, b, a)]) });
  const aFromB = evidence([], [await transformation(k.signer, a, b)]);
  chainFails(() => verifyChain(a, aFromB, cyclic, verifier), 'CHAIN_CYCLE');

  // MAX_CHAIN_DEPTH + 2 transformations in a row, never reaching a root.
  const hops: Record<string, ArtifactEvidence> = {};
  const at = (i: number): ArtifactDigest => `sha256:${i.toString(16).padStart(64, '0')}`;
  for (let i = 1; i <= MAX_CHAIN_DEPTH + 2; i++) {
    hops[at(i)] = evidence([], [await transformation(k.signer, at(i), at(i + 1))]);
  }
  chainFails(() => verifyChain(at(1), hops[at(1)]!, memoryStore(hops), verifier), 'CHAIN_TOO_LONG');
});

test('with a trust root, a hop signed by a signer not scoped to transformations is untrusted', async (t) => {
  const rootKey = keyPair();
  const model = keyPair();
  const transformer = keyPair();
  const at = new Date('2030-01-01T00:00:00Z');
  let doc = initialTrustRoot([rootKey.publicKey], 1, at);
  doc = grant(doc, at, 'release', model.publicKey);
  doc = grant(doc, at, 'builder', transformer.publicKey, { predicateTypes: [SLSA_PROVENANCE_V1] });
  const root = await sealed(doc, rootKey.signer);
  const verifier: BundleVerifier = verifierForTrustRoot(root, { at });
  const parent = await signedModel(t, model.signer, 'base');
  const product = digestOf('f');
  const store = memoryStore({ [parent.digest]: evidence([parent.signature], []) });
  const byBuilder = evidence(
    [],
    [await transformation(transformer.signer, product, parent.digest)],
    CAIRN_TRANSFORMATION_V1,
  );
  chainFails(
    () => verifyChain(product, byBuilder, store, verifier),
    'CHAIN_HOP_UNTRUSTED',
    (d) =>
      assert.deepEqual(
        (d['refused'] as { code: string }[]).map((r) => r.code),
        ['SIGNER_OUT_OF_SCOPE'],
      ),
  );
  // The release signer is scoped to model signatures only: the OMS root passes, a transformation
  // by it does not.
  assert.equal(verifier.signature(parent.signature).trustedSigner?.signerId, 'release');
  assert.equal(doc.signers[0]!.scopes.predicateTypes.includes(OMS_PREDICATE_TYPE), true);
  const byRelease = evidence([], [await transformation(model.signer, product, parent.digest)]);
  chainFails(() => verifyChain(product, byRelease, store, verifier), 'CHAIN_HOP_UNTRUSTED');
});

test('a chain store directory finds parents by entry name or by the subject their bundles claim', async (t) => {
  const k = keyPair();
  const verifier = verifierForTrust(k.trust);
  const parent = await signedModel(t, k.signer, 'base');
  const grand = await signedModel(t, k.signer, 'grand');
  const store = join(tempDir(t), 'store');
  mkdirSync(store);
  // The parent as a model directory named anything, holding model.sig and model.att.jsonl.
  mkdirSync(join(store, 'parent-copy'));
  writeFileSync(join(store, 'parent-copy', 'model.sig'), parent.signature);
  writeFileSync(
    join(store, 'parent-copy', 'model.att.jsonl'),
    `${(await transformation(k.signer, parent.digest, grand.digest)).toString()}\n`,
  );
  // The grandparent as bare files named after its digest.
  const hex = grand.digest.slice('sha256:'.length);
  writeFileSync(join(store, `sha256-${hex}.sig`), grand.signature);

  const product = digestOf('9');
  const dir = join(tempDir(t), 'derived');
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'model.att.jsonl'),
    `${(await transformation(k.signer, product, parent.digest)).toString()}\n`,
  );
  const start = evidenceFromFiles(join(dir, 'model.sig'), join(dir, 'model.att.jsonl'));
  const result = verifyChain(product, start, openChainStore([store]), verifier);
  assert.deepEqual(
    result.nodes.map((n) => n.digest),
    [product, parent.digest, grand.digest],
  );

  // A store entry named after the grandparent but holding another model's signature.
  writeFileSync(join(store, `sha256-${hex}.sig`), parent.signature);
  const traced = traceLineage(product, start, openChainStore([store]), verifier);
  assert.equal(traced.error?.code, 'CHAIN_DIGEST_MISMATCH');

  for (const [dir2, code] of [
    [join(store, 'nope'), 'INPUT_NOT_FOUND'],
    [join(store, `sha256-${hex}.sig`), 'INPUT_UNREADABLE'],
  ] as const) {
    assert.throws(
      () => openChainStore([dir2]),
      (err: unknown) => isCairnError(err) && err.code === code,
    );
  }
});

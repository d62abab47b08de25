import { createHash, createPrivateKey } from 'node:crypto';
import { Readable } from 'node:stream';
import { CAIRN_TRANSFORMATION_V1 } from '../../src/attest/index.js';
import { OMS_PREDICATE_TYPE } from '../../src/envelope/index.js';
import {
  addSigner,
  fileSigner,
  generateKeyPair,
  initialTrustRoot,
  signTrustRoot,
  verifyTrustRoot,
  type Signer,
  type TrustRoot,
} from '../../src/keys/index.js';
import { comparePaths, roleForPath, type Manifest } from '../../src/manifest/index.js';
import { POLICY_API_VERSION, loadPolicySet, type PolicySet } from '../../src/policy/index.js';
import type { Registry } from '../../src/registry/index.js';
import { signManifest } from '../../src/sign/index.js';
import type { Sha256Digest } from '../../src/store/index.js';

/** A small model built in memory: files, their blob digests and the OMS root digest. */
export interface TestModel {
  readonly files: ReadonlyMap<string, Buffer>;
  readonly resources: { name: string; blob: Sha256Digest; size: number }[];
  readonly serialization: Record<string, unknown>;
  readonly manifest: Manifest;
  readonly digest: Sha256Digest;
}

export function sha256(bytes: Uint8Array): Sha256Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function testModel(seed = 'model'): TestModel {
  const files = new Map<string, Buffer>([
    ['config.json', Buffer.from(JSON.stringify({ seed, layers: 2 }))],
    ['weights.bin', Buffer.alloc(200_000, seed)],
    ['tokenizer/vocab.txt', Buffer.from(`a\nb\n${seed}\n`)],
  ]);
  const names = [...files.keys()].sort(comparePaths);
  const resources = names.map((name) => ({
    name,
    blob: sha256(files.get(name)!),
    size: files.get(name)!.length,
  }));
  const manifest: Manifest = {
    modelName: seed,
    serialization: { method: 'files', hashType: 'sha256', allowSymlinks: false, ignorePaths: [] },
    resources: resources.map((r) => ({
      name: r.name,
      path: r.name,
      algorithm: 'sha256',
      digest: Buffer.from(r.blob.slice(7), 'hex'),
      size: r.size,
      role: roleForPath(r.name),
    })),
  };
  const root = createHash('sha256');
  for (const r of manifest.resources) root.update(r.digest);
  return {
    files,
    resources,
    serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false },
    manifest,
    digest: `sha256:${root.digest('hex')}`,
  };
}

export interface TestTrust {
  readonly root: TrustRoot;
  /** The CI key, listed in the trust root as `ci`. */
  readonly ci: Signer;
  /** A key the trust root does not know. */
  readonly stranger: Signer;
  /** The server's own key (central signing, promotion summaries). */
  readonly server: Signer;
}

function newSigner(): Signer {
  return fileSigner(createPrivateKey(generateKeyPair('ecdsa-p256').privateKeyPem));
}

/** A trust root (one root key) listing the CI key for every repository and environment. */
export async function testTrust(at = new Date(Date.now() - 60_000)): Promise<TestTrust> {
  const ci = newSigner();
  const root = await trustRootWithCi({ kind: 'key', publicKey: ci.publicKey }, at);
  return { root, ci, stranger: newSigner(), server: newSigner() };
}

/**
 * A signed, verified trust root (one root key) whose one signer `ci` is `identity`, for every
 * repository and environment, scoped to model signatures and transformation attestations.
 */
export async function trustRootWithCi(
  identity: Parameters<typeof addSigner>[1]['identity'],
  at = new Date(Date.now() - 60_000),
): Promise<TrustRoot> {
  const rootKey = newSigner();
  const doc = addSigner(
    initialTrustRoot([rootKey.publicKey], 1, at),
    {
      id: 'ci',
      identity,
      repositories: ['**'],
      environments: ['**'],
      predicateTypes: [OMS_PREDICATE_TYPE, CAIRN_TRANSFORMATION_V1],
    },
    at,
  );
  return verifyTrustRoot(await signTrustRoot(doc, [rootKey]));
}

export async function signatureFor(model: TestModel, signer: Signer): Promise<string> {
  return (await signManifest(model.manifest, signer)).bundle.toString('utf8').trimEnd();
}

/** Production needs a digest reference, a CI signature, and (for retrieval) a listed deployer. */
export function productionPolicy(
  deployer: { subject: string; issuer: string },
  options: { continuity?: boolean } = {},
): PolicySet {
  const text = `apiVersion: ${POLICY_API_VERSION}
kind: ModelPolicy
metadata:
  name: production
spec:
  match:
    repositories: ["acme/*"]
    environments: [production]
  mode: enforce
  requireDigest: true
  signatures:
    - name: ci
      anyOf: [{trustRoot: ci}]
${options.continuity === true ? '  transformation: {requireContinuity: true}\n' : ''}  access:
    retrieve:
      - identity: ${JSON.stringify(deployer.subject)}
        issuer: ${JSON.stringify(deployer.issuer)}
`;
  return loadPolicySet([{ source: 'production.yaml', text }]);
}

/** Uploads bytes through a repository as the blob routes do: begin, append, commit (linked). */
export async function uploadBlob(
  registry: Registry,
  repository: string,
  bytes: Buffer,
): Promise<void> {
  const u = await registry.blobs.beginUpload();
  await registry.blobs.appendUpload(u.id, 0, Readable.from([bytes]), bytes.length);
  await registry.commitUpload({ issuer: 'test', subject: 'ci' }, repository, u.id, sha256(bytes));
}

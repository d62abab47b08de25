/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call -- these tests edit raw bundle JSON on purpose */
import assert from 'node:assert/strict';
import {
  generateKeyPairSync,
  sign as cryptoSign,
  type KeyObject,
  type X509Certificate,
} from 'node:crypto';
import { test } from 'node:test';
import {
  pae,
  paeV02Compat,
  serializeBundle,
  manifestFromStatement,
  statementFromPayload,
} from '../../src/envelope/index.js';
import {
  fileSigner,
  generateKeyPair,
  loadPrivateKey,
  loadEmbeddedSigstoreTrustedRoot,
  loadPublicKey,
  parseCertificates,
  publicKeyHint,
} from '../../src/keys/index.js';
import { signManifest } from '../../src/sign/index.js';
import { inspectBundle, verifyBundle, type VerificationTrust } from '../../src/verify/index.js';
import {
  filesManifest,
  keyed,
  readShared,
  sharedOrSkip,
  throwsCode,
} from '../envelope/fixtures.js';
import {
  EKU_CODE_SIGNING,
  EKU_SERVER_AUTH,
  buildCertificate,
  type CertSpec,
} from '../keys/x509-builder.js';

interface Expected {
  signatures: Record<string, { subject_digest: string; n_resources: number }>;
}
const expected = JSON.parse(keyed('expected.json').toString()) as Expected;
const p256 = loadPublicKey(keyed('p256.pub.pem').toString());
const p384 = loadPublicKey(keyed('p384.pub.pem').toString());
const otherP256 = loadPublicKey(keyed('other-p256.pub.pem').toString());
const keyTrust = (publicKey: KeyObject): VerificationTrust => ({ kind: 'key', publicKey });

function payloadNames(file: string): string[] {
  const statement = JSON.parse(
    keyed(`payloads/${file.replace(/\.sig$/, '.payload.json')}`).toString(),
  ) as {
    predicate: { resources: { name: string }[] };
  };
  return statement.predicate.resources.map((r) => r.name);
}

// ── the reference's key-mode vectors ─────────────────────────────────────────────────────

const POSITIVE_KEYED: readonly [string, KeyObject, string][] = [
  ['model.sig', p256, 'model.sig'],
  ['model.p384.sig', p384, 'model.p384.sig'],
  ['model.shards-256KiB.sig', p256, 'model.shards-256KiB.sig'],
  ['model.blake2.sig', p256, 'model.blake2.sig'],
  ['model.blake3.sig', p256, 'model.blake3.sig'],
  ['pos-legacy-rawbytes.sig', p256, 'model.sig'],
  ['pos-resigned-independent.sig', p256, 'model.sig'],
];

for (const [file, key, expectation] of POSITIVE_KEYED) {
  void test(`${file} verifies with the expected digest and resources`, () => {
    const v = verifyBundle(keyed(file), keyTrust(key));
    const e = expected.signatures[expectation]!;
    assert.equal(v.digest, `sha256:${e.subject_digest}`);
    assert.equal(v.manifest.resources.length, e.n_resources);
    assert.deepEqual(
      v.manifest.resources.map((r) => r.name),
      payloadNames(file),
    );
    assert.equal(v.subjectName, 'model');
    assert.equal(v.predicateType, 'https://model_signing/signature/v1.0');
    assert.equal(v.signer.kind, 'key');
    assert.equal(v.signer.kind === 'key' && v.signer.hint, publicKeyHint(key));
  });
}

void test('legacy rawBytes bundle verifies with a "legacy format" warning', () => {
  const v = verifyBundle(keyed('pos-legacy-rawbytes.sig'), keyTrust(p256));
  assert.equal(v.warnings.length, 1);
  assert.match(v.warnings[0]!, /^legacy format/);
  assert.equal(verifyBundle(keyed('model.sig'), keyTrust(p256)).warnings.length, 0);
});

void test('shards: serialization and shard ranges come through', () => {
  const v = verifyBundle(keyed('model.shards-256KiB.sig'), keyTrust(p256));
  assert.equal(v.manifest.serialization.method, 'shards');
  assert.equal(v.manifest.serialization.shardSize, 262144);
  assert.ok(v.manifest.resources.every((r) => r.shard !== undefined));
});

const NEGATIVE_KEYED: readonly [string, string][] = [
  ['neg-payload-modified.sig', 'SIGNATURE_INVALID'],
  ['neg-subject-inconsistent.sig', 'SUBJECT_DIGEST_MISMATCH'],
  ['neg-predicate-type.sig', 'PREDICATE_TYPE_MISMATCH'],
  ['neg-payload-type.sig', 'SIGNATURE_INVALID'],
  ['neg-payload-type-pae-intoto.sig', 'PAYLOAD_TYPE_MISMATCH'],
  ['neg-media-type.sig', 'MEDIA_TYPE_UNSUPPORTED'],
];

for (const [file, code] of NEGATIVE_KEYED) {
  void test(`${file} fails with ${code}`, () => {
    throwsCode(() => verifyBundle(keyed(file), keyTrust(p256)), code);
  });
}

void test('wrong key → KEY_MISMATCH (other P-256; P-256 key for the P-384 signature)', () => {
  throwsCode(() => verifyBundle(keyed('model.sig'), keyTrust(otherP256)), 'KEY_MISMATCH');
  throwsCode(() => verifyBundle(keyed('model.p384.sig'), keyTrust(p256)), 'KEY_MISMATCH');
  // Legacy files carry the key itself; it must be the given key too.
  throwsCode(
    () => verifyBundle(keyed('pos-legacy-rawbytes.sig'), keyTrust(otherP256)),
    'KEY_MISMATCH',
  );
});

void test('certificate bundle through key mode → VERIFICATION_MATERIAL_MISMATCH (the reference crashes)', () => {
  throwsCode(
    () => verifyBundle(keyed('model.cert.sig'), keyTrust(p256)),
    'VERIFICATION_MATERIAL_MISMATCH',
  );
});

void test('key bundle through certificate or keyless mode → VERIFICATION_MATERIAL_MISMATCH', () => {
  const root = buildCertificate({
    subject: 'r',
    publicKey: p256,
    signingKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  });
  throwsCode(
    () => verifyBundle(keyed('model.sig'), { kind: 'certificate', trustedRoots: [root] }),
    'VERIFICATION_MATERIAL_MISMATCH',
  );
  throwsCode(
    () =>
      verifyBundle(keyed('model.sig'), {
        kind: 'keyless',
        identity: 'a@b',
        issuer: 'https://x',
        trustedRoot: {},
      }),
    'VERIFICATION_MATERIAL_MISMATCH',
  );
});

void test('unsupported trusted key → ALGORITHM_UNSUPPORTED', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  throwsCode(() => verifyBundle(keyed('model.sig'), keyTrust(rsa)), 'ALGORITHM_UNSUPPORTED');
});

void test('model.cert.sig verifies against the upstream root (ca-cert.pem)', (t) => {
  const shared = sharedOrSkip(t);
  if (shared === undefined) return;
  const roots = parseCertificates(
    readShared(shared, 'vectors', 'oms-keyed', 'upstream-certs', 'ca-cert.pem'),
  );
  const v = verifyBundle(keyed('model.cert.sig'), { kind: 'certificate', trustedRoots: roots });
  assert.equal(v.digest, `sha256:${expected.signatures['model.cert.sig']!.subject_digest}`);
  assert.deepEqual(
    v.manifest.resources.map((r) => r.name),
    payloadNames('model.cert.sig'),
  );
  assert.equal(v.signer.kind, 'certificate');
  if (v.signer.kind !== 'certificate') return;
  assert.equal(v.signer.keyType, 'ecdsa-p384');
  assert.equal(v.signer.chainFingerprints.length, 3);
  assert.equal(
    v.signer.chainFingerprints[2],
    '96b4074fc3c05ab9a7dcdbc239ce4737ecfc5e6ca298f7a908cbe615646a6bc5',
  );
  // Trusting only the intermediate is not enough: as with the reference's OpenSSL store (no
  // partial chains), the path must end at a trusted self-signed root.
  const inter = parseCertificates(
    readShared(shared, 'vectors', 'oms-keyed', 'upstream-certs', 'int-ca-cert.pem'),
  );
  throwsCode(
    () => verifyBundle(keyed('model.cert.sig'), { kind: 'certificate', trustedRoots: inter }),
    'CERT_CHAIN_INVALID',
  );
  assert.ok(
    verifyBundle(keyed('model.cert.sig'), {
      kind: 'certificate',
      trustedRoots: [...inter, ...roots],
    }),
  );
  // An unrelated root does not.
  const other = buildCertificate({
    subject: 'root-ca',
    publicKey: p256,
    signingKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
    ca: true,
  });
  throwsCode(
    () => verifyBundle(keyed('model.cert.sig'), { kind: 'certificate', trustedRoots: [other] }),
    'CERT_CHAIN_INVALID',
  );
});

// ── upstream historical vectors (read from /work/shared in place) ────────────────────────

const UPSTREAM: readonly [string, string, string[]][] = [
  [
    'v0.2.0-certificate',
    '61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226',
    ['signme-1', 'signme-2'],
  ],
  [
    'v0.3.1-certificate',
    '61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226',
    ['signme-1', 'signme-2'],
  ],
  [
    'v1.0.0-certificate',
    '61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226',
    ['signme-1', 'signme-2'],
  ],
  [
    'v1.0.1-certificate',
    '61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226',
    ['signme-1', 'signme-2'],
  ],
  [
    'v1.1.0-certificate',
    '61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226',
    ['signme-1', 'signme-2'],
  ],
  [
    'v0.3.1-elliptic-key',
    'afa48c8674afe334b8a7dea34f7b46ab256e9255edf8da2132792341b667a45b',
    ['.'],
  ],
  [
    'v1.0.0-elliptic-key',
    'afa48c8674afe334b8a7dea34f7b46ab256e9255edf8da2132792341b667a45b',
    ['.'],
  ],
  [
    'v1.0.1-elliptic-key',
    '92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4',
    ['signme-1', 'signme-2'],
  ],
  [
    'v1.1.0-elliptic-key',
    '92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4',
    ['signme-1', 'signme-2'],
  ],
];

for (const [dir, digest, names] of UPSTREAM) {
  void test(`upstream ${dir} verifies at the bundle level`, (t) => {
    const shared = sharedOrSkip(t);
    if (shared === undefined) return;
    const up = (...p: string[]) => readShared(shared, 'vectors', 'oms-upstream', ...p);
    const trust: VerificationTrust = dir.endsWith('-certificate')
      ? { kind: 'certificate', trustedRoots: parseCertificates(up('keys', 'ca-cert.pem')) }
      : { kind: 'key', publicKey: loadPublicKey(up('keys', 'signing-key-pub.pem').toString()) };
    const v = verifyBundle(up(dir, 'model.sig'), trust);
    assert.equal(v.digest, `sha256:${digest}`);
    assert.deepEqual(
      v.manifest.resources.map((r) => r.name),
      names,
    );
    if (dir === 'v0.2.0-certificate') {
      assert.equal(v.predicateType, 'https://model_signing/Digests/v0.1');
      assert.ok(v.warnings.some((w) => w.includes('v0.2 pre-image')));
    } else {
      assert.ok(!v.warnings.some((w) => w.includes('v0.2 pre-image')));
    }
    if (dir.endsWith('-elliptic-key') && !dir.startsWith('v1.1')) {
      assert.ok(v.warnings.some((w) => w.startsWith('legacy format')));
    }
  });
}

void test('upstream v0.2.0: the compat pre-image is hashed with SHA-256, not the P-384 curve hash', (t) => {
  const shared = sharedOrSkip(t);
  if (shared === undefined) return;
  const up = (...p: string[]) => readShared(shared, 'vectors', 'oms-upstream', ...p);
  const bundle = JSON.parse(up('v0.2.0-certificate', 'model.sig').toString()) as {
    verificationMaterial: { x509CertificateChain: { certificates: { rawBytes: string }[] } };
    dsseEnvelope: { payload: string; signatures: { sig: string }[] };
  };
  const [leaf] = parseCertificates(
    Buffer.from(
      bundle.verificationMaterial.x509CertificateChain.certificates[0]!.rawBytes,
      'base64',
    ),
  );
  const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
  const sig = Buffer.from(bundle.dsseEnvelope.signatures[0]!.sig, 'base64');
  const check = (hash: string, data: Buffer) =>
    import('node:crypto').then((c) =>
      c.verify(hash, data, { key: leaf!.publicKey, dsaEncoding: 'der' }, sig),
    );
  return Promise.all([
    check('sha256', paeV02Compat(payload)),
    check('sha384', paeV02Compat(payload)),
    check('sha384', pae('application/vnd.in-toto+json', payload)),
  ]).then(([sha256Compat, sha384Compat, sha384Pae]) => {
    assert.deepEqual([sha256Compat, sha384Compat, sha384Pae], [true, false, false]);
  });
});

void test('keyless bundles are refused in key and certificate modes', (t) => {
  const shared = sharedOrSkip(t);
  if (shared === undefined) return;
  const bytes = readShared(shared, 'vectors', 'oms-upstream', 'v1.1.0-sigstore', 'model.sig');
  throwsCode(() => verifyBundle(bytes, keyTrust(p256)), 'VERIFICATION_MATERIAL_MISMATCH');
  throwsCode(
    () =>
      verifyBundle(bytes, {
        kind: 'certificate',
        trustedRoots: parseCertificates(
          readShared(shared, 'vectors', 'oms-upstream', 'keys', 'ca-cert.pem'),
        ),
      }),
    'VERIFICATION_MATERIAL_MISMATCH',
  );
});

void test('keyless bundles verify through verifyBundle (exact identity), then the same statement checks', (t) => {
  const shared = sharedOrSkip(t);
  if (shared === undefined) return;
  const { trustedRoot } = loadEmbeddedSigstoreTrustedRoot();
  const policy = {
    identity: 'stefanb@us.ibm.com',
    issuer: 'https://sigstore.verify.ibm.com/oauth2',
  };
  for (const dir of ['v0.3.1-sigstore', 'v1.0.0-sigstore', 'v1.0.1-sigstore', 'v1.1.0-sigstore']) {
    const bytes = readShared(shared, 'vectors', 'oms-upstream', dir, 'model.sig');
    const v = verifyBundle(bytes, { kind: 'keyless', ...policy, trustedRoot });
    assert.equal(
      v.digest,
      'sha256:61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226',
      dir,
    );
    assert.deepEqual(
      v.manifest.resources.map((r) => r.name),
      ['signme-1', 'signme-2'],
    );
    assert.equal(v.signer.kind, 'keyless');
    assert.equal(v.signer.kind === 'keyless' && v.signer.identity, policy.identity);
    throwsCode(
      () =>
        verifyBundle(bytes, {
          kind: 'keyless',
          ...policy,
          identity: 'someone@else.example',
          trustedRoot,
        }),
      'IDENTITY_MISMATCH',
    );
  }
});

// ── Cairn's own bundles ──────────────────────────────────────────────────────────────────

const manifest = filesManifest([
  ['weights.safetensors', 'w'],
  ['config.json', '{}'],
  ['tokenizer/vocab.txt', 'a b c'],
]);

void test('our bundles verify for every key type; facts are what was signed', async () => {
  for (const type of ['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'ed25519'] as const) {
    const pair = generateKeyPair(type);
    const signed = await signManifest(manifest, fileSigner(loadPrivateKey(pair.privateKeyPem)));
    const v = verifyBundle(signed.bundle, keyTrust(loadPublicKey(pair.publicKeyPem)));
    assert.equal(v.digest, signed.digest);
    assert.deepEqual(v.signer, {
      kind: 'key',
      keyType: type,
      hint: publicKeyHint(loadPublicKey(pair.publicKeyPem)),
    });
    assert.deepEqual(
      v.manifest.resources.map((r) => r.name),
      ['config.json', 'tokenizer/vocab.txt', 'weights.safetensors'],
    );
    assert.equal(v.warnings.length, 0);
  }
});

async function signedJson(type: 'ecdsa-p256' | 'ed25519' = 'ecdsa-p256') {
  const pair = generateKeyPair(type);
  const key = loadPrivateKey(pair.privateKeyPem).key;
  const signed = await signManifest(manifest, fileSigner(key));
  return {
    key,
    pub: loadPublicKey(pair.publicKeyPem),
    json: JSON.parse(signed.bundle.toString()),
    signed,
  };
}

void test('tampered payload or foreign signature → SIGNATURE_INVALID', async () => {
  const { pub, json, signed } = await signedJson();
  const payload = Buffer.from(json.dsseEnvelope.payload as string, 'base64');
  payload[payload.length - 5] = payload[payload.length - 5]! ^ 1;
  json.dsseEnvelope.payload = payload.toString('base64');
  throwsCode(
    () => verifyBundle(Buffer.from(JSON.stringify(json)), keyTrust(pub)),
    'SIGNATURE_INVALID',
  );
  const other = await signedJson();
  const foreign = JSON.parse(signed.bundle.toString());
  foreign.dsseEnvelope.signatures[0].sig = other.json.dsseEnvelope.signatures[0].sig;
  throwsCode(
    () => verifyBundle(Buffer.from(JSON.stringify(foreign)), keyTrust(pub)),
    'SIGNATURE_INVALID',
  );
});

void test('algorithm confusion: the key decides the hash, never the bundle', async () => {
  const { key, pub, json } = await signedJson();
  const payload = Buffer.from(json.dsseEnvelope.payload as string, 'base64');
  // A P-256 key signing with SHA-512 is not P-256 + SHA-256.
  json.dsseEnvelope.signatures[0].sig = cryptoSign(
    'sha512',
    pae('application/vnd.in-toto+json', payload),
    { key, dsaEncoding: 'der' },
  ).toString('base64');
  throwsCode(
    () => verifyBundle(Buffer.from(JSON.stringify(json)), keyTrust(pub)),
    'SIGNATURE_INVALID',
  );
  // IEEE P1363 (r||s) instead of DER is not accepted either.
  json.dsseEnvelope.signatures[0].sig = cryptoSign(
    'sha256',
    pae('application/vnd.in-toto+json', payload),
    { key, dsaEncoding: 'ieee-p1363' },
  ).toString('base64');
  throwsCode(
    () => verifyBundle(Buffer.from(JSON.stringify(json)), keyTrust(pub)),
    'SIGNATURE_INVALID',
  );
});

void test('bundle without a hint verifies against the given key with a warning; wrong key fails the signature', async () => {
  const { pub, json } = await signedJson('ed25519');
  delete json.verificationMaterial.publicKey.hint;
  const bytes = Buffer.from(JSON.stringify(json));
  const v = verifyBundle(bytes, keyTrust(pub));
  assert.match(v.warnings[0]!, /no hint/);
  throwsCode(() => verifyBundle(bytes, keyTrust(p256)), 'SIGNATURE_INVALID');
});

void test('only signatures[0] counts, as in the reference', async () => {
  const { pub, json } = await signedJson();
  json.dsseEnvelope.signatures.unshift({ sig: Buffer.from('bogus').toString('base64'), keyid: '' });
  throwsCode(
    () => verifyBundle(Buffer.from(JSON.stringify(json)), keyTrust(pub)),
    'SIGNATURE_INVALID',
  );
});

void test('payload type other than in-toto, signed over the in-toto PAE → PAYLOAD_TYPE_MISMATCH', async () => {
  const pair = generateKeyPair('ecdsa-p256');
  const signer = fileSigner(loadPrivateKey(pair.privateKeyPem));
  const signed = await signManifest(manifest, signer);
  const bundle = serializeBundle({
    verificationMaterial: { kind: 'publicKey', hint: publicKeyHint(signer.publicKey) },
    payload: signed.statement,
    payloadType: 'application/json',
    signature: await signer.sign(pae('application/vnd.in-toto+json', signed.statement)),
  });
  throwsCode(() => verifyBundle(bundle, keyTrust(signer.publicKey)), 'PAYLOAD_TYPE_MISMATCH');
});

void test('a signed statement with unsafe names still fails (MANIFEST_INVALID)', async () => {
  const pair = generateKeyPair('ecdsa-p256');
  const signer = fileSigner(loadPrivateKey(pair.privateKeyPem));
  const good = await signManifest(manifest, signer);
  const statement = JSON.parse(good.statement.toString());
  statement.predicate.resources[0].name = '../../etc/passwd';
  const payload = Buffer.from(JSON.stringify(statement, null, 2));
  const bundle = serializeBundle({
    verificationMaterial: { kind: 'publicKey', hint: publicKeyHint(signer.publicKey) },
    payload,
    payloadType: 'application/vnd.in-toto+json',
    signature: await signer.sign(pae('application/vnd.in-toto+json', payload)),
  });
  throwsCode(() => verifyBundle(bundle, keyTrust(signer.publicKey)), 'MANIFEST_INVALID');
  // ...and the same statement parses to the same problem without any signature involved.
  throwsCode(() => manifestFromStatement(statementFromPayload(payload)), 'MANIFEST_INVALID');
});

// ── certificate mode with generated PKIs ─────────────────────────────────────────────────

interface Pki {
  root: X509Certificate;
  inter: X509Certificate;
  leaf: X509Certificate;
  leafKey: KeyObject;
}

function pki(overrides: { inter?: Partial<CertSpec>; leaf?: Partial<CertSpec> } = {}): Pki {
  const rootKey = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const interKey = generateKeyPairSync('ed25519');
  const leafKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const root = buildCertificate({
    subject: 'root',
    publicKey: rootKey.publicKey,
    signingKey: rootKey.privateKey,
    ca: true,
    keyUsage: { keyCertSign: true },
  });
  const inter = buildCertificate({
    subject: 'inter',
    issuer: 'root',
    publicKey: interKey.publicKey,
    signingKey: rootKey.privateKey,
    ca: true,
    keyUsage: { keyCertSign: true },
    ...overrides.inter,
  });
  const leaf = buildCertificate({
    subject: 'leaf',
    issuer: 'inter',
    publicKey: leafKey.publicKey,
    signingKey: interKey.privateKey,
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2026-01-02T00:00:00Z'),
    keyUsage: { digitalSignature: true },
    ...overrides.leaf,
  });
  return { root, inter, leaf, leafKey: leafKey.privateKey };
}

async function certBundle(p: Pki, chain: X509Certificate[] = [p.leaf, p.inter]): Promise<Buffer> {
  return (await signManifest(manifest, fileSigner(p.leafKey, { certificateChain: chain }))).bundle;
}

void test('certificate mode: leaf → intermediate → trusted root verifies (even after the leaf expired)', async () => {
  const p = pki();
  const v = verifyBundle(await certBundle(p), { kind: 'certificate', trustedRoots: [p.root] });
  assert.equal(v.signer.kind, 'certificate');
  if (v.signer.kind !== 'certificate') return;
  assert.equal(v.signer.subject, 'CN=leaf');
  assert.equal(v.signer.issuer, 'CN=inter');
  assert.equal(v.signer.keyType, 'ecdsa-p256');
  assert.equal(v.signer.chainFingerprints.length, 3);
});

void test('certificate mode: untrusted root, missing intermediate, forged root → CERT_CHAIN_INVALID', async () => {
  const p = pki();
  const q = pki();
  const bundle = await certBundle(p);
  throwsCode(
    () => verifyBundle(bundle, { kind: 'certificate', trustedRoots: [q.root] }),
    'CERT_CHAIN_INVALID',
  );
  throwsCode(
    () => verifyBundle(bundle, { kind: 'certificate', trustedRoots: [] }),
    'CERT_CHAIN_INVALID',
  );
  const leafOnly = await certBundle(p, [p.leaf]);
  throwsCode(
    () => verifyBundle(leafOnly, { kind: 'certificate', trustedRoots: [p.root] }),
    'CERT_CHAIN_INVALID',
  );
  // Same name as the trusted root, different key: the name is not enough.
  const forgedKey = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const forged = buildCertificate({
    subject: 'root',
    publicKey: forgedKey.publicKey,
    signingKey: forgedKey.privateKey,
    ca: true,
    keyUsage: { keyCertSign: true },
  });
  throwsCode(
    () => verifyBundle(bundle, { kind: 'certificate', trustedRoots: [forged] }),
    'CERT_CHAIN_INVALID',
  );
  // A bundle that carries the root itself still needs the caller to trust it.
  const withRoot = await certBundle(p, [p.leaf, p.inter, p.root]);
  throwsCode(
    () => verifyBundle(withRoot, { kind: 'certificate', trustedRoots: [q.root] }),
    'CERT_CHAIN_INVALID',
  );
});

void test('certificate mode: intermediate not a CA, or not valid at the leaf’s notBefore → CERT_CHAIN_INVALID', async () => {
  const notCa = pki({ inter: { ca: false, keyUsage: { digitalSignature: true } } });
  await certBundle(notCa).then((b) =>
    throwsCode(
      () => verifyBundle(b, { kind: 'certificate', trustedRoots: [notCa.root] }),
      'CERT_CHAIN_INVALID',
    ),
  );
  const expired = pki({ inter: { notAfter: new Date('2025-12-31T00:00:00Z') } });
  await certBundle(expired).then((b) =>
    throwsCode(
      () => verifyBundle(b, { kind: 'certificate', trustedRoots: [expired.root] }),
      'CERT_CHAIN_INVALID',
    ),
  );
  const notYet = pki({ inter: { notBefore: new Date('2026-06-01T00:00:00Z') } });
  await certBundle(notYet).then((b) =>
    throwsCode(
      () => verifyBundle(b, { kind: 'certificate', trustedRoots: [notYet.root] }),
      'CERT_CHAIN_INVALID',
    ),
  );
});

void test('certificate mode: leaf usage — digitalSignature, else codeSigning, else CERT_USAGE_INVALID', async () => {
  const trustOf = (p: Pki): VerificationTrust => ({ kind: 'certificate', trustedRoots: [p.root] });
  const ekuOnly = pki({
    leaf: { keyUsage: { keyCertSign: true }, extKeyUsage: [EKU_CODE_SIGNING] },
  });
  assert.ok(verifyBundle(await certBundle(ekuOnly), trustOf(ekuOnly)));
  const noKeyUsage: Partial<CertSpec> = { extKeyUsage: [EKU_CODE_SIGNING] };
  const ekuNoKu = pki({ leaf: noKeyUsage });
  assert.ok(verifyBundle(await certBundle(ekuNoKu), trustOf(ekuNoKu)));
  for (const leaf of [
    { keyUsage: { keyCertSign: true }, extKeyUsage: [EKU_SERVER_AUTH] },
    { keyUsage: { keyCertSign: true } },
  ] satisfies Partial<CertSpec>[]) {
    const p = pki({ leaf });
    const bundle = await certBundle(p);
    throwsCode(() => verifyBundle(bundle, trustOf(p)), 'CERT_USAGE_INVALID');
  }
});

void test('certificate mode: a leaf with neither usage extension → CERT_USAGE_INVALID', async () => {
  const rootKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leafKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const root = buildCertificate({
    subject: 'root',
    publicKey: rootKey.publicKey,
    signingKey: rootKey.privateKey,
    ca: true,
    keyUsage: { keyCertSign: true },
  });
  const leaf = buildCertificate({
    subject: 'leaf',
    issuer: 'root',
    publicKey: leafKey.publicKey,
    signingKey: rootKey.privateKey,
  });
  const { bundle } = await signManifest(
    manifest,
    fileSigner(leafKey.privateKey, { certificateChain: [leaf] }),
  );
  throwsCode(
    () => verifyBundle(bundle, { kind: 'certificate', trustedRoots: [root] }),
    'CERT_USAGE_INVALID',
  );
});

void test('certificate mode: bundle certificates that are not DER certificates → BUNDLE_INVALID', async () => {
  const p = pki();
  const json = JSON.parse((await certBundle(p)).toString());
  json.verificationMaterial.x509CertificateChain.certificates[1].rawBytes =
    Buffer.from('nope').toString('base64');
  throwsCode(
    () =>
      verifyBundle(Buffer.from(JSON.stringify(json)), {
        kind: 'certificate',
        trustedRoots: [p.root],
      }),
    'BUNDLE_INVALID',
  );
});

void test('certificate mode: an RSA signing certificate → ALGORITHM_UNSUPPORTED', async () => {
  const rootKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const root = buildCertificate({
    subject: 'root',
    publicKey: rootKey.publicKey,
    signingKey: rootKey.privateKey,
    ca: true,
    keyUsage: { keyCertSign: true },
  });
  const leaf = buildCertificate({
    subject: 'leaf',
    issuer: 'root',
    publicKey: rsa.publicKey,
    signingKey: rootKey.privateKey,
    keyUsage: { digitalSignature: true },
  });
  const statement = (
    await signManifest(
      manifest,
      fileSigner(loadPrivateKey(generateKeyPair('ed25519').privateKeyPem)),
    )
  ).statement;
  const bundle = serializeBundle({
    verificationMaterial: { kind: 'x509CertificateChain', certificates: [leaf.raw] },
    payload: statement,
    payloadType: 'application/vnd.in-toto+json',
    signature: cryptoSign('sha256', pae('application/vnd.in-toto+json', statement), rsa.privateKey),
  });
  throwsCode(
    () => verifyBundle(bundle, { kind: 'certificate', trustedRoots: [root] }),
    'ALGORITHM_UNSUPPORTED',
  );
});

// ── inspect ──────────────────────────────────────────────────────────────────────────────

void test('inspectBundle reports claims without verifying', () => {
  const key = inspectBundle(keyed('model.sig'));
  assert.equal(key.verified, false);
  assert.deepEqual(key.signer, {
    kind: 'key',
    hint: 'e0cf4cda27940b22ecd03881987156ca9be52f38afcbfecdf5efc51818117f7e',
  });
  assert.equal(
    key.subjectDigest,
    '6dbeb2c77258be99a913ec8794367ac31055ba1793c62674942e95c9d323ca3a',
  );
  assert.equal(key.subjectName, 'model');
  assert.equal(key.resourceCount, 11);
  assert.equal(key.predicateType, 'https://model_signing/signature/v1.0');
  // A tampered bundle is still inspectable: nothing is verified.
  assert.equal(inspectBundle(keyed('neg-payload-modified.sig')).resourceCount, 11);
  const cert = inspectBundle(keyed('model.cert.sig')).signer;
  assert.equal(cert.kind, 'certificate');
  assert.equal(cert.kind === 'certificate' && cert.subject, 'CN=intermediate-ca');
  assert.equal(inspectBundle(keyed('pos-legacy-rawbytes.sig')).signer.kind, 'key');
  throwsCode(() => inspectBundle(Buffer.from('{')), 'BUNDLE_MALFORMED');
});

void test('inspectBundle on a keyless bundle shows the identity', (t) => {
  const shared = sharedOrSkip(t);
  if (shared === undefined) return;
  const claims = inspectBundle(
    readShared(shared, 'vectors', 'oms-upstream', 'v1.1.0-sigstore', 'model.sig'),
  );
  assert.equal(claims.signer.kind, 'keyless');
  assert.equal(
    claims.signer.kind === 'keyless' && claims.signer.subjectAlternativeName,
    'email:stefanb@us.ibm.com',
  );
});

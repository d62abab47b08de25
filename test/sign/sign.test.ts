import assert from 'node:assert/strict';
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  verify as cryptoVerify,
} from 'node:crypto';
import { test } from 'node:test';
import {
  manifestFromStatement,
  statementFromOwnPayload,
  statementFromPayload,
} from '../../src/envelope/index.js';
import {
  KEY_TYPES,
  fileSigner,
  generateKeyPair,
  loadPrivateKey,
  parseCertificates,
  signatureHashFor,
  type Signer,
} from '../../src/keys/index.js';
import type { Manifest } from '../../src/manifest/index.js';
import { signManifest } from '../../src/sign/index.js';
import {
  filesManifest,
  keyed,
  readShared,
  rejectsCode,
  sharedOrSkip,
} from '../envelope/fixtures.js';
import { buildCertificate } from '../keys/x509-builder.js';

const referencePayload = keyed('payloads/model.payload.json');
/** The manifest the reference signed in model.sig, as Cairn reads it. */
const referenceManifest: Manifest = manifestFromStatement(
  statementFromPayload(referencePayload),
).manifest;

interface BundleJson {
  mediaType: string;
  verificationMaterial: {
    publicKey?: { hint: string };
    x509CertificateChain?: { certificates: { rawBytes: string }[] };
    tlogEntries: unknown[];
  };
  dsseEnvelope: {
    payload: string;
    payloadType: string;
    signatures: { sig: string; keyid: string }[];
  };
}

/** The reference signature file with only the (randomised) signature replaced. */
function withSignature(file: string, sig: string): string {
  const json = keyed(file).toString();
  const original = (JSON.parse(json) as BundleJson).dsseEnvelope.signatures[0]!.sig;
  return json.replace(`"sig":"${original}"`, `"sig":"${sig}"`);
}

void test('same manifest, fixture P-256 key → the reference bundle, with RFC 6979 signature bytes', async () => {
  const signer = fileSigner(loadPrivateKey(keyed('p256.key.pem').toString()));
  const out = await signManifest(referenceManifest, signer, { subjectName: 'model' });
  assert.ok(out.statement.equals(referencePayload), 'payload bytes identical to the reference');
  assert.equal(
    out.digest,
    'sha256:6dbeb2c77258be99a913ec8794367ac31055ba1793c62674942e95c9d323ca3a',
  );
  // Signature from Python `cryptography` 48: ECDSA(SHA256, deterministic_signing=True) over the PAE.
  const expected = withSignature(
    'model.sig',
    'MEQCIG8MQMV39fDjl6NrvFhV2+GtzMgekiSOxmLTrqoRKnocAiA3VRCsSRLDS7kLsO7ri6b6rulqWULFqnPe562dEeIVbQ==',
  );
  assert.equal(out.bundle.toString(), expected);
});

void test('fixture P-384 key → the reference P-384 bundle with RFC 6979 (SHA-384) signature', async () => {
  const signer = fileSigner(loadPrivateKey(keyed('p384.key.pem').toString()));
  const out = await signManifest(referenceManifest, signer);
  const expected = withSignature(
    'model.p384.sig',
    'MGUCMQDvuE6jnaCGyXJMZOIW2tvYXTn/7ph6nGWjaO3n5+jBWhClUYzvP5l2FO2roFpRzI0CMEMus2rE1p4AyASvDHqlEvYHhLX+8fra9r5cKGorisVZQ8aHgMP0cIDN0B1kd5Vtiw==',
  );
  assert.equal(out.bundle.toString(), expected);
});

void test('same model + same key twice → byte-identical bundles (P-256, P-384, P-521, Ed25519)', async () => {
  const manifest = filesManifest([
    ['weights.bin', 'w'],
    ['config.json', '{}'],
  ]);
  for (const type of KEY_TYPES) {
    const pem = generateKeyPair(type).privateKeyPem;
    const a = await signManifest(manifest, fileSigner(loadPrivateKey(pem)));
    const b = await signManifest(manifest, fileSigner(loadPrivateKey(pem)));
    assert.ok(a.bundle.equals(b.bundle), type);
  }
});

void test('our bundles obey the reference rules, checked independently with node:crypto', async () => {
  const manifest = filesManifest([
    ['b.txt', 'b'],
    ['a/x.txt', 'x'],
    ['a-b.txt', 'ab'],
  ]);
  for (const type of KEY_TYPES) {
    const pem = generateKeyPair(type).privateKeyPem;
    const signer = fileSigner(loadPrivateKey(pem));
    const { bundle } = await signManifest(manifest, signer);
    const text = bundle.toString();
    assert.ok(!text.endsWith('\n'));
    const json = JSON.parse(text) as BundleJson;
    assert.equal(JSON.stringify(json), text, 'compact JSON');
    assert.deepEqual(Object.keys(json), ['mediaType', 'verificationMaterial', 'dsseEnvelope']);
    assert.deepEqual(Object.keys(json.verificationMaterial), ['publicKey', 'tlogEntries']);
    assert.deepEqual(Object.keys(json.dsseEnvelope), ['payload', 'payloadType', 'signatures']);
    assert.equal(json.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.equal(json.dsseEnvelope.payloadType, 'application/vnd.in-toto+json');
    assert.deepEqual(Object.keys(json.dsseEnvelope.signatures[0]!), ['sig', 'keyid']);
    assert.equal(json.dsseEnvelope.signatures[0]!.keyid, '');
    // hint = sha256 hex of the SPKI PEM text
    const pub = createPublicKey(pem);
    const spkiPem = pub.export({ type: 'spki', format: 'pem' });
    assert.equal(
      json.verificationMaterial.publicKey!.hint,
      createHash('sha256').update(spkiPem).digest('hex'),
    );
    // DER signature over the DSSE PAE with the curve hash
    const payload = Buffer.from(json.dsseEnvelope.payload, 'base64');
    const paeBytes = Buffer.concat([
      Buffer.from(`DSSEv1 28 application/vnd.in-toto+json ${payload.length} `),
      payload,
    ]);
    const sig = Buffer.from(json.dsseEnvelope.signatures[0]!.sig, 'base64');
    const hash = signatureHashFor(type) ?? null;
    assert.ok(
      cryptoVerify(
        hash,
        paeBytes,
        type === 'ed25519' ? pub : { key: pub, dsaEncoding: 'der' },
        sig,
      ),
      type,
    );
    // Resources in the reference order (path components): a/x.txt before a-b.txt.
    const statement = JSON.parse(payload.toString()) as {
      predicate: { resources: { name: string }[] };
    };
    assert.deepEqual(
      statement.predicate.resources.map((r) => r.name),
      ['a/x.txt', 'a-b.txt', 'b.txt'],
    );
  }
});

void test('an empty manifest is refused (MODEL_EMPTY)', async () => {
  const signer = fileSigner(loadPrivateKey(generateKeyPair('ed25519').privateKeyPem));
  await rejectsCode(signManifest(filesManifest([]), signer), 'MODEL_EMPTY');
});

void test('a manifest too big for one signature is refused before the signer is asked', async () => {
  const inner = fileSigner(loadPrivateKey(generateKeyPair('ed25519').privateKeyPem));
  let signed = 0;
  const signer: Signer = {
    ...inner,
    sign: (data) => {
      signed++;
      return inner.sign(data);
    },
  };
  // 60,000 files with 240-character names: a statement of ~20 MB, over 16 MiB once in base64.
  const digest = createHash('sha256').update('x').digest();
  const base = filesManifest([['f', 'x']]);
  const resources = Array.from({ length: 60_000 }, (_, i) => {
    const path = `${'d'.repeat(200)}/${String(i).padStart(39, '0')}`;
    return { ...base.resources[0]!, name: path, path, digest };
  });
  const error = await rejectsCode(
    signManifest({ ...base, resources }, signer),
    'SIGNATURE_TOO_LARGE',
  );
  assert.equal(signed, 0);
  const details = error.details as { size: number; limit: number };
  assert.equal(details.limit, 16 * 1024 * 1024);
  assert.ok(details.size > details.limit, JSON.stringify(details));
  // The same signer signs a small manifest (so the count above means something).
  await signManifest(filesManifest([['f', 'x']]), signer);
  assert.equal(signed, 1);
});

void test('unsafe or colliding names are refused before signing', async () => {
  const signer = fileSigner(loadPrivateKey(generateKeyPair('ed25519').privateKeyPem));
  await rejectsCode(signManifest(filesManifest([['../x', 'x']]), signer), 'MODEL_NAME_INVALID');
  await rejectsCode(signManifest(filesManifest([['a\\b', 'x']]), signer), 'MODEL_NAME_INVALID');
  await rejectsCode(
    signManifest(
      filesManifest([
        ['a', 'x'],
        ['a', 'y'],
      ]),
      signer,
    ),
    'MODEL_NAME_INVALID',
  );
  await rejectsCode(
    signManifest(
      filesManifest([
        ['caf\u00e9', 'x'],
        ['cafe\u0301', 'y'],
      ]),
      signer,
    ),
    'MODEL_NAME_COLLISION',
  );
});

void test('a statement Cairn would refuse to verify is never signed (self-check)', async () => {
  const signer = fileSigner(loadPrivateKey(generateKeyPair('ed25519').privateKeyPem));
  const good = filesManifest([
    ['a.txt', 'x'],
    ['b.txt', 'y'],
  ]);
  // Names pass the signer's own checks, but a 16-byte sha256 digest is refused on reading back.
  const short = {
    ...good,
    resources: good.resources.map((r, i) =>
      i === 1 ? { ...r, digest: r.digest.subarray(0, 16) } : r,
    ),
  };
  await rejectsCode(signManifest(short, signer), 'INTERNAL');
  // The same read-back accepts what is well formed, and agrees with the verifier's parse.
  const { statement } = await signManifest(good, signer);
  assert.deepEqual(
    manifestFromStatement(statementFromOwnPayload(statement)),
    manifestFromStatement(statementFromPayload(statement)),
  );
});

void test('certificate mode writes the leaf and chain DER in x509CertificateChain', async () => {
  const root = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const leafKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rootCert = buildCertificate({
    subject: 'r',
    publicKey: root.publicKey,
    signingKey: root.privateKey,
    ca: true,
    keyUsage: { keyCertSign: true },
  });
  const leafCert = buildCertificate({
    subject: 'l',
    issuer: 'r',
    publicKey: leafKey.publicKey,
    signingKey: root.privateKey,
    keyUsage: { digitalSignature: true },
  });
  const signer = fileSigner(leafKey.privateKey, { certificateChain: [leafCert, rootCert] });
  const { bundle } = await signManifest(filesManifest([['f', 'x']]), signer);
  const json = JSON.parse(bundle.toString()) as BundleJson;
  assert.deepEqual(Object.keys(json.verificationMaterial), ['x509CertificateChain', 'tlogEntries']);
  const certs = json.verificationMaterial.x509CertificateChain!.certificates.map((c) =>
    Buffer.from(c.rawBytes, 'base64'),
  );
  assert.ok(certs[0]!.equals(leafCert.raw));
  assert.ok(certs[1]!.equals(rootCert.raw));
});

void test('certificate mode with the upstream PKI reproduces model.cert.sig apart from the signature', async (t) => {
  const shared = sharedOrSkip(t);
  if (shared === undefined) return;
  const dir = ['vectors', 'oms-keyed', 'upstream-certs'];
  const key = loadPrivateKey(readShared(shared, ...dir, 'signing-key.pem').toString());
  const chain = [
    ...parseCertificates(readShared(shared, ...dir, 'signing-key-cert.pem')),
    ...parseCertificates(readShared(shared, ...dir, 'int-ca-cert.pem')),
  ];
  const { bundle } = await signManifest(
    referenceManifest,
    fileSigner(key, { certificateChain: chain }),
  );
  const ours = (JSON.parse(bundle.toString()) as BundleJson).dsseEnvelope.signatures[0]!.sig;
  assert.equal(bundle.toString(), withSignature('model.cert.sig', ours));
});

/**
 * Offline keyless verification against the upstream `model_signing` keyless vectors
 * (sigstore/model-transparency scripts/tests/v*-sigstore, read from /work/shared, never copied).
 *
 * Finding (checked here): all four vectors verify fully offline against the public-good trusted
 * root embedded in @sigstore/tuf 4.0.2. They were logged in Rekor v1 (log ID wNI9…, key valid
 * from 2021-01-12, no end), their SCTs come from CT log 2022 (3T0w…, from 2022-10-20), their
 * certificates chain to the Fulcio intermediate of the CA valid from 2022-04-13, and v1.1.0's
 * RFC 3161 timestamp to the sigstore TSA valid from 2025-07-04. Signing times are 2025-05-03 and
 * 2025-10-07/10, inside every window, so nothing needs the network and TRUST_ROOT_UNAVAILABLE is
 * only exercised with trusted roots that have had an entry removed.
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it, before, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { isCairnError, type CairnError, type ErrorCode } from '../../src/errors/index.js';
import {
  loadEmbeddedSigstoreTrustedRoot,
  type SigstoreTrustedRoot,
} from '../../src/keys/sigstore-trust.js';
import { verifyKeylessBundle, type KeylessPolicy } from '../../src/verify/keyless.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const upstream = path.resolve(repoRoot, '..', 'shared', 'vectors', 'oms-upstream');
const fixtures = path.join(repoRoot, 'test', 'fixtures', 'oms-keyed');

const VECTORS = ['v0.3.1', 'v1.0.0', 'v1.0.1', 'v1.1.0'] as const;
const POLICY: KeylessPolicy = {
  identity: 'stefanb@us.ibm.com',
  issuer: 'https://sigstore.verify.ibm.com/oauth2',
};

/** The parts of a keyless bundle's JSON the tests read or tamper with. */
interface TlogEntryJSON {
  logIndex: string;
  integratedTime: string;
  canonicalizedBody: string;
  inclusionPromise: { signedEntryTimestamp: string };
  inclusionProof: {
    logIndex: string;
    rootHash: string;
    treeSize: string;
    hashes: string[];
    checkpoint: { envelope: string };
  };
}
interface BundleJSON {
  [field: string]: unknown;
  verificationMaterial: {
    certificate: { rawBytes: string };
    tlogEntries: TlogEntryJSON[];
    timestampVerificationData: { rfc3161Timestamps: { signedTimestamp: string }[] };
  };
  dsseEnvelope?: { payload: string; payloadType: string; signatures: { sig: string }[] };
}

function vectorsAvailable(t: TestContext): boolean {
  if (existsSync(upstream)) return true;
  const message = `upstream OMS vectors not found at ${upstream}`;
  if (process.env.CI === 'true') assert.fail(`${message} (required in CI)`);
  console.warn(`WARNING: ${message}; skipping keyless vector tests`);
  t.skip(message);
  return false;
}

function readVector(version: (typeof VECTORS)[number]): BundleJSON {
  return JSON.parse(
    readFileSync(path.join(upstream, `${version}-sigstore`, 'model.sig'), 'utf8'),
  ) as BundleJSON;
}

function envelopeOf(bundle: BundleJSON): NonNullable<BundleJSON['dsseEnvelope']> {
  assert.ok(bundle.dsseEnvelope);
  return bundle.dsseEnvelope;
}

function expectCode(fn: () => unknown, codes: readonly ErrorCode[]): CairnError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  if (!isCairnError(caught)) return assert.fail(`expected a CairnError, got ${String(caught)}`);
  assert.ok(
    codes.includes(caught.code),
    `expected ${codes.join(' or ')}, got ${caught.code}: ${caught.message}`,
  );
  return caught;
}

function entry0(bundle: BundleJSON): TlogEntryJSON {
  const entry = bundle.verificationMaterial.tlogEntries[0];
  assert.ok(entry);
  return entry;
}

function flipBase64(b64: string, byte = 0): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[byte % bytes.length]! ^= 0x01;
  return bytes.toString('base64');
}

let embedded: SigstoreTrustedRoot;
const rootCopy = (): SigstoreTrustedRoot => structuredClone(embedded);

before(() => {
  embedded = loadEmbeddedSigstoreTrustedRoot().trustedRoot;
});

void describe('upstream keyless vectors verify offline', () => {
  for (const version of VECTORS) {
    void it(`${version}-sigstore`, (t) => {
      if (!vectorsAvailable(t)) return;
      const json = readVector(version);
      const result = verifyKeylessBundle(json, POLICY, embedded);

      assert.equal(result.identity, POLICY.identity);
      assert.equal(result.issuer, POLICY.issuer);
      assert.equal(result.payloadType, 'application/vnd.in-toto+json');
      assert.deepEqual(result.payload, Buffer.from(envelopeOf(json).payload, 'base64'));
      const statement = JSON.parse(result.payload.toString('utf8')) as { predicateType: string };
      assert.equal(statement.predicateType, 'https://model_signing/signature/v1.0');

      const der = Buffer.from(json.verificationMaterial.certificate.rawBytes, 'base64');
      assert.equal(result.certificateFingerprint, createHash('sha256').update(der).digest('hex'));
      assert.equal(
        result.certificateFingerprint,
        new X509Certificate(der).fingerprint256.replaceAll(':', '').toLowerCase(),
      );

      const entry = entry0(json);
      assert.equal(result.logIndex, entry.logIndex);
      assert.equal(
        result.integratedTime,
        new Date(Number(entry.integratedTime) * 1000).toISOString().replace('.000Z', 'Z'),
      );
      assert.deepEqual(
        result.timestamps.map((ts) => ts.source),
        version === 'v1.1.0' ? ['transparency-log', 'timestamp-authority'] : ['transparency-log'],
      );
    });
  }
});

void describe('identity is matched exactly', () => {
  const wrong: [string, Partial<KeylessPolicy>][] = [
    ['another identity', { identity: 'alice@example.com' }],
    ['another issuer', { issuer: 'https://accounts.google.com' }],
    ['a prefix of the identity', { identity: 'stefanb' }],
    ['a longer prefix', { identity: 'stefanb@us.ibm' }],
    ['a suffix (substring) of the identity', { identity: 'us.ibm.com' }],
    ['a regular expression matching it', { identity: '.*' }],
    ['an unescaped-dot lookalike', { identity: 'stefanb@us.ibm.co.' }],
    ['different case', { identity: 'STEFANB@US.IBM.COM' }],
    ['a trailing space', { identity: 'stefanb@us.ibm.com ' }],
    ['the email as a URI', { identity: 'mailto:stefanb@us.ibm.com' }],
    ['an issuer prefix', { issuer: 'https://sigstore.verify.ibm.com' }],
    ['an issuer with a trailing slash', { issuer: 'https://sigstore.verify.ibm.com/oauth2/' }],
    ['the issuer as a pattern', { issuer: 'https://.*' }],
  ];
  for (const [name, change] of wrong) {
    void it(`refuses ${name}`, (t) => {
      if (!vectorsAvailable(t)) return;
      const err = expectCode(
        () => verifyKeylessBundle(readVector('v1.1.0'), { ...POLICY, ...change }, embedded),
        ['IDENTITY_MISMATCH'],
      );
      assert.deepEqual(err.details?.actual, POLICY);
    });
  }

  void it('refuses an empty identity or issuer as a usage error', (t) => {
    if (!vectorsAvailable(t)) return;
    for (const change of [{ identity: '' }, { issuer: '' }]) {
      expectCode(
        () => verifyKeylessBundle(readVector('v1.1.0'), { ...POLICY, ...change }, embedded),
        ['USAGE'],
      );
    }
  });
});

void describe('tampered bundles are refused', () => {
  const cases: [string, (b: BundleJSON) => void, ErrorCode[]][] = [
    [
      'payload re-encoded after editing the statement',
      (b) => {
        const env = envelopeOf(b);
        const text = Buffer.from(env.payload, 'base64').toString('utf8');
        // Change the first hex digit of the subject digest: same length, still valid JSON.
        const edited = text.replace(
          /("sha256": ")([0-9a-f])/,
          (_m, prefix: string, digit: string) => prefix + (digit === '0' ? '1' : '0'),
        );
        assert.notEqual(edited, text);
        env.payload = Buffer.from(edited).toString('base64');
      },
      ['TLOG_INVALID', 'SIGNATURE_INVALID'],
    ],
    [
      // The Rekor DSSE entry records the signature and payload hash but not the payload type, so
      // this one gets past the log and fails on the signature over the PAE.
      'payloadType changed',
      (b) => {
        envelopeOf(b).payloadType = 'application/json';
      },
      ['SIGNATURE_INVALID'],
    ],
    [
      'signature bytes changed',
      (b) => {
        const sig = envelopeOf(b).signatures[0]!;
        sig.sig = flipBase64(sig.sig, 10);
      },
      ['TLOG_INVALID', 'SIGNATURE_INVALID'],
    ],
    [
      'inclusion proof hash changed',
      (b) => {
        const proof = entry0(b).inclusionProof;
        proof.hashes[0] = flipBase64(proof.hashes[0]!);
      },
      ['TLOG_INVALID'],
    ],
    [
      'inclusion proof hash removed',
      (b) => {
        entry0(b).inclusionProof.hashes.pop();
      },
      ['TLOG_INVALID'],
    ],
    [
      'inclusion proof index changed',
      (b) => {
        const proof = entry0(b).inclusionProof;
        proof.logIndex = String(BigInt(proof.logIndex) - 1n);
      },
      ['TLOG_INVALID'],
    ],
    [
      'inclusion proof root hash contradicts the checkpoint',
      (b) => {
        const proof = entry0(b).inclusionProof;
        proof.rootHash = flipBase64(proof.rootHash);
      },
      ['TLOG_INVALID'],
    ],
    [
      'inclusion proof tree size contradicts the checkpoint',
      (b) => {
        const proof = entry0(b).inclusionProof;
        proof.treeSize = String(BigInt(proof.treeSize) + 1n);
      },
      ['TLOG_INVALID'],
    ],
    [
      'checkpoint root hash changed (signature no longer covers it)',
      (b) => {
        const checkpoint = entry0(b).inclusionProof.checkpoint;
        const lines = checkpoint.envelope.split('\n');
        lines[2] = flipBase64(lines[2]!);
        checkpoint.envelope = lines.join('\n');
        const proof = entry0(b).inclusionProof;
        proof.rootHash = lines[2];
      },
      ['TLOG_INVALID'],
    ],
    [
      'inclusion promise (SET) changed',
      (b) => {
        const promise = entry0(b).inclusionPromise;
        promise.signedEntryTimestamp = flipBase64(promise.signedEntryTimestamp, 12);
      },
      ['TLOG_INVALID'],
    ],
    [
      'integrated time moved',
      (b) => {
        const entry = entry0(b);
        entry.integratedTime = String(Number(entry.integratedTime) + 60);
      },
      ['TLOG_INVALID'],
    ],
    [
      'log entry body changed',
      (b) => {
        const entry = entry0(b);
        const body = JSON.parse(
          Buffer.from(entry.canonicalizedBody, 'base64').toString('utf8'),
        ) as { apiVersion: string };
        body.apiVersion = '0.0.2';
        entry.canonicalizedBody = Buffer.from(JSON.stringify(body)).toString('base64');
      },
      ['TLOG_INVALID'],
    ],
    [
      'RFC 3161 timestamp signature changed',
      (b) => {
        const ts = b.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0]!;
        const bytes = Buffer.from(ts.signedTimestamp, 'base64');
        bytes[bytes.length - 5]! ^= 0x01; // inside the trailing signature value
        ts.signedTimestamp = bytes.toString('base64');
      },
      ['TLOG_INVALID'],
    ],
    [
      'checkpoint signature changed',
      (b) => {
        const checkpoint = entry0(b).inclusionProof.checkpoint;
        checkpoint.envelope = checkpoint.envelope.replace(
          /(\u2014 \S+ )(\S+)/,
          (_m, prefix: string, sig: string) => prefix + flipBase64(sig, 20),
        );
      },
      ['TLOG_INVALID'],
    ],
  ];
  for (const [name, tamper, codes] of cases) {
    void it(name, (t) => {
      if (!vectorsAvailable(t)) return;
      const bundle = readVector('v1.1.0');
      tamper(bundle);
      expectCode(() => verifyKeylessBundle(bundle, POLICY, embedded), codes);
    });
  }

  void it("another bundle's certificate (valid chain, wrong time and key) fails the chain", (t) => {
    if (!vectorsAvailable(t)) return;
    // v1.0.0's certificate was valid 01:34–01:44 UTC; v0.3.1 was logged at 01:10 UTC the same day.
    const bundle = readVector('v0.3.1');
    bundle.verificationMaterial.certificate = readVector('v1.0.0').verificationMaterial.certificate;
    expectCode(() => verifyKeylessBundle(bundle, POLICY, embedded), ['CERT_CHAIN_INVALID']);
  });

  void it('any one-bit change to the payload is refused', (t) => {
    if (!vectorsAvailable(t)) return;
    const original = Buffer.from(envelopeOf(readVector('v1.0.1')).payload, 'base64');
    fc.assert(
      fc.property(fc.nat(original.length * 8 - 1), (bit) => {
        const bundle = readVector('v1.0.1');
        const payload = Buffer.from(original);
        payload[bit >> 3]! ^= 1 << (bit & 7);
        envelopeOf(bundle).payload = payload.toString('base64');
        expectCode(
          () => verifyKeylessBundle(bundle, POLICY, embedded),
          ['TLOG_INVALID', 'SIGNATURE_INVALID'],
        );
      }),
      { numRuns: 40 },
    );
  });
});

void describe('trust material', () => {
  void it('a trusted root without the Rekor log is TRUST_ROOT_UNAVAILABLE, naming the log', (t) => {
    if (!vectorsAvailable(t)) return;
    const root = rootCopy();
    root.tlogs = root.tlogs.filter((l) => l.baseUrl !== 'https://rekor.sigstore.dev');
    const err = expectCode(
      () => verifyKeylessBundle(readVector('v1.0.1'), POLICY, root),
      ['TRUST_ROOT_UNAVAILABLE'],
    );
    assert.equal(err.kind, 'infra');
    assert.deepEqual(err.details?.missing, [
      "Rekor log wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0= (the log holding the bundle's entry)",
    ]);
  });

  void it('a trusted root without the CT log is TRUST_ROOT_UNAVAILABLE', (t) => {
    if (!vectorsAvailable(t)) return;
    const root = rootCopy();
    root.ctlogs = root.ctlogs.filter((l) => l.baseUrl !== 'https://ctfe.sigstore.dev/2022');
    const err = expectCode(
      () => verifyKeylessBundle(readVector('v0.3.1'), POLICY, root),
      ['TRUST_ROOT_UNAVAILABLE'],
    );
    assert.match(String((err.details?.missing as string[])[0]), /^CT log 3T0wasbH/);
  });

  void it('a trusted root without the Fulcio intermediate is TRUST_ROOT_UNAVAILABLE', (t) => {
    if (!vectorsAvailable(t)) return;
    const root = rootCopy();
    // Keep only the 2021–2022 CA, whose single certificate did not issue 2025 certificates.
    root.certificateAuthorities = root.certificateAuthorities.slice(0, 1);
    const err = expectCode(
      () => verifyKeylessBundle(readVector('v1.0.0'), POLICY, root),
      ['TRUST_ROOT_UNAVAILABLE'],
    );
    assert.match(
      String((err.details?.missing as string[])[0]),
      /^Fulcio CA certificate with key ID dfd3e9cf/,
    );
  });

  void it('a trusted root without the TSA is TRUST_ROOT_UNAVAILABLE for a timestamped bundle', (t) => {
    if (!vectorsAvailable(t)) return;
    const root = rootCopy();
    root.timestampAuthorities = [];
    expectCode(
      () => verifyKeylessBundle(readVector('v1.1.0'), POLICY, root),
      ['TRUST_ROOT_UNAVAILABLE'],
    );
    // Bundles without a TSA timestamp do not need one.
    verifyKeylessBundle(readVector('v1.0.1'), POLICY, root);
  });

  void it('a known Fulcio CA whose window ended before signing fails the chain', (t) => {
    if (!vectorsAvailable(t)) return;
    const root = rootCopy();
    root.certificateAuthorities[1]!.validFor.end = '2024-12-31T23:59:59Z';
    expectCode(
      () => verifyKeylessBundle(readVector('v1.0.1'), POLICY, root),
      ['CERT_CHAIN_INVALID'],
    );
  });

  void it('a known Rekor key whose window ended before integration fails the log evidence', (t) => {
    if (!vectorsAvailable(t)) return;
    const root = rootCopy();
    const rekor = root.tlogs.find((l) => l.baseUrl === 'https://rekor.sigstore.dev')!;
    rekor.publicKey.validFor.end = '2024-12-31T23:59:59Z';
    expectCode(() => verifyKeylessBundle(readVector('v1.0.1'), POLICY, root), ['TLOG_INVALID']);
  });

  void it('a Rekor log entry signed by another key under the same ID fails the log evidence', (t) => {
    if (!vectorsAvailable(t)) return;
    const root = rootCopy();
    const [rekor, other] = root.tlogs;
    rekor!.publicKey = { ...other!.publicKey, validFor: rekor!.publicKey.validFor };
    rekor!.publicKey.keyDetails = 'PKIX_ED25519';
    expectCode(() => verifyKeylessBundle(readVector('v1.0.1'), POLICY, root), ['TLOG_INVALID']);
  });

  void it('an invalid trusted root is TRUST_ROOT_UNAVAILABLE', (t) => {
    if (!vectorsAvailable(t)) return;
    expectCode(
      () => verifyKeylessBundle(readVector('v1.0.1'), POLICY, { tlogs: [] }),
      ['TRUST_ROOT_UNAVAILABLE'],
    );
  });
});

void describe('bundles that are not keyless', () => {
  void it('a key-mode OMS bundle is VERIFICATION_MATERIAL_MISMATCH', () => {
    const bundle = JSON.parse(readFileSync(path.join(fixtures, 'model.sig'), 'utf8')) as unknown;
    expectCode(
      () => verifyKeylessBundle(bundle, POLICY, embedded),
      ['VERIFICATION_MATERIAL_MISMATCH'],
    );
  });

  void it('a certificate-mode OMS bundle is VERIFICATION_MATERIAL_MISMATCH', () => {
    const bundle = JSON.parse(
      readFileSync(path.join(fixtures, 'model.cert.sig'), 'utf8'),
    ) as unknown;
    expectCode(
      () => verifyKeylessBundle(bundle, POLICY, embedded),
      ['VERIFICATION_MATERIAL_MISMATCH'],
    );
  });

  void it('malformed bundles are BUNDLE_INVALID with every bad field listed', (t) => {
    if (!vectorsAvailable(t)) return;
    for (const input of [null, 'bundle', [], 7]) {
      expectCode(() => verifyKeylessBundle(input, POLICY, embedded), ['BUNDLE_INVALID']);
    }
    const bundle = readVector('v1.0.1');
    delete bundle.dsseEnvelope;
    bundle.verificationMaterial.tlogEntries = [];
    const err = expectCode(() => verifyKeylessBundle(bundle, POLICY, embedded), ['BUNDLE_INVALID']);
    const fields = err.details?.fields as string[];
    assert.ok(
      fields.some((f) => f.startsWith('dsseEnvelope')),
      fields.join(),
    );
    assert.ok(
      fields.some((f) => f.startsWith('verificationMaterial.tlogEntries')),
      fields.join(),
    );
  });

  void it('a garbage certificate is BUNDLE_INVALID', (t) => {
    if (!vectorsAvailable(t)) return;
    const bundle = readVector('v1.0.1');
    bundle.verificationMaterial.certificate.rawBytes =
      Buffer.from('not a certificate').toString('base64');
    expectCode(() => verifyKeylessBundle(bundle, POLICY, embedded), ['BUNDLE_INVALID']);
  });

  void it('a message-signature bundle is BUNDLE_INVALID', (t) => {
    if (!vectorsAvailable(t)) return;
    const bundle = readVector('v1.0.1');
    delete bundle.dsseEnvelope;
    bundle.messageSignature = {
      messageDigest: { algorithm: 'SHA2_256', digest: Buffer.alloc(32).toString('base64') },
      signature: Buffer.alloc(8).toString('base64'),
    };
    expectCode(() => verifyKeylessBundle(bundle, POLICY, embedded), ['BUNDLE_INVALID']);
  });

  void it('arbitrary JSON only ever yields Cairn errors', (t) => {
    if (!vectorsAvailable(t)) return;
    const base = readVector('v1.0.1');
    fc.assert(
      fc.property(
        fc.constantFrom('verificationMaterial', 'dsseEnvelope', 'mediaType'),
        fc.jsonValue({ maxDepth: 3 }),
        (key, value) => {
          const bundle = structuredClone(base);
          (bundle as Record<string, unknown>)[key] = value;
          expectCode(
            () => verifyKeylessBundle(bundle, POLICY, embedded),
            [
              'BUNDLE_INVALID',
              'VERIFICATION_MATERIAL_MISMATCH',
              'TLOG_INVALID',
              'SIGNATURE_INVALID',
              'CERT_CHAIN_INVALID',
            ],
          );
        },
      ),
      { numRuns: 150 },
    );
  });
});

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { CairnError } from '../../src/errors/index.js';
import {
  OID_EKU_CODE_SIGNING,
  certificateFingerprint,
  certificateUsage,
  parseCertificates,
} from '../../src/keys/index.js';
import { readShared, sharedOrSkip, throwsCode } from '../envelope/fixtures.js';
import { EKU_SERVER_AUTH, buildCertificate, oid } from './x509-builder.js';
import { decodeOid } from '../../src/keys/der.js';

const root = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const leafKey = generateKeyPairSync('ed25519');
const rootCert = buildCertificate({
  subject: 'test root',
  publicKey: root.publicKey,
  signingKey: root.privateKey,
  ca: true,
  keyUsage: { keyCertSign: true },
});
const leafCert = buildCertificate({
  subject: 'test leaf',
  issuer: 'test root',
  publicKey: leafKey.publicKey,
  signingKey: root.privateKey,
  notBefore: new Date('2026-02-03T04:05:06Z'),
  notAfter: new Date('2049-12-31T23:59:59Z'),
  keyUsage: { digitalSignature: true },
  extKeyUsage: [OID_EKU_CODE_SIGNING, EKU_SERVER_AUTH],
});

void test('parseCertificates: PEM bundle with several certificates, text around them', () => {
  const pem = `junk before\n${rootCert.toString()}between\n${leafCert.toString()}`;
  const certs = parseCertificates(Buffer.from(pem));
  assert.equal(certs.length, 2);
  assert.ok(certs[0]!.raw.equals(rootCert.raw));
  assert.ok(certs[1]!.raw.equals(leafCert.raw));
  const crlf = Buffer.from(leafCert.toString().replace(/\n/g, '\r\n'));
  assert.ok(parseCertificates(crlf)[0]!.raw.equals(leafCert.raw));
});

void test('parseCertificates: a DER certificate', () => {
  const certs = parseCertificates(leafCert.raw);
  assert.equal(certs.length, 1);
  assert.equal(
    certificateFingerprint(certs[0]!),
    leafCert.fingerprint256.replace(/:/g, '').toLowerCase(),
  );
});

void test('parseCertificates: garbage, empty, broken blocks → CERT_MALFORMED', () => {
  throwsCode(() => parseCertificates(Buffer.alloc(0)), 'CERT_MALFORMED');
  throwsCode(() => parseCertificates(Buffer.from('not a certificate')), 'CERT_MALFORMED');
  throwsCode(
    () => parseCertificates(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00])),
    'CERT_MALFORMED',
  );
  throwsCode(
    () =>
      parseCertificates(
        Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
      ),
    'CERT_MALFORMED',
  );
  throwsCode(() => parseCertificates(Buffer.alloc(2 * 1024 * 1024, 0x41)), 'CERT_MALFORMED');
});

void test('certificateUsage reads validity, keyUsage bits and extended key usage', () => {
  assert.deepEqual(certificateUsage(leafCert.raw), {
    notBefore: new Date('2026-02-03T04:05:06Z'),
    notAfter: new Date('2049-12-31T23:59:59Z'),
    keyUsage: { digitalSignature: true, keyCertSign: false },
    extKeyUsage: [OID_EKU_CODE_SIGNING, EKU_SERVER_AUTH],
  });
  // Node's `keyUsage` is the extended key usage list: the two readings agree.
  assert.deepEqual(leafCert.keyUsage, certificateUsage(leafCert.raw).extKeyUsage);
  assert.deepEqual(certificateUsage(rootCert.raw).keyUsage, {
    digitalSignature: false,
    keyCertSign: true,
  });
  const bare = buildCertificate({
    subject: 'bare',
    publicKey: leafKey.publicKey,
    signingKey: root.privateKey,
    notAfter: new Date('2051-01-01T00:00:00Z'), // GeneralizedTime is not produced by the builder
  });
  const u = certificateUsage(bare.raw);
  assert.equal(u.keyUsage, undefined);
  assert.equal(u.extKeyUsage, undefined);
});

void test('certificateUsage on the upstream test PKI', (t) => {
  const shared = sharedOrSkip(t);
  if (shared === undefined) return;
  const dir = ['vectors', 'oms-keyed', 'upstream-certs'];
  const [leaf] = parseCertificates(readShared(shared, ...dir, 'signing-key-cert.pem'));
  const [ca] = parseCertificates(readShared(shared, ...dir, 'ca-cert.pem'));
  const u = certificateUsage(leaf!.raw);
  assert.deepEqual(u.keyUsage, { digitalSignature: true, keyCertSign: false });
  assert.deepEqual(u.extKeyUsage, [OID_EKU_CODE_SIGNING]);
  assert.equal(u.notBefore.toISOString(), '2025-05-02T23:36:28.000Z');
  assert.equal(u.notBefore.getTime(), Date.parse(leaf!.validFrom));
  assert.deepEqual(certificateUsage(ca!.raw).keyUsage, {
    digitalSignature: false,
    keyCertSign: true,
  });
});

void test('decodeOid inverts OID encoding (property)', () => {
  const arc = fc.integer({ min: 0, max: 2 ** 40 });
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 }),
      fc.integer({ min: 0, max: 39 }),
      fc.array(arc, { maxLength: 8 }),
      (a, b, rest) => {
        const dotted = [a, b, ...rest].join('.');
        const der = oid(dotted);
        assert.equal(decodeOid(der.subarray(2)), dotted);
      },
    ),
  );
});

void test('certificateUsage never throws anything but CERT_MALFORMED on hostile DER (property)', () => {
  const mutate = fc
    .tuple(
      fc.nat(leafCert.raw.length - 1),
      fc.integer({ min: 0, max: 255 }),
      fc.nat(leafCert.raw.length),
    )
    .map(([at, value, cut]) => {
      const b = Buffer.from(leafCert.raw);
      b[at] = value;
      return b.subarray(0, Math.max(cut, at + 1));
    });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutate), (bytes) => {
      try {
        certificateUsage(bytes);
      } catch (err) {
        assert.ok(err instanceof CairnError, String(err));
        assert.equal(err.code, 'CERT_MALFORMED');
      }
    }),
    { numRuns: 1000 },
  );
});

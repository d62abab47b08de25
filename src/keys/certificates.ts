import { X509Certificate } from 'node:crypto';
import { UsageError } from '../errors/index.js';
import { DerError, TAG, decodeOid, decodeTime, readChildren, readWhole } from './der.js';

/** Certificate files hold a leaf and a few intermediates; this bounds hostile input. */
const MAX_CERTIFICATE_INPUT = 1024 * 1024;
const MAX_CERTIFICATES = 64;

export const OID_KEY_USAGE = '2.5.29.15';
export const OID_EXT_KEY_USAGE = '2.5.29.37';
export const OID_EKU_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';

const PEM_CERT = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/g;

/**
 * Reads one or more X.509 certificates: PEM text with any number of `CERTIFICATE` blocks (other
 * blocks and text are ignored, as OpenSSL does), or a single DER certificate. CERT_MALFORMED
 * when nothing usable is found or a block does not parse.
 */
export function parseCertificates(bytes: Uint8Array): X509Certificate[] {
  if (bytes.length > MAX_CERTIFICATE_INPUT) {
    throw new UsageError(
      'CERT_MALFORMED',
      `Certificate input is larger than ${MAX_CERTIFICATE_INPUT} bytes`,
    );
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // DER starts with a SEQUENCE tag; PEM is text.
  if (buf[0] === 0x30) return [parseOne(buf, 'DER certificate')];
  const text = buf.toString('latin1');
  const certs: X509Certificate[] = [];
  for (const match of text.matchAll(PEM_CERT)) {
    if (certs.length >= MAX_CERTIFICATES) {
      throw new UsageError('CERT_MALFORMED', `More than ${MAX_CERTIFICATES} certificates`);
    }
    const der = Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64');
    certs.push(parseOne(der, `certificate #${certs.length + 1}`));
  }
  if (certs.length === 0) {
    throw new UsageError('CERT_MALFORMED', 'No PEM "CERTIFICATE" block and not a DER certificate');
  }
  return certs;
}

function parseOne(der: Buffer, what: string): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (err) {
    throw new UsageError('CERT_MALFORMED', `The ${what} could not be parsed`, { cause: err });
  }
}

/** What a certificate's DER says about when and for what its key may be used. */
export interface CertificateUsage {
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Absent when the certificate has no keyUsage extension. */
  readonly keyUsage?: { readonly digitalSignature: boolean; readonly keyCertSign: boolean };
  /** Extended key usage OIDs; absent when the extension is absent. */
  readonly extKeyUsage?: readonly string[];
}

/**
 * Reads validity and key-usage extensions from a certificate's DER. Node's X509Certificate has
 * no keyUsage bits (its `keyUsage` is the extended key usage list) and, on Node 20, no Date for
 * validity, so we read the few fields we need ourselves. CERT_MALFORMED on bad DER.
 */
export function certificateUsage(der: Uint8Array): CertificateUsage {
  try {
    return readUsage(der);
  } catch (err) {
    if (err instanceof DerError) {
      throw new UsageError('CERT_MALFORMED', `Certificate DER is malformed: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
}

function readUsage(der: Uint8Array): CertificateUsage {
  const cert = readChildren(readWhole(der, TAG.SEQUENCE).content);
  const tbsElement = cert[0];
  if (tbsElement?.tag !== TAG.SEQUENCE) throw new DerError('no TBSCertificate');
  const tbs = readChildren(tbsElement.content);
  // version [0] is optional; then serial, signature, issuer, validity, subject, spki.
  let i = tbs[0]?.tag === 0xa0 ? 1 : 0;
  i += 3;
  const validity = tbs[i];
  if (validity?.tag !== TAG.SEQUENCE) throw new DerError('no validity');
  const times = readChildren(validity.content);
  if (times.length !== 2) throw new DerError('validity needs two times');
  const notBefore = decodeTime(times[0]!);
  const notAfter = decodeTime(times[1]!);
  i += 3;
  let keyUsage: CertificateUsage['keyUsage'];
  let extKeyUsage: string[] | undefined;
  for (const el of tbs.slice(i)) {
    // issuerUniqueID [1], subjectUniqueID [2] are skipped; extensions are [3].
    if (el.tag !== 0xa3) continue;
    const list = readWhole(el.content, TAG.SEQUENCE);
    for (const ext of readChildren(list.content)) {
      if (ext.tag !== TAG.SEQUENCE) throw new DerError('extension is not a SEQUENCE');
      const parts = readChildren(ext.content);
      const oid = parts[0];
      const value = parts[parts.length - 1];
      if (oid?.tag !== TAG.OID || value?.tag !== TAG.OCTET_STRING || parts.length > 3) {
        throw new DerError('malformed extension');
      }
      const name = decodeOid(oid.content);
      if (name === OID_KEY_USAGE) {
        if (keyUsage !== undefined) throw new DerError('duplicate keyUsage');
        keyUsage = readKeyUsage(value.content);
      } else if (name === OID_EXT_KEY_USAGE) {
        if (extKeyUsage !== undefined) throw new DerError('duplicate extKeyUsage');
        extKeyUsage = readChildren(readWhole(value.content, TAG.SEQUENCE).content).map((o) => {
          if (o.tag !== TAG.OID) throw new DerError('extKeyUsage entry is not an OID');
          return decodeOid(o.content);
        });
      }
    }
  }
  return {
    notBefore,
    notAfter,
    ...(keyUsage === undefined ? {} : { keyUsage }),
    ...(extKeyUsage === undefined ? {} : { extKeyUsage }),
  };
}

/** KeyUsage BIT STRING: bit 0 digitalSignature, bit 5 keyCertSign (RFC 5280 §4.2.1.3). */
function readKeyUsage(content: Uint8Array): NonNullable<CertificateUsage['keyUsage']> {
  const bits = readWhole(content, TAG.BIT_STRING).content;
  if (bits.length < 1 || bits[0]! > 7) throw new DerError('bad keyUsage BIT STRING');
  const first = bits[1] ?? 0;
  return { digitalSignature: (first & 0x80) !== 0, keyCertSign: (first & 0x04) !== 0 };
}

/** Lowercase hex SHA-256 of the certificate DER. */
export function certificateFingerprint(cert: X509Certificate): string {
  return cert.fingerprint256.replace(/:/g, '').toLowerCase();
}

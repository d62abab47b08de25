// A minimal X.509 v3 certificate builder for tests: just enough DER to make chains with chosen
// names, validity, CA flags, key usage and extended key usage, signed with node:crypto.
import {
  X509Certificate,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

export const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128))
      chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function integer(n: number): Buffer {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, 'ascii'));
}

function name(cn: string): Buffer {
  return seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
}

function algorithm(key: KeyObject): Buffer {
  return key.asymmetricKeyType === 'ed25519'
    ? seq(oid('1.3.101.112'))
    : seq(oid('1.2.840.10045.4.3.2')); // ecdsa-with-SHA256
}

export interface KeyUsageBits {
  readonly digitalSignature?: boolean;
  readonly keyCertSign?: boolean;
}

function keyUsage(bits: KeyUsageBits): Buffer {
  const byte = (bits.digitalSignature ? 0x80 : 0) | (bits.keyCertSign ? 0x04 : 0);
  let unused = 0;
  if (byte === 0) return tlv(0x03, Buffer.from([0]));
  while (((byte >> unused) & 1) === 0) unused++;
  return tlv(0x03, Buffer.from([unused, byte]));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}

export interface CertSpec {
  readonly subject: string;
  readonly issuer?: string;
  /** The subject's public key (private is fine: its public half is used). */
  readonly publicKey: KeyObject;
  /** Key that signs the certificate (the issuer's private key). */
  readonly signingKey: KeyObject;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly ca?: boolean;
  readonly keyUsage?: KeyUsageBits;
  readonly extKeyUsage?: readonly string[];
  readonly serial?: number;
}

export function buildCertificate(spec: CertSpec): X509Certificate {
  const exts: Buffer[] = [];
  if (spec.ca !== undefined) {
    exts.push(
      extension('2.5.29.19', true, seq(...(spec.ca ? [tlv(0x01, Buffer.from([0xff]))] : []))),
    );
  }
  if (spec.keyUsage !== undefined) exts.push(extension('2.5.29.15', true, keyUsage(spec.keyUsage)));
  if (spec.extKeyUsage !== undefined) {
    exts.push(extension('2.5.29.37', false, seq(...spec.extKeyUsage.map(oid))));
  }
  const tbs = seq(
    tlv(0xa0, integer(2)),
    integer(spec.serial ?? 1),
    algorithm(spec.signingKey),
    name(spec.issuer ?? spec.subject),
    seq(
      utcTime(spec.notBefore ?? new Date('2025-01-01T00:00:00Z')),
      utcTime(spec.notAfter ?? new Date('2035-01-01T00:00:00Z')),
    ),
    name(spec.subject),
    spkiDer(spec.publicKey),
    ...(exts.length > 0 ? [tlv(0xa3, seq(...exts))] : []),
  );
  const signature =
    spec.signingKey.asymmetricKeyType === 'ed25519'
      ? sign(null, tbs, spec.signingKey)
      : sign('sha256', tbs, { key: spec.signingKey, dsaEncoding: 'der' });
  const der = seq(tbs, algorithm(spec.signingKey), tlv(0x03, Buffer.from([0]), signature));
  return new X509Certificate(der);
}

function spkiDer(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'der' });
}

export const EKU_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
export const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/** A one-level PKI: a CA certificate and a code-signing leaf it issued, with the leaf's key. */
export function codeSigningPki(): {
  caCert: X509Certificate;
  leaf: { privateKey: KeyObject; publicKey: KeyObject };
  leafCert: X509Certificate;
} {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caCert = buildCertificate({
    subject: 'Cairn Test CA',
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    ca: true,
    keyUsage: { keyCertSign: true },
  });
  const leafCert = buildCertificate({
    subject: 'release signer',
    issuer: 'Cairn Test CA',
    publicKey: leaf.publicKey,
    signingKey: ca.privateKey,
    keyUsage: { digitalSignature: true },
    extKeyUsage: [EKU_CODE_SIGNING],
  });
  return { caCert, leaf, leafCert };
}

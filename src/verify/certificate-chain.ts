import type { X509Certificate } from 'node:crypto';
import { ValidationError, VerificationError, isCairnError } from '../errors/index.js';
import { OID_EKU_CODE_SIGNING, certificateUsage, type CertificateUsage } from '../keys/index.js';

/** Leaf + intermediates + root; deeper chains are not a certificate-mode OMS setup. */
const MAX_CHAIN_DEPTH = 8;

function usageOf(cert: X509Certificate, what: string): CertificateUsage {
  try {
    return certificateUsage(cert.raw);
  } catch (err) {
    if (!isCairnError(err)) throw err;
    throw new ValidationError('BUNDLE_INVALID', `The ${what} certificate is malformed`, {
      cause: err,
      details: { issues: [{ path: 'verificationMaterial', message: err.message }] },
    });
  }
}

/**
 * Builds a path leaf → bundle intermediates → a self-signed certificate in `trustedRoots`
 * (matched by exact DER, never by name), checking every link's signature with the issuer's key,
 * that every issuer is a CA allowed to sign certificates, and that every certificate was valid at
 * `at`. Returns the path, leaf first. Like the reference (an OpenSSL store without partial
 * chains), a trusted intermediate does not end a path by itself: the path must reach a trusted
 * self-signed root. Like the reference, which sets the store time to the leaf's notBefore, `at` is
 * the signing time the leaf claims, so expired certificates still verify old signatures.
 */
export function verifyCertificatePath(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  trustedRoots: readonly X509Certificate[],
  at: Date,
): X509Certificate[] {
  if (trustedRoots.length === 0) {
    throw new VerificationError('CERT_CHAIN_INVALID', 'No trusted root certificates were given');
  }
  const isTrustedRoot = (c: X509Certificate): boolean =>
    trustedRoots.some((r) => r.raw.equals(c.raw)) && c.checkIssued(c) && safeVerify(c, c);
  const reasons = new Set<string>();
  const validAt = (c: X509Certificate): boolean => {
    const u = usageOf(c, 'chain');
    const ok = u.notBefore.getTime() <= at.getTime() && at.getTime() <= u.notAfter.getTime();
    if (!ok) reasons.add(`${oneLine(c.subject)} was not valid at ${at.toISOString()}`);
    return ok;
  };
  const candidates = [...trustedRoots, ...intermediates];

  const extend = (path: X509Certificate[]): X509Certificate[] | undefined => {
    const current = path[path.length - 1]!;
    if (isTrustedRoot(current)) return path;
    if (path.length >= MAX_CHAIN_DEPTH) {
      reasons.add('the chain is too long');
      return undefined;
    }
    for (const issuer of candidates) {
      if (path.some((p) => p.raw.equals(issuer.raw))) continue;
      if (!current.checkIssued(issuer)) {
        // Same name but refused by OpenSSL: key identifiers or the issuer's key usage disagree.
        if (current.issuer === issuer.subject) {
          reasons.add(`${oneLine(issuer.subject)} may not issue ${oneLine(current.subject)}`);
        }
        continue;
      }
      if (!issuer.ca) {
        reasons.add(`${oneLine(issuer.subject)} is not a CA`);
        continue;
      }
      if (!safeVerify(current, issuer)) {
        reasons.add(`the signature on ${oneLine(current.subject)} does not verify`);
        continue;
      }
      if (!validAt(issuer)) continue;
      const found = extend([...path, issuer]);
      if (found !== undefined) return found;
    }
    return undefined;
  };

  const path = validAt(leaf) ? extend([leaf]) : undefined;
  if (path === undefined) {
    if (reasons.size === 0) reasons.add('no trusted root issued it');
    throw new VerificationError(
      'CERT_CHAIN_INVALID',
      `The signing certificate (${oneLine(leaf.subject)}) does not chain to a trusted root: ${[
        ...reasons,
      ].join('; ')}`,
      { details: { subject: leaf.subject, issuer: leaf.issuer, reasons: [...reasons] } },
    );
  }
  return path;
}

function oneLine(name: string): string {
  return name.replace(/\n/g, ', ');
}

function safeVerify(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * The reference's rule (`sign_certificate.py`): keyUsage digitalSignature, or else extended key
 * usage codeSigning. With neither extension the certificate says nothing and is refused.
 */
export function checkSigningUsage(leaf: X509Certificate): CertificateUsage {
  const usage = usageOf(leaf, 'signing');
  if (usage.keyUsage?.digitalSignature === true) return usage;
  if (usage.extKeyUsage?.includes(OID_EKU_CODE_SIGNING) === true) return usage;
  throw new VerificationError(
    'CERT_USAGE_INVALID',
    'The signing certificate allows neither digitalSignature (keyUsage) nor codeSigning (extendedKeyUsage)',
    {
      details: {
        subject: leaf.subject,
        keyUsage: usage.keyUsage,
        extKeyUsage: usage.extKeyUsage,
      },
    },
  );
}

export function leafNotBefore(leaf: X509Certificate): Date {
  return usageOf(leaf, 'signing').notBefore;
}

import { X509Certificate } from 'node:crypto';
import { bundleFromJSON, statementFromPayload, type InTotoStatement } from '../envelope/index.js';
import { isCairnError } from '../errors/index.js';
import type { BundleClaims } from './types.js';

/**
 * What a bundle claims — signer hint or certificate names, subject, serialization — read without
 * verifying anything (`verified: false`). Bundle structure errors still throw; an unreadable
 * payload or certificate only leaves the corresponding fields undefined.
 */
export function inspectBundle(bundleBytes: Uint8Array): BundleClaims {
  const bundle = bundleFromJSON(bundleBytes);
  let statement: InTotoStatement | undefined;
  try {
    statement = statementFromPayload(bundle.dsseEnvelope.payload);
  } catch (err) {
    if (!isCairnError(err)) throw err;
  }
  const subject = statement?.subject[0];
  const predicate = statement?.predicate;
  const resources = predicate?.resources;
  return {
    verified: false,
    mediaType: bundle.mediaType,
    payloadType: bundle.dsseEnvelope.payloadType,
    predicateType: statement?.predicateType,
    subjectName: subject?.name,
    subjectDigest: subject?.digest.sha256,
    serialization: predicate?.serialization,
    resourceCount: Array.isArray(resources)
      ? resources.length
      : statement === undefined
        ? undefined
        : statement.subject.length,
    signer: claimedSigner(bundle.verificationMaterial.content),
  };
}

function claimedSigner(
  content: ReturnType<typeof bundleFromJSON>['verificationMaterial']['content'],
): BundleClaims['signer'] {
  switch (content.kind) {
    case 'publicKey':
      return { kind: 'key', hint: content.hint };
    case 'x509CertificateChain':
      return certificateClaims('certificate', content.certificates[0]);
    case 'certificate':
      return certificateClaims('keyless', content.rawBytes);
  }
}

function certificateClaims(
  kind: 'certificate' | 'keyless',
  der: Buffer | undefined,
): BundleClaims['signer'] {
  try {
    if (der === undefined) throw new Error('no certificate');
    const cert = new X509Certificate(der);
    return {
      kind,
      subject: cert.subject,
      issuer: cert.issuer,
      subjectAlternativeName: cert.subjectAltName,
    };
  } catch {
    return {
      kind,
      subject: '(unreadable certificate)',
      issuer: '',
      subjectAlternativeName: undefined,
    };
  }
}

import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { constantTimeEqual } from '../digest/index.js';
import {
  BUNDLE_MEDIA_TYPE_V03,
  bundleDocument,
  IN_TOTO_PAYLOAD_TYPE,
  bundleFromJSON,
  type BundleReadOptions,
  packedManifestFromStatement,
  paeParts,
  paeV02CompatParts,
  statementFromPayload,
  type SigstoreBundle,
  type VerificationMaterialContent,
} from '../envelope/index.js';
import { ValidationError, VerificationError } from '../errors/index.js';
import {
  certificateFingerprint,
  publicKeyHint,
  samePublicKey,
  supportedKeyType,
  verifyEcdsaSha256ForV02Compat,
  verifySignatureOverParts,
  type KeyType,
} from '../keys/index.js';
import { unpackManifest } from '../manifest/index.js';
import { checkSigningUsage, leafNotBefore, verifyCertificatePath } from './certificate-chain.js';
import { verifyKeylessBundle } from './keyless.js';
import type {
  PackedVerifiedSignature,
  SignerFacts,
  VerificationTrust,
  VerifiedSignature,
  VerifiedStatement,
} from './types.js';

/**
 * Verifies an OMS signature bundle and returns what it establishes. Pure: the caller passes the
 * bundle bytes and what to trust. Steps follow the reference (OMS-NOTES §6): parse; media type
 * (key/certificate: exactly v0.3); verification material fits the trust kind; key hint or
 * certificate chain; DSSE signature over PAE(in-toto type, payload) with the algorithm the key
 * dictates, then the v0.2 compatibility pre-image; payload type; statement; manifest; subject
 * digest. The model itself is compared elsewhere.
 */
export function verifyBundle(bundleBytes: Uint8Array, trust: VerificationTrust): VerifiedSignature {
  const verified = verifyBundlePacked(bundleBytes, trust);
  return { ...verified, manifest: unpackManifest(verified.manifest) };
}

/**
 * `verifyBundle` returning the manifest packed (see `PackedManifest`): the same checks and
 * errors, without an object or a Buffer per resource — for signatures of many files.
 */
export function verifyBundlePacked(
  bundleBytes: Uint8Array,
  trust: VerificationTrust,
  options: BundleReadOptions = {},
): PackedVerifiedSignature {
  const { signer, statement, warnings } = verifyStatementBundle(bundleBytes, trust, options);
  const signed = packedManifestFromStatement(statement);
  return {
    signer,
    digest: signed.digest,
    subjectName: signed.subjectName,
    predicateType: signed.predicateType,
    manifest: signed.manifest,
    warnings: [...warnings, ...signed.warnings],
  };
}

/**
 * The envelope half of `verifyBundle`, for any in-toto statement (attestations): the same bundle,
 * material, signature and payload-type checks, returning the shape-checked statement. What the
 * predicate means — and which subject it must name — is the caller's to check.
 */
export function verifyStatementBundle(
  bundleBytes: Uint8Array,
  trust: VerificationTrust,
  options: BundleReadOptions = {},
): VerifiedStatement {
  const bundle = bundleFromJSON(bundleBytes, options);
  const warnings: string[] = [];
  let signer: SignerFacts;
  let payload: Buffer;
  let payloadType: string;
  switch (trust.kind) {
    case 'key':
      requireV03(bundle);
      signer = verifyKeyMode(bundle, trust.publicKey, warnings);
      ({ payload, payloadType } = bundle.dsseEnvelope);
      break;
    case 'certificate':
      requireV03(bundle);
      signer = verifyCertificateMode(bundle, trust.trustedRoots, warnings);
      ({ payload, payloadType } = bundle.dsseEnvelope);
      break;
    case 'keyless': {
      // sigstore-python accepts every Sigstore bundle version for keyless; so do we.
      if (bundle.verificationMaterial.content.kind === 'publicKey') {
        throw materialMismatch('keyless', bundle.verificationMaterial.content);
      }
      const result = verifyKeylessBundle(
        bundleDocument(bundle),
        { identity: trust.identity, issuer: trust.issuer },
        trust.trustedRoot,
      );
      signer = {
        kind: 'keyless',
        identity: result.identity,
        issuer: result.issuer,
        certificateFingerprint: result.certificateFingerprint,
        ...(result.integratedTime === undefined ? {} : { integratedTime: result.integratedTime }),
        ...(result.logIndex === undefined ? {} : { logIndex: result.logIndex }),
      };
      ({ payload, payloadType } = result);
      break;
    }
  }
  // Checked after the signature, as the reference does: the PAE is always built with the in-toto
  // type, so a different payloadType only gets here if the in-toto PAE was what got signed.
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new VerificationError(
      'PAYLOAD_TYPE_MISMATCH',
      `Expected DSSE payload ${IN_TOTO_PAYLOAD_TYPE}, but got ${payloadType}`,
      { details: { expected: IN_TOTO_PAYLOAD_TYPE, actual: payloadType } },
    );
  }
  return { signer, statement: statementFromPayload(payload), warnings };
}

function requireV03(bundle: SigstoreBundle): void {
  if (bundle.mediaType !== BUNDLE_MEDIA_TYPE_V03) {
    throw new VerificationError(
      'MEDIA_TYPE_UNSUPPORTED',
      `Invalid sigstore bundle, got media type ${bundle.mediaType}; OMS signatures are ${BUNDLE_MEDIA_TYPE_V03}`,
      { details: { mediaType: bundle.mediaType, expected: BUNDLE_MEDIA_TYPE_V03 } },
    );
  }
}

const MATERIAL_NAMES = {
  publicKey: 'a public key (verify with --public-key)',
  x509CertificateChain: 'a certificate chain (verify with --certificate-chain)',
  certificate: 'a keyless Sigstore certificate (verify with --identity and --identity-provider)',
} as const;

function materialMismatch(
  mode: VerificationTrust['kind'],
  content: VerificationMaterialContent,
): VerificationError {
  return new VerificationError(
    'VERIFICATION_MATERIAL_MISMATCH',
    `Verifying in ${mode} mode, but the bundle carries ${MATERIAL_NAMES[content.kind]}`,
    { details: { mode, material: content.kind } },
  );
}

function keyTypeOrRefuse(key: KeyObject, what: string): KeyType {
  const keyType = key.type === 'secret' ? undefined : supportedKeyType(key);
  if (keyType === undefined) {
    throw new VerificationError(
      'ALGORITHM_UNSUPPORTED',
      `The ${what} is not an ECDSA P-256/P-384/P-521 or Ed25519 key`,
      { details: { asymmetricKeyType: key.asymmetricKeyType } },
    );
  }
  return keyType;
}

function verifyKeyMode(
  bundle: SigstoreBundle,
  trusted: KeyObject,
  warnings: string[],
): SignerFacts {
  const content = bundle.verificationMaterial.content;
  if (content.kind !== 'publicKey') throw materialMismatch('key', content);
  const keyType = keyTypeOrRefuse(trusted, 'public key');
  const hint = publicKeyHint(trusted);
  if (content.hint !== undefined) {
    if (!constantTimeEqual(Buffer.from(content.hint, 'utf8'), Buffer.from(hint, 'utf8'))) {
      throw new VerificationError(
        'KEY_MISMATCH',
        "Key mismatch: the public key hash in the signature's verification material does not match the provided public key",
        { details: { bundleHint: content.hint, keyHint: hint } },
      );
    }
  }
  if (content.legacyRawBytes !== undefined) {
    // The reference drops rawBytes unread; we hold it to the given key too.
    const legacy = legacyPublicKey(content.legacyRawBytes);
    if (!samePublicKey(legacy, trusted)) {
      throw new VerificationError(
        'KEY_MISMATCH',
        'Key mismatch: the public key in the signature (legacy rawBytes) is not the provided public key',
        { details: { keyHint: hint, bundleKeyHint: publicKeyHint(legacy) } },
      );
    }
    warnings.push(
      'legacy format: the signature carries the public key itself (model_signing v0.3–v1.0) instead of a key hint; re-sign to update it',
    );
  } else if (content.hint === undefined) {
    warnings.push(
      'legacy format: the signature does not name its key (no hint); it was checked against the given key only',
    );
  }
  verifyEnvelopeSignature(bundle, trusted, 'key', warnings);
  return { kind: 'key', keyType, hint };
}

/** v0.3.1–v1.0.x wrote base64 of the PEM text; accept DER SPKI as well. */
function legacyPublicKey(raw: Buffer): KeyObject {
  const text = raw.toString('latin1');
  try {
    return text.includes('-----BEGIN PUBLIC KEY-----')
      ? createPublicKey(text)
      : createPublicKey({ key: raw, format: 'der', type: 'spki' });
  } catch (err) {
    throw new ValidationError(
      'BUNDLE_INVALID',
      'verificationMaterial.publicKey.rawBytes is not a public key',
      {
        cause: err,
        details: {
          issues: [
            { path: 'verificationMaterial.publicKey.rawBytes', message: 'not a public key' },
          ],
        },
      },
    );
  }
}

function verifyCertificateMode(
  bundle: SigstoreBundle,
  trustedRoots: readonly X509Certificate[],
  warnings: string[],
): SignerFacts {
  const content = bundle.verificationMaterial.content;
  if (content.kind !== 'x509CertificateChain') throw materialMismatch('certificate', content);
  const certs = content.certificates.map((der, i) => {
    try {
      return new X509Certificate(der);
    } catch (err) {
      const path = `verificationMaterial.x509CertificateChain.certificates[${i}].rawBytes`;
      throw new ValidationError('BUNDLE_INVALID', `${path} is not an X.509 certificate`, {
        cause: err,
        details: { issues: [{ path, message: 'not an X.509 certificate' }] },
      });
    }
  });
  const leaf = certs[0]!;
  const path = verifyCertificatePath(leaf, certs.slice(1), trustedRoots, leafNotBefore(leaf));
  checkSigningUsage(leaf);
  const keyType = keyTypeOrRefuse(leaf.publicKey, "signing certificate's key");
  verifyEnvelopeSignature(bundle, leaf.publicKey, 'certificate', warnings);
  return {
    kind: 'certificate',
    keyType,
    subject: leaf.subject,
    issuer: leaf.issuer,
    serialNumber: leaf.serialNumber,
    chainFingerprints: path.map(certificateFingerprint),
  };
}

/**
 * signatures[0] (the only one the reference reads) over PAE(in-toto type, payload), then the
 * v0.2 pre-image: hashed with the curve's hash in key mode and with SHA-256 in certificate mode,
 * exactly as the reference verifiers do.
 */
function verifyEnvelopeSignature(
  bundle: SigstoreBundle,
  key: KeyObject,
  mode: 'key' | 'certificate',
  warnings: string[],
): void {
  const { payload, signatures } = bundle.dsseEnvelope;
  const sig = signatures[0]!.sig;
  // In pieces: the pre-images wrap a payload of up to 16 MiB, and the v0.2 one is its Python repr
  // (up to four times that, built only to be hashed), on the path a bad signature takes.
  if (verifySignatureOverParts(key, paeParts(IN_TOTO_PAYLOAD_TYPE, payload), sig)) return;
  const compat = paeV02CompatParts(payload);
  const compatOk =
    mode === 'key'
      ? supportedKeyType(key) !== 'ed25519' && verifySignatureOverParts(key, compat, sig)
      : verifyEcdsaSha256ForV02Compat(key, compat, sig);
  if (compatOk) {
    warnings.push(
      'legacy format: the signature covers the model_signing v0.2 pre-image (DSSEV1 + Python bytes repr); re-sign to update it',
    );
    return;
  }
  throw new VerificationError(
    'SIGNATURE_INVALID',
    'The signature does not verify over the payload with the given key',
  );
}

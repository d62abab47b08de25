import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as SigstoreBundleLib from '@sigstore/bundle';
import type { Bundle, TransparencyLogEntry } from '@sigstore/bundle';
import type * as SigstoreCoreLib from '@sigstore/core';
import type { RFC3161Timestamp, X509Certificate as SigstoreCertificate } from '@sigstore/core';
import type * as ProtobufSpecsLib from '@sigstore/protobuf-specs';
import type * as SigstoreVerifyLib from '@sigstore/verify';
import type { Signer as SigstoreSigner, TrustMaterial } from '@sigstore/verify';
import {
  InfraError,
  UsageError,
  ValidationError,
  VerificationError,
  type CairnError,
} from '../errors/index.js';
import { sigstoreTrustedRootFromJSON } from '../keys/index.js';

/**
 * The Sigstore libraries are loaded on first keyless verification only: they cost ~0.2 s of
 * start-up that key and certificate verification should not pay. (They are CommonJS packages.)
 */
interface SigstoreLibs {
  readonly bundle: typeof SigstoreBundleLib;
  readonly core: typeof SigstoreCoreLib;
  readonly specs: typeof ProtobufSpecsLib;
  readonly verify: typeof SigstoreVerifyLib;
}
let libs: SigstoreLibs | undefined;
function sigstore(): SigstoreLibs {
  if (libs === undefined) {
    const require = createRequire(import.meta.url);
    libs = {
      bundle: require('@sigstore/bundle') as typeof SigstoreBundleLib,
      core: require('@sigstore/core') as typeof SigstoreCoreLib,
      specs: require('@sigstore/protobuf-specs') as typeof ProtobufSpecsLib,
      verify: require('@sigstore/verify') as typeof SigstoreVerifyLib,
    };
  }
  return libs;
}

export interface KeylessPolicy {
  /** The signer's certificate SAN (email or URI), compared for exact equality. Never a pattern. */
  readonly identity: string;
  /** The OIDC issuer recorded by Fulcio in the certificate, compared for exact equality. */
  readonly issuer: string;
}

/** A time the signature is proven to have existed at, and who vouches for it. */
export interface KeylessTimestamp {
  readonly source: 'transparency-log' | 'timestamp-authority';
  /** RFC 3339. */
  readonly time: string;
}

export interface KeylessResult {
  /** The exact DSSE payload bytes the verified signature covers. */
  readonly payload: Buffer;
  readonly payloadType: string;
  readonly identity: string;
  readonly issuer: string;
  /** Lowercase hex SHA-256 of the Fulcio leaf certificate's DER bytes. */
  readonly certificateFingerprint: string;
  /**
   * RFC 3339 time Rekor integrated the entry. Present only when the entry carries an inclusion
   * promise (SET), which is what signs the time; an inclusion proof alone does not cover it.
   */
  readonly integratedTime?: string;
  /** Rekor's global log index, present under the same condition as `integratedTime`. */
  readonly logIndex?: string;
  /** Every verified time source; the certificate was checked to be valid at each of them. */
  readonly timestamps: readonly KeylessTimestamp[];
}

/**
 * Verifies a keyless (Fulcio certificate + Rekor entry) Sigstore bundle offline against a trusted
 * root: the certificate chains to a Fulcio CA valid at every verified signing time, its SCT is
 * signed by a trusted CT log, every Rekor entry's inclusion promise and/or inclusion proof with
 * checkpoint verifies and matches the envelope, any RFC 3161 timestamp verifies, the DSSE
 * signature verifies with the certificate key, and the SAN and issuer equal the policy exactly.
 *
 * Pure: no I/O. `trustedRoot` is TrustedRoot JSON, e.g. `loadEmbeddedSigstoreTrustedRoot()`'s.
 */
export function verifyKeylessBundle(
  bundleJson: unknown,
  policy: KeylessPolicy,
  trustedRoot: unknown,
): KeylessResult {
  assertPolicy(policy);
  const root = sigstoreTrustedRootFromJSON(trustedRoot);
  const bundle = keylessBundleFromJSON(bundleJson);
  const evidence = readEvidence(bundle);
  // Shape and semantics were validated above, so a failure here would be our bug, not input.
  const trust = sigstore().verify.toTrustMaterial(sigstore().specs.TrustedRoot.fromJSON(root));
  assertCheckpointsMatchProofs(bundle.verificationMaterial.tlogEntries);
  assertTrustRootCovers(evidence, trust);

  let signer: SigstoreSigner;
  try {
    // tlog 1: every entry must verify and there must be one. ctlog 1: Fulcio certs must carry a
    // valid SCT. timestamp 1: at least one verified signing time (SET or TSA) to check the
    // short-lived certificate against; every timestamp present must verify regardless.
    const verifier = new (sigstore().verify.Verifier)(trust, {
      tlogThreshold: 1,
      ctlogThreshold: 1,
      timestampThreshold: 1,
    });
    // No policy is passed: @sigstore/verify treats subjectAlternativeName as an unanchored
    // regular expression, so identity is compared below, exactly.
    signer = verifier.verify(sigstore().verify.toSignedEntity(bundle));
  } catch (err) {
    throw fromSigstoreError(err);
  }

  const identity = signer.identity?.subjectAlternativeName;
  const issuer = signer.identity?.extensions?.issuer;
  if (identity !== policy.identity || issuer !== policy.issuer) {
    throw new VerificationError(
      'IDENTITY_MISMATCH',
      `Signed by ${identity ?? '(no SAN)'} via ${issuer ?? '(no issuer)'}, expected ${policy.identity} via ${policy.issuer}`,
      {
        details: {
          expected: { identity: policy.identity, issuer: policy.issuer },
          actual: { identity: identity ?? null, issuer: issuer ?? null },
        },
      },
    );
  }

  const entry = bundle.verificationMaterial.tlogEntries.find(
    (e) => e.inclusionPromise !== undefined,
  );
  return {
    payload: Buffer.from(evidence.envelope.payload),
    payloadType: evidence.envelope.payloadType,
    identity,
    issuer,
    certificateFingerprint: createHash('sha256').update(evidence.leafDer).digest('hex'),
    ...(entry === undefined
      ? {}
      : { integratedTime: unixToRFC3339(entry.integratedTime), logIndex: entry.logIndex }),
    timestamps: [
      ...bundle.verificationMaterial.tlogEntries
        .filter((e) => e.inclusionPromise !== undefined)
        .map((e) => ({
          source: 'transparency-log' as const,
          time: unixToRFC3339(e.integratedTime),
        })),
      ...evidence.timestamps.map((t) => ({
        source: 'timestamp-authority' as const,
        time: toRFC3339(t.signingTime),
      })),
    ],
  };
}

function assertPolicy(policy: KeylessPolicy): void {
  // An empty identity would make "matches" meaningless (and @sigstore/verify skips empty checks).
  const bad = (['identity', 'issuer'] as const).filter(
    (k) => typeof policy[k] !== 'string' || policy[k].length === 0,
  );
  if (bad.length > 0) {
    throw new UsageError('USAGE', `Keyless verification needs a non-empty ${bad.join(' and ')}`, {
      hint: 'Pass the exact signer identity (--identity) and OIDC issuer (--identity-provider).',
    });
  }
}

type DsseBundle = Bundle & { content: Extract<Bundle['content'], { $case: 'dsseEnvelope' }> };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bundleInvalid(fields: readonly string[], cause?: unknown): ValidationError {
  return new ValidationError(
    'BUNDLE_INVALID',
    `The bundle is not a keyless Sigstore DSSE bundle: ${fields.join(', ')}`,
    { details: { fields }, ...(cause === undefined ? {} : { cause }) },
  );
}

/** Reads the bundle, collecting every field that keeps it from being a keyless DSSE bundle. */
function keylessBundleFromJSON(json: unknown): DsseBundle {
  if (!isRecord(json)) throw bundleInvalid(['(root): not a JSON object']);
  const problems: string[] = [];
  const material = json.verificationMaterial;
  if (isRecord(material)) {
    const kinds = (['publicKey', 'x509CertificateChain', 'certificate'] as const).filter(
      (k) => material[k] !== undefined,
    );
    const entries = material.tlogEntries;
    const logged = Array.isArray(entries) && entries.length > 0;
    // Key and certificate-mode OMS bundles are well-formed, just not keyless: say which mode fits
    // rather than calling them malformed.
    if (
      kinds.length === 1 &&
      (kinds[0] === 'publicKey' || (kinds[0] !== 'certificate' && !logged))
    ) {
      throw new VerificationError(
        'VERIFICATION_MATERIAL_MISMATCH',
        `The bundle carries ${kinds[0] === 'publicKey' ? 'a public key' : 'a certificate chain and no transparency-log entry'}, not a keyless Fulcio certificate`,
        { details: { verificationMaterial: kinds[0] } },
      );
    }
    if (kinds.length > 1)
      problems.push(`verificationMaterial: more than one of ${kinds.join(', ')}`);
    if (!logged) problems.push('verificationMaterial.tlogEntries: keyless bundles need one');
  }
  if (json.messageSignature !== undefined) {
    problems.push('messageSignature: OMS signatures are DSSE envelopes');
  }
  if (json.dsseEnvelope === undefined) problems.push('dsseEnvelope: missing');

  let bundle: Bundle | undefined;
  try {
    bundle = sigstore().bundle.bundleFromJSON(json);
  } catch (err) {
    if (err instanceof sigstore().bundle.ValidationError) problems.push(...err.fields);
    else throw bundleInvalid([...problems, '(root): not a Sigstore bundle'], err);
  }
  if (problems.length > 0 || bundle === undefined) throw bundleInvalid(problems);
  if (bundle.content.$case !== 'dsseEnvelope')
    throw bundleInvalid(['content: not a DSSE envelope']);
  return { ...bundle, content: bundle.content };
}

interface Evidence {
  readonly envelope: DsseBundle['content']['dsseEnvelope'];
  readonly leafDer: Buffer;
  readonly leaf: SigstoreCertificate;
  readonly tlogLogIds: readonly Buffer[];
  readonly timestamps: readonly RFC3161Timestamp[];
}

/** Parses the certificate and TSA tokens up front, so malformed ones read as BUNDLE_INVALID. */
function readEvidence(bundle: DsseBundle): Evidence {
  const content = bundle.verificationMaterial.content;
  let leafDer: Buffer | undefined;
  switch (content.$case) {
    case 'certificate':
      leafDer = Buffer.from(content.certificate.rawBytes);
      break;
    case 'x509CertificateChain':
      leafDer = content.x509CertificateChain.certificates[0]?.rawBytes;
      break;
    case 'publicKey':
      break;
  }
  if (leafDer === undefined) throw bundleInvalid(['verificationMaterial: no certificate']);
  const problems: string[] = [];
  let leaf: SigstoreCertificate | undefined;
  try {
    leaf = sigstore().core.X509Certificate.parse(Buffer.from(leafDer));
    // Touch the lazily parsed parts the checks below rely on.
    void [leaf.issuer, leaf.extAuthorityKeyID, leaf.extSCT?.signedCertificateTimestamps];
  } catch {
    problems.push('verificationMaterial.certificate: not a DER X.509 certificate');
  }
  const timestamps: RFC3161Timestamp[] = [];
  (bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? []).forEach(
    (ts, i) => {
      try {
        const parsed = sigstore().core.RFC3161Timestamp.parse(Buffer.from(ts.signedTimestamp));
        void [parsed.signingTime, parsed.signerIssuer, parsed.signerSerialNumber];
        timestamps.push(parsed);
      } catch {
        problems.push(
          `verificationMaterial.timestampVerificationData.rfc3161Timestamps[${i}]: not an RFC 3161 timestamp`,
        );
      }
    },
  );
  if (problems.length > 0 || leaf === undefined) throw bundleInvalid(problems);
  return {
    envelope: bundle.content.dsseEnvelope,
    leafDer: Buffer.from(leafDer),
    leaf,
    // bundleFromJSON already refused entries without a logId.
    tlogLogIds: bundle.verificationMaterial.tlogEntries.flatMap((e) => e.logId?.keyId ?? []),
    timestamps,
  };
}

/**
 * @sigstore/verify checks the Merkle path against the signed checkpoint but ignores the proof's
 * own `rootHash`/`treeSize`; a bundle whose proof contradicts its checkpoint has been edited, so
 * it is refused rather than silently accepted.
 */
function assertCheckpointsMatchProofs(entries: readonly TransparencyLogEntry[]): void {
  entries.forEach((entry, i) => {
    const proof = entry.inclusionProof;
    if (proof?.checkpoint === undefined) return;
    // C2SP tlog-checkpoint: origin, tree size, base64 root hash, then optional lines; a blank line
    // separates the note from its signatures.
    const [, size, hash] = proof.checkpoint.envelope.split('\n\n', 1)[0]?.split('\n') ?? [];
    const sameSize = size !== undefined && /^[0-9]+$/.test(size) && size === proof.treeSize;
    const sameRoot = hash !== undefined && Buffer.from(hash, 'base64').equals(proof.rootHash);
    if (!sameSize || !sameRoot) {
      throw new VerificationError(
        'TLOG_INVALID',
        `Transparency-log entry ${i}: the inclusion proof's ${sameSize ? 'root hash' : 'tree size'} differs from its checkpoint`,
        { details: { entry: i } },
      );
    }
  });
}

/**
 * Before verifying, checks that the trusted root knows every log and authority the bundle's
 * evidence names. One that is simply absent cannot be judged offline: trust material published
 * after this root was built only arrives through the Sigstore TUF repository, which needs the
 * network. A known log or CA whose window or signature does not fit is a verification failure,
 * left to the verifier.
 */
function assertTrustRootCovers(evidence: Evidence, trust: TrustMaterial): void {
  const missing: string[] = [];
  const hex = (b: Buffer): string => b.toString('hex');

  const knownTlogs = trust.tlogs.map((t) => t.logID);
  for (const id of evidence.tlogLogIds) {
    if (!knownTlogs.some((k) => k.equals(id))) {
      missing.push(`Rekor log ${id.toString('base64')} (the log holding the bundle's entry)`);
    }
  }
  const knownCtlogs = trust.ctlogs.map((t) => t.logID);
  for (const sct of evidence.leaf.extSCT?.signedCertificateTimestamps ?? []) {
    if (!knownCtlogs.some((k) => k.equals(sct.logID))) {
      missing.push(`CT log ${sct.logID.toString('base64')} (signed the certificate's SCT)`);
    }
  }
  const aki = evidence.leaf.extAuthorityKeyID?.keyIdentifier;
  const caCerts = trust.certificateAuthorities.flatMap((ca) => ca.certChain);
  const issuerKnown = caCerts.some((c) =>
    aki === undefined
      ? c.subject.equals(evidence.leaf.issuer)
      : c.extSubjectKeyID?.keyIdentifier.equals(aki) === true,
  );
  if (!issuerKnown) {
    missing.push(
      `Fulcio CA certificate ${aki === undefined ? 'matching the issuer name' : `with key ID ${hex(aki)}`} (issued the signing certificate)`,
    );
  }
  evidence.timestamps.forEach((ts, i) => {
    const known = trust.timestampAuthorities.some((ca) => {
      const tsaLeaf = ca.certChain[0];
      return (
        tsaLeaf !== undefined &&
        tsaLeaf.serialNumber.equals(ts.signerSerialNumber) &&
        tsaLeaf.issuer.equals(ts.signerIssuer)
      );
    });
    if (!known) {
      missing.push(
        `timestamp authority certificate with serial ${hex(ts.signerSerialNumber)} (signed RFC 3161 timestamp ${i})`,
      );
    }
  });
  if (missing.length > 0) {
    throw new InfraError(
      'TRUST_ROOT_UNAVAILABLE',
      `The trusted root has no ${missing.join('; no ')}. Keys and CAs added after this trusted root was built are published only through the Sigstore TUF repository (https://tuf-repo-cdn.sigstore.dev), which needs the network; verify with a current trusted root. If a current root also lacks them, the bundle was not made by that Sigstore instance.`,
      { details: { missing } },
    );
  }
}

function fromSigstoreError(err: unknown): CairnError {
  if (err instanceof sigstore().verify.PolicyError) {
    return new VerificationError('IDENTITY_MISMATCH', 'The signer is not the expected identity', {
      cause: err,
    });
  }
  if (err instanceof sigstore().verify.VerificationError) {
    const options = { cause: err, details: { sigstoreCode: err.code } };
    switch (err.code) {
      case 'TLOG_ERROR':
      case 'TLOG_INCLUSION_PROOF_ERROR':
      case 'TLOG_INCLUSION_PROMISE_ERROR':
      case 'TLOG_MISSING_INCLUSION_ERROR':
      case 'TLOG_BODY_ERROR':
        return new VerificationError(
          'TLOG_INVALID',
          `Transparency-log evidence does not verify: ${err.message}`,
          options,
        );
      // A timestamp proves when the short-lived certificate was used; one that fails to verify
      // (or is missing) leaves the signing time unproven, like a bad log entry.
      case 'TIMESTAMP_ERROR':
        return new VerificationError(
          'TLOG_INVALID',
          `Signing-time evidence does not verify: ${err.message}`,
          options,
        );
      // Covers the chain to Fulcio, validity at the signing time, and the SCT.
      case 'CERTIFICATE_ERROR':
        return new VerificationError(
          'CERT_CHAIN_INVALID',
          `The Fulcio certificate does not verify: ${err.message}`,
          options,
        );
      case 'SIGNATURE_ERROR':
        return new VerificationError(
          'SIGNATURE_INVALID',
          'The DSSE signature does not verify with the certificate key',
          options,
        );
      // Key-hint bundles are turned away before verification; reaching this means mixed material.
      case 'PUBLIC_KEY_ERROR':
        return new VerificationError(
          'VERIFICATION_MATERIAL_MISMATCH',
          `The bundle names a public key, not a Fulcio certificate: ${err.message}`,
          options,
        );
      case 'NOT_IMPLEMENTED_ERROR':
        return new ValidationError(
          'BUNDLE_INVALID',
          `Unsupported bundle content: ${err.message}`,
          options,
        );
    }
  }
  // Anything else was thrown while the library parsed bundle content we could not pre-check
  // (entry bodies, checkpoints, certificate extensions): the input, not the environment, is bad.
  return bundleInvalid(['(content the Sigstore verifier could not parse)'], err);
}

function toRFC3339(date: Date): string {
  return date.toISOString().replace('.000Z', 'Z');
}

function unixToRFC3339(seconds: string): string {
  return toRFC3339(new Date(Number(seconds) * 1000));
}

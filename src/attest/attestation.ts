import { constantTimeEqual, type ArtifactDigest } from '../digest/index.js';
import {
  IN_TOTO_PAYLOAD_TYPE,
  paeParts,
  serializeBundle,
  statementFromPayload,
  type WritableBundle,
} from '../envelope/index.js';
import { InfraError, VerificationError, isCairnError } from '../errors/index.js';
import { publicKeyHint, type Signer, type TrustedSignatureFacts } from '../keys/index.js';
import {
  verifyStatementBundle,
  type SignerFacts,
  type VerificationTrust,
} from '../verify/index.js';
import {
  CAIRN_LICENSE_V1,
  CAIRN_SCAN_V1,
  CAIRN_TRAINING_V1,
  CAIRN_TRANSFORMATION_V1,
  MAX_PREDICATE_BYTES,
  SLSA_PROVENANCE_V1,
  SLSA_VERIFICATION_SUMMARY_V1,
  isKnownPredicateType,
  type KnownPredicateType,
} from './predicates.js';
import { provenanceFromJSON } from './provenance.js';
import type { JsonValue } from './statement.js';
import { licenseFromJSON, trainingFromJSON } from './training.js';
import { scanPredicateFromJSON, transformationFromJSON } from './transformation.js';
import { verificationSummaryFromJSON } from './verification-summary.js';

/**
 * Signs an in-toto statement as Cairn signs models: DSSE over PAE(in-toto type, statement) in a
 * Sigstore bundle v0.3, one JSON line. Refuses to sign a statement it would not read back.
 */
export async function signAttestation(statement: Buffer, signer: Signer): Promise<Buffer> {
  try {
    statementFromPayload(statement);
  } catch (err) {
    if (!isCairnError(err)) throw err;
    throw new InfraError(
      'INTERNAL',
      `The statement about to be signed is invalid: ${err.message}`,
      {
        cause: err,
      },
    );
  }
  const signature = await signer.sign(paeParts(IN_TOTO_PAYLOAD_TYPE, statement));
  const material: WritableBundle['verificationMaterial'] =
    signer.certificateChain === undefined
      ? { kind: 'publicKey', hint: publicKeyHint(signer.publicKey) }
      : { kind: 'x509CertificateChain', certificates: signer.certificateChain.map((c) => c.raw) };
  return serializeBundle({
    verificationMaterial: material,
    payload: statement,
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    signature,
  });
}

/** What a verified attestation establishes: a trusted signer vouched for this predicate about this digest. */
export interface VerifiedAttestation {
  readonly signer: SignerFacts;
  readonly digest: ArtifactDigest;
  readonly subjectName: string | undefined;
  readonly predicateType: KnownPredicateType;
  /** The predicate as its parser read it. */
  readonly predicate: JsonValue;
  readonly warnings: readonly string[];
  /** Set when checked against a trust root: the signer entry that matched, and what was checked. */
  readonly trustedSigner?: TrustedSignatureFacts;
}

export interface VerifyAttestationOptions {
  /** Default `MAX_PREDICATE_BYTES`. */
  readonly maxPredicateBytes?: number;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Verifies one attestation bundle for the artifact `expectedDigest`: signature by the trusted
 * key/certificate/identity (the envelope checks of `verifyBundle`), then a subject whose sha256
 * is the expected digest (ATTESTATION_SUBJECT_MISMATCH: about another model, or replayed), a
 * predicate type Cairn knows (ATTESTATION_PREDICATE_UNKNOWN), a predicate within the size limit
 * (ATTESTATION_PREDICATE_TOO_LARGE) and of the shape its type requires.
 */
export function verifyAttestation(
  bundleBytes: Uint8Array,
  trust: VerificationTrust,
  expectedDigest: ArtifactDigest,
  options: VerifyAttestationOptions = {},
): VerifiedAttestation {
  const { signer, statement, warnings } = verifyStatementBundle(bundleBytes, trust);
  const expected = expectedDigest.slice('sha256:'.length).toLowerCase();
  const subjects = statement.subject.map((s) => ({
    name: s.name,
    sha256: s.digest['sha256']?.toLowerCase(),
  }));
  const match = subjects.find(
    (s) =>
      s.sha256 !== undefined &&
      HEX64.test(s.sha256) &&
      constantTimeEqual(Buffer.from(s.sha256, 'hex'), Buffer.from(expected, 'hex')),
  );
  if (!expectedDigest.startsWith('sha256:') || !HEX64.test(expected) || match === undefined) {
    throw new VerificationError(
      'ATTESTATION_SUBJECT_MISMATCH',
      `The attestation is about ${subjects.map((s) => (s.sha256 === undefined ? '(no sha256)' : `sha256:${s.sha256}`)).join(', ') || 'no subject'}, not ${expectedDigest}`,
      {
        details: {
          expected: expectedDigest,
          subjects: subjects.map((s) => s.sha256 ?? null),
          predicateType: statement.predicateType,
        },
      },
    );
  }
  const predicateType = statement.predicateType;
  if (!isKnownPredicateType(predicateType)) {
    throw new VerificationError(
      'ATTESTATION_PREDICATE_UNKNOWN',
      `Unknown predicate type ${JSON.stringify(predicateType)}; it is listed, not trusted`,
      { details: { predicateType } },
    );
  }
  const limit = options.maxPredicateBytes ?? MAX_PREDICATE_BYTES;
  const size = Buffer.byteLength(JSON.stringify(statement.predicate ?? null), 'utf8');
  if (size > limit) {
    throw new VerificationError(
      'ATTESTATION_PREDICATE_TOO_LARGE',
      `The ${predicateType} predicate is ${size} bytes; the limit is ${limit}`,
      { details: { predicateType, size, limit } },
    );
  }
  return {
    signer,
    digest: `sha256:${expected}`,
    subjectName: match.name,
    predicateType,
    predicate: parsePredicate(predicateType, statement.predicate),
    warnings,
  };
}

function parsePredicate(type: KnownPredicateType, predicate: unknown): JsonValue {
  switch (type) {
    case SLSA_PROVENANCE_V1:
      return provenanceFromJSON(predicate) as unknown as JsonValue;
    case CAIRN_TRANSFORMATION_V1:
      return transformationFromJSON(predicate) as unknown as JsonValue;
    case CAIRN_SCAN_V1:
      return scanPredicateFromJSON(predicate) as unknown as JsonValue;
    case CAIRN_TRAINING_V1:
      return trainingFromJSON(predicate) as unknown as JsonValue;
    case CAIRN_LICENSE_V1:
      return licenseFromJSON(predicate) as unknown as JsonValue;
    case SLSA_VERIFICATION_SUMMARY_V1:
      return verificationSummaryFromJSON(predicate) as unknown as JsonValue;
  }
}

/**
 * The policy engine's view of a verified attestation (`AttestationFacts` in `policy`, which sits
 * above this layer and so is matched structurally). `issuedAt` must come from verified evidence —
 * a log integration time — or the caller's reference time; never from the predicate.
 */
export function attestationFacts(
  verified: VerifiedAttestation,
  issuedAt: Date,
): {
  readonly predicateType: string;
  readonly digest: ArtifactDigest;
  readonly signer: SignerFacts;
  readonly predicate: JsonValue;
  readonly issuedAt: Date;
} {
  const logged =
    verified.signer.kind === 'keyless' && verified.signer.integratedTime !== undefined
      ? new Date(verified.signer.integratedTime)
      : issuedAt;
  return {
    predicateType: verified.predicateType,
    digest: verified.digest,
    signer: verified.signer,
    predicate: verified.predicate,
    issuedAt: logged,
  };
}

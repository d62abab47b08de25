export {
  CAIRN_PREDICATE_BASE,
  SLSA_PROVENANCE_V1,
  CAIRN_TRANSFORMATION_V1,
  CAIRN_SCAN_V1,
  CAIRN_TRAINING_V1,
  CAIRN_LICENSE_V1,
  SLSA_VERIFICATION_SUMMARY_V1,
  CAIRN_MODEL_BUILD_TYPE_V1,
  KNOWN_PREDICATE_TYPES,
  PREDICATE_NAMES,
  MAX_PREDICATE_BYTES,
  isKnownPredicateType,
} from './predicates.js';
export { serializeStatement, sortedJson } from './statement.js';
export {
  LOCK_FILE_NAMES,
  buildProvenance,
  provenanceFromJSON,
  provenanceOverridesFromJSON,
  ciFromEnvironment,
  sourceDateEpoch,
  gitFacts,
  withoutCredentials,
} from './provenance.js';
export {
  buildTransformation,
  transformationFromJSON,
  buildScanAttestation,
  scanPredicateFromJSON,
} from './transformation.js';
export {
  buildTraining,
  trainingFromJSON,
  trainingInputFromJSON,
  buildLicense,
  licenseFromJSON,
  isSpdxExpression,
  meets,
} from './training.js';
export { buildVerificationSummary, verificationSummaryFromJSON } from './verification-summary.js';
export { signAttestation, verifyAttestation, attestationFacts } from './attestation.js';
export {
  isBundleVerifier,
  trustsFromRoot,
  verifierForTrust,
  verifierForTrustRoot,
} from './trusted.js';
export { MAX_CHAIN_DEPTH, MAX_CHAIN_ARTIFACTS, traceLineage, verifyChain } from './chain.js';
export { MAX_CHAIN_STORE_ENTRIES, evidenceFromFiles, openChainStore } from './chain-store.js';
export {
  MAX_ATTESTATIONS_FILE_BYTES,
  MAX_ATTESTATION_LINES,
  MAX_ATTESTATION_LINE_BYTES,
  defaultAttestationsPath,
  readAttestationLines,
  appendAttestation,
} from './store.js';

export type { KnownPredicateType, PredicateName } from './predicates.js';
export type { JsonValue, StatementInput } from './statement.js';
export type {
  BuiltStatement,
  CiFacts,
  Environment,
  GitFacts,
  ProvenanceInput,
  ProvenanceOverrides,
  ProvenancePredicate,
  ResourceDescriptor,
  RuntimeFacts,
} from './provenance.js';
export type {
  ScanPredicate,
  TransformationInput,
  TransformationPredicate,
} from './transformation.js';
export type {
  LicensePredicate,
  MetricComparison,
  TrainingEvaluation,
  TrainingInput,
  TrainingPredicate,
} from './training.js';
export type {
  VerificationSummaryInput,
  VerificationSummaryPredicate,
} from './verification-summary.js';
export type { VerifiedAttestation, VerifyAttestationOptions } from './attestation.js';
export type {
  BundleVerifier,
  TrustRootVerifierOptions,
  VerifiedSignatureClaim,
} from './trusted.js';
export type {
  ArtifactEvidence,
  ChainStore,
  EvidenceBundle,
  LineageAttestation,
  LineageNode,
  LineageResult,
  RefusedBundle,
} from './chain.js';
export type { AttestationLine } from './store.js';

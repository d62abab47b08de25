/**
 * The predicate types Cairn writes and trusts, in one place (DESIGN.md §2): public formats where
 * one exists, and Cairn's own under one base URI, each with a version in its path.
 */

/** Every Cairn-specific predicate type starts with this. */
export const CAIRN_PREDICATE_BASE = 'https://cairn.dev/attestation/';

/** SLSA Provenance v1. */
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** A model produced from a parent digest by a named tool (in-toto link style). */
export const CAIRN_TRANSFORMATION_V1 = `${CAIRN_PREDICATE_BASE}transformation/v1`;
/** A `cairn scan` report (ScanReport, versioned by its own `version` field too). */
export const CAIRN_SCAN_V1 = `${CAIRN_PREDICATE_BASE}scan/v1`;
/** SLSA Verification Summary v1: a verifier's decision (e.g. a registry promotion) about an artifact. */
export const SLSA_VERIFICATION_SUMMARY_V1 = 'https://slsa.dev/verification_summary/v1';
/** How a model was trained: data snapshots, preprocessing, hyperparameters, evaluations, runs. */
export const CAIRN_TRAINING_V1 = `${CAIRN_PREDICATE_BASE}training/v1`;
/** The declared licence (SPDX expression) and the model card's file digest. */
export const CAIRN_LICENSE_V1 = `${CAIRN_PREDICATE_BASE}license/v1`;
/** The SLSA buildType Cairn's provenance uses: a model directory attested where it was built. */
export const CAIRN_MODEL_BUILD_TYPE_V1 = `${CAIRN_PREDICATE_BASE}buildtype/model/v1`;

/** Predicate types `verifyAttestation` interprets; any other is listed, never trusted. */
export const KNOWN_PREDICATE_TYPES = [
  SLSA_PROVENANCE_V1,
  CAIRN_TRANSFORMATION_V1,
  CAIRN_SCAN_V1,
  CAIRN_TRAINING_V1,
  CAIRN_LICENSE_V1,
  SLSA_VERIFICATION_SUMMARY_V1,
] as const;
export type KnownPredicateType = (typeof KNOWN_PREDICATE_TYPES)[number];

export function isKnownPredicateType(value: string): value is KnownPredicateType {
  return (KNOWN_PREDICATE_TYPES as readonly string[]).includes(value);
}

/** Short names for the CLI (`--require provenance,scan`). */
export const PREDICATE_NAMES = {
  provenance: SLSA_PROVENANCE_V1,
  transform: CAIRN_TRANSFORMATION_V1,
  scan: CAIRN_SCAN_V1,
  training: CAIRN_TRAINING_V1,
  license: CAIRN_LICENSE_V1,
  vsa: SLSA_VERIFICATION_SUMMARY_V1,
} as const satisfies Record<string, KnownPredicateType>;
export type PredicateName = keyof typeof PREDICATE_NAMES;

/** Largest predicate accepted, as serialised JSON (a scan report with many findings fits). */
export const MAX_PREDICATE_BYTES = 4 * 1024 * 1024;

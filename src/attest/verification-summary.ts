import { z } from 'zod';
import type { ArtifactDigest } from '../digest/index.js';
import { SLSA_VERIFICATION_SUMMARY_V1 } from './predicates.js';
import type { BuiltStatement } from './provenance.js';
import { built, digestSet, jsonValue, parseWith } from './statement.js';

/**
 * SLSA Verification Summary v1 (https://slsa.dev/spec/v1.0/verification_summary): what a verifier
 * decided about an artifact under a policy, over which input attestations. Cairn's registry
 * signs one per promotion decision. Strict: unknown fields are refused, except the `cairn`
 * object where Cairn keeps its own detail (outcome, exceptions, audit sequence).
 */

const uri = z.string().min(1).max(4096);

/** `SLSA_BUILD_LEVEL_3`, `FAILED`, or an organisation's own `<NAME>` property. */
const slsaResult = z.string().regex(/^[A-Z][A-Z0-9_]{0,127}$/, 'not a SLSA result name');
const TRACK_LEVEL = /^SLSA_([A-Z0-9]+)_LEVEL_\d+$/;

const summarySchema = z
  .strictObject({
    verifier: z.strictObject({
      id: uri,
      version: z.record(z.string().min(1), z.string().max(256)).optional(),
    }),
    timeVerified: z.iso.datetime({ offset: true }).optional(),
    resourceUri: uri,
    policy: z.strictObject({ uri, digest: digestSet.optional() }),
    inputAttestations: z
      .array(z.strictObject({ uri, digest: digestSet }))
      .max(1024)
      .optional(),
    verificationResult: z.enum(['PASSED', 'FAILED']),
    verifiedLevels: z.array(slsaResult).max(64),
    dependencyLevels: z.record(slsaResult, z.number().int().min(0)).optional(),
    slsaVersion: z
      .string()
      .regex(/^\d+\.\d+$/)
      .optional(),
    /** Cairn's extension: the decision detail a registry records. */
    cairn: z.record(z.string(), jsonValue).optional(),
  })
  .superRefine((s, ctx) => {
    const failed = s.verifiedLevels.includes('FAILED');
    if (s.verificationResult === 'PASSED' && failed) {
      ctx.addIssue({
        code: 'custom',
        path: ['verifiedLevels'],
        message: 'FAILED in a PASSED summary',
      });
    }
    if (s.verificationResult === 'FAILED' && s.verifiedLevels.some((l) => l !== 'FAILED')) {
      ctx.addIssue({
        code: 'custom',
        path: ['verifiedLevels'],
        message: 'a FAILED summary verifies no level',
      });
    }
    const tracks = new Set<string>();
    for (const level of s.verifiedLevels) {
      const track = TRACK_LEVEL.exec(level)?.[1];
      if (track === undefined) continue;
      if (tracks.has(track)) {
        ctx.addIssue({
          code: 'custom',
          path: ['verifiedLevels'],
          message: `more than one level of the ${track} track`,
        });
      }
      tracks.add(track);
    }
  });
export type VerificationSummaryPredicate = z.infer<typeof summarySchema>;

/** Reads an SLSA Verification Summary v1 predicate from untrusted JSON, listing every bad field. */
export function verificationSummaryFromJSON(input: unknown): VerificationSummaryPredicate {
  return parseWith(summarySchema, input, 'The SLSA verification summary');
}

/** A policy decision, as the verifier that made it describes it. */
export interface VerificationSummaryInput {
  readonly digest: ArtifactDigest;
  readonly subjectName: string;
  readonly verifier: { readonly id: string; readonly version?: Readonly<Record<string, string>> };
  readonly timeVerified: Date;
  /** The resource the decision was asked for, e.g. `cairn:team/model@sha256:…`. */
  readonly resourceUri: string;
  readonly policy: { readonly uri: string; readonly digest?: Readonly<Record<string, string>> };
  /** The attestations the decision was made over, by URI and digest. */
  readonly inputAttestations?: readonly {
    readonly uri: string;
    readonly digest: Readonly<Record<string, string>>;
  }[];
  readonly verificationResult: 'PASSED' | 'FAILED';
  /** Levels verified for the artifact; `["FAILED"]` is written for a FAILED result when empty. */
  readonly verifiedLevels?: readonly string[];
  readonly dependencyLevels?: Readonly<Record<string, number>>;
  readonly slsaVersion?: string;
  readonly cairn?: Readonly<Record<string, z.infer<typeof jsonValue>>>;
}

/** The statement of a verification summary, checked by the same parser readers use. */
export function buildVerificationSummary(
  input: VerificationSummaryInput,
): BuiltStatement<VerificationSummaryPredicate> {
  const levels = input.verifiedLevels ?? (input.verificationResult === 'FAILED' ? ['FAILED'] : []);
  const predicate = verificationSummaryFromJSON({
    verifier: {
      id: input.verifier.id,
      ...(input.verifier.version === undefined ? {} : { version: { ...input.verifier.version } }),
    },
    timeVerified: input.timeVerified.toISOString(),
    resourceUri: input.resourceUri,
    policy: {
      uri: input.policy.uri,
      ...(input.policy.digest === undefined ? {} : { digest: { ...input.policy.digest } }),
    },
    ...(input.inputAttestations === undefined
      ? {}
      : {
          inputAttestations: input.inputAttestations.map((a) => ({
            uri: a.uri,
            digest: { ...a.digest },
          })),
        }),
    verificationResult: input.verificationResult,
    verifiedLevels: [...levels],
    ...(input.dependencyLevels === undefined
      ? {}
      : { dependencyLevels: { ...input.dependencyLevels } }),
    ...(input.slsaVersion === undefined ? {} : { slsaVersion: input.slsaVersion }),
    ...(input.cairn === undefined ? {} : { cairn: { ...input.cairn } }),
  });
  return built(input, SLSA_VERIFICATION_SUMMARY_V1, predicate);
}

import { z } from 'zod';
import { isArtifactDigest, type ArtifactDigest } from '../digest/index.js';
import { CAIRN_SCAN_V1, CAIRN_TRANSFORMATION_V1 } from './predicates.js';
import type { BuiltStatement } from './provenance.js';
import { built, jsonValue, parseWith, type JsonValue } from './statement.js';

const artifactDigest = z
  .string()
  .refine((d) => isArtifactDigest(d), { message: 'not an artifact digest (sha256:<64 hex>)' });

/**
 * Cairn transformation v1, in in-toto link style: the parent artifact (material) became this one
 * (product) through `tool` run with `params`. The product is the statement's subject.
 */
const transformationSchema = z.strictObject({
  materials: z
    .array(z.strictObject({ digest: artifactDigest, name: z.string().optional() }))
    .min(1)
    .max(64),
  tool: z.strictObject({
    name: z.string().min(1).max(256),
    version: z.string().max(256).optional(),
  }),
  params: z.record(z.string(), jsonValue),
  /** When the transformation ran (SOURCE_DATE_EPOCH when set). */
  finishedOn: z.iso.datetime({ offset: true }).optional(),
});
export type TransformationPredicate = z.infer<typeof transformationSchema>;

export function transformationFromJSON(input: unknown): TransformationPredicate {
  return parseWith(transformationSchema, input, 'The transformation predicate');
}

export interface TransformationInput {
  readonly digest: ArtifactDigest;
  readonly subjectName: string;
  readonly parent: ArtifactDigest;
  readonly parentName?: string;
  readonly tool: string;
  readonly toolVersion?: string;
  readonly params: Readonly<Record<string, JsonValue>>;
  readonly finishedOn?: Date;
}

export function buildTransformation(
  input: TransformationInput,
): BuiltStatement<TransformationPredicate> {
  const predicate = transformationFromJSON({
    materials: [
      {
        digest: input.parent,
        ...(input.parentName === undefined ? {} : { name: input.parentName }),
      },
    ],
    tool: {
      name: input.tool,
      ...(input.toolVersion === undefined ? {} : { version: input.toolVersion }),
    },
    params: input.params,
    ...(input.finishedOn === undefined ? {} : { finishedOn: input.finishedOn.toISOString() }),
  });
  return built(input, CAIRN_TRANSFORMATION_V1, predicate);
}

/**
 * The scan predicate is the `cairn scan` report itself. `scan` sits above `attest`, so the deep
 * check (`scanReportFromJSON`) is the caller's; here the report must be an object with a version.
 */
const scanShape = z.looseObject({
  version: z.union([z.string().min(1), z.number()]),
  modelName: z.string(),
  summary: z.record(z.string(), jsonValue),
  findings: z.array(jsonValue),
});
export type ScanPredicate = z.infer<typeof scanShape>;

export function scanPredicateFromJSON(input: unknown): ScanPredicate {
  return parseWith(scanShape, input, 'The scan predicate');
}

export function buildScanAttestation(input: {
  readonly digest: ArtifactDigest;
  readonly subjectName: string;
  readonly report: unknown;
}): BuiltStatement<ScanPredicate> {
  const predicate = scanPredicateFromJSON(input.report);
  return built(input, CAIRN_SCAN_V1, predicate);
}

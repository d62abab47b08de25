import { z } from 'zod';
import { isArtifactDigest, type ArtifactDigest } from '../digest/index.js';
import { CAIRN_LICENSE_V1, CAIRN_TRAINING_V1 } from './predicates.js';
import type { BuiltStatement } from './provenance.js';
import { built, digestSet, jsonValue, parseWith } from './statement.js';

// ── training lineage (Cairn training v1) ────────────────────────────────────────────────────

const MAX_LIST = 1024;
const uri = z.string().min(1).max(4096);
const label = z.string().min(1).max(256);
const rfc3339 = z.iso.datetime({ offset: true });

/** A data snapshot: where it lives and the digest that pins its content. */
const dataSnapshot = z.strictObject({
  uri,
  digest: digestSet,
  name: label.optional(),
  /** e.g. `train`, `validation`. */
  split: label.optional(),
});

const artifactDigest = z
  .string()
  .refine((d) => isArtifactDigest(d), { message: 'not an artifact digest (sha256:<64 hex>)' });

const comparison = z.enum(['>=', '>', '<=', '<']);
export type MetricComparison = z.infer<typeof comparison>;

const evaluation = z
  .strictObject({
    metric: label,
    value: z.number().finite(),
    /** The evaluation data: its URI, and its digest when it is pinned. */
    dataset: z.strictObject({ uri, digest: digestSet.optional(), name: label.optional() }),
    threshold: z.strictObject({ value: z.number().finite(), comparison }).optional(),
    /** Whether `value` meets `threshold`; computed by the builder, checked by the parser. */
    passed: z.boolean().optional(),
  })
  .refine(
    (e) =>
      e.threshold === undefined
        ? e.passed === undefined
        : e.passed === meets(e.value, e.threshold.comparison, e.threshold.value),
    {
      message: 'passed must be present exactly when a threshold is, and agree with value',
      path: ['passed'],
    },
  );

const trainingSchema = z.strictObject({
  datasets: z.array(dataSnapshot).max(MAX_LIST),
  /** Models this one was trained or fine-tuned from. */
  baseModels: z
    .array(z.strictObject({ digest: artifactDigest, name: label.optional() }))
    .max(64)
    .optional(),
  preprocessing: z
    .array(
      z.strictObject({
        name: label,
        tool: label.optional(),
        params: z.record(z.string(), jsonValue).optional(),
      }),
    )
    .max(MAX_LIST)
    .optional(),
  hyperparameters: z.record(z.string(), jsonValue),
  evaluations: z.array(evaluation).max(MAX_LIST).optional(),
  experimentRuns: z
    .array(z.strictObject({ uri, name: label.optional(), system: label.optional() }))
    .max(64)
    .optional(),
  startedOn: rfc3339.optional(),
  finishedOn: rfc3339.optional(),
});
export type TrainingPredicate = z.infer<typeof trainingSchema>;
export type TrainingEvaluation = NonNullable<TrainingPredicate['evaluations']>[number];

/** Whether a metric value meets its threshold. */
export function meets(value: number, op: MetricComparison, threshold: number): boolean {
  switch (op) {
    case '>=':
      return value >= threshold;
    case '>':
      return value > threshold;
    case '<=':
      return value <= threshold;
    case '<':
      return value < threshold;
  }
}

/** Reads a Cairn training v1 predicate from untrusted JSON, listing every bad field. */
export function trainingFromJSON(input: unknown): TrainingPredicate {
  return parseWith(trainingSchema, input, 'The training predicate');
}

/**
 * What `cairn attest training --from-json` accepts: any part of the predicate, evaluations
 * without `passed` (the builder computes it). Flags add to it.
 */
const trainingInputSchema = z.strictObject({
  datasets: z.array(dataSnapshot).max(MAX_LIST).optional(),
  baseModels: trainingSchema.shape.baseModels,
  preprocessing: trainingSchema.shape.preprocessing,
  hyperparameters: z.record(z.string(), jsonValue).optional(),
  evaluations: z
    .array(
      z.strictObject({
        metric: label,
        value: z.number().finite(),
        dataset: z.strictObject({ uri, digest: digestSet.optional(), name: label.optional() }),
        threshold: z.strictObject({ value: z.number().finite(), comparison }).optional(),
      }),
    )
    .max(MAX_LIST)
    .optional(),
  experimentRuns: trainingSchema.shape.experimentRuns,
  startedOn: rfc3339.optional(),
  finishedOn: rfc3339.optional(),
});
export type TrainingInput = z.infer<typeof trainingInputSchema>;

export function trainingInputFromJSON(input: unknown): TrainingInput {
  return parseWith(trainingInputSchema, input, 'The training JSON');
}

/** Training lineage about `digest`; `passed` is computed for every evaluation with a threshold. */
export function buildTraining(input: {
  readonly digest: ArtifactDigest;
  readonly subjectName: string;
  readonly training: TrainingInput;
}): BuiltStatement<TrainingPredicate> {
  const t = input.training;
  const predicate = trainingFromJSON({
    ...t,
    datasets: t.datasets ?? [],
    hyperparameters: t.hyperparameters ?? {},
    ...(t.evaluations === undefined
      ? {}
      : {
          evaluations: t.evaluations.map((e) =>
            e.threshold === undefined
              ? e
              : { ...e, passed: meets(e.value, e.threshold.comparison, e.threshold.value) },
          ),
        }),
  });
  return built(input, CAIRN_TRAINING_V1, predicate);
}

// ── licence and model card (Cairn license v1) ───────────────────────────────────────────────

const MAX_SPDX_TOKENS = 64;
const SPDX_ID = /^(?:DocumentRef-[A-Za-z0-9.-]+:)?[A-Za-z0-9.-]+\+?$/;

/**
 * Whether `text` is an SPDX license expression (SPDX 2.3 annex D): ids (`MIT`, `LicenseRef-x`,
 * `GPL-2.0+`), `AND`/`OR`, `WITH <exception>`, parentheses. Syntax only: the id list changes
 * over time and `LicenseRef-` ids are the owner's.
 */
export function isSpdxExpression(text: string): boolean {
  const tokens = text.match(/\(|\)|[^\s()]+/g) ?? [];
  if (tokens.length === 0 || tokens.length > MAX_SPDX_TOKENS || text.length > 1024) return false;
  let i = 0;
  const id = (): boolean => {
    const t = tokens[i];
    if (t === undefined || ['AND', 'OR', 'WITH'].includes(t) || !SPDX_ID.test(t)) return false;
    i += 1;
    return true;
  };
  const simple = (depth: number): boolean => {
    if (tokens[i] === '(') {
      i += 1;
      if (depth > 16 || !compound(depth + 1) || tokens[i] !== ')') return false;
      i += 1;
      return true;
    }
    if (!id()) return false;
    if (tokens[i] === 'WITH') {
      i += 1;
      return id();
    }
    return true;
  };
  const compound = (depth: number): boolean => {
    if (!simple(depth)) return false;
    while (tokens[i] === 'AND' || tokens[i] === 'OR') {
      i += 1;
      if (!simple(depth)) return false;
    }
    return true;
  };
  return compound(0) && i === tokens.length;
}

const licenseSchema = z.strictObject({
  /** An SPDX license expression. */
  license: z
    .string()
    .refine((s) => isSpdxExpression(s), { message: 'not an SPDX license expression' }),
  /** The model card: its name (model-relative path when inside the model) and file digest. */
  modelCard: z.strictObject({ name: z.string().min(1).max(4096), digest: digestSet }).optional(),
});
export type LicensePredicate = z.infer<typeof licenseSchema>;

export function licenseFromJSON(input: unknown): LicensePredicate {
  return parseWith(licenseSchema, input, 'The license predicate');
}

export function buildLicense(input: {
  readonly digest: ArtifactDigest;
  readonly subjectName: string;
  readonly license: string;
  readonly modelCard?: { readonly name: string; readonly sha256: string };
}): BuiltStatement<LicensePredicate> {
  const predicate = licenseFromJSON({
    license: input.license,
    ...(input.modelCard === undefined
      ? {}
      : { modelCard: { name: input.modelCard.name, digest: { sha256: input.modelCard.sha256 } } }),
  });
  return built(input, CAIRN_LICENSE_V1, predicate);
}

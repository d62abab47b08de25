import { z } from 'zod';
import { MAX_STATEMENT_SUBJECTS } from './constants.js';

/**
 * The zod schema of statement.ts, in a module of its own so that signing (which only writes
 * statements) does not load zod (~75 ms here); statement.ts requires this module the first
 * time it parses a statement.
 */

export const statementSchema = z.looseObject({
  _type: z.string(),
  subject: z
    .array(
      z.looseObject({
        name: z.optional(z.string()),
        digest: z.record(z.string(), z.string()),
      }),
    )
    // in-toto requires a subject; how many OMS needs is the predicate's rule (SUBJECT_INVALID).
    .max(MAX_STATEMENT_SUBJECTS),
  predicateType: z.string(),
  predicate: z.optional(z.looseObject({})),
});

/**
 * The policy domain's light door: plain constants the CLI needs while declaring its options
 * (choices), without loading the engine, CEL or zod. Only import-free modules may be re-exported
 * here (test/architecture/imports.test.ts checks it).
 */
export { POLICY_ACTIONS } from './api-version.js';

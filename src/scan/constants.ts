/**
 * The scan domain's light door: plain constants the CLI needs while declaring its options
 * (choices), without loading the scanners. Only import-free modules may be re-exported here
 * (test/architecture/imports.test.ts checks it).
 */
export { SEVERITIES } from './types.js';

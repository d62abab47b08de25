export { ERROR_CATALOG, exitCodeForKind, httpStatusForCode, httpStatusForKind } from './catalog.js';
export {
  CairnError,
  UsageError,
  ValidationError,
  VerificationError,
  InfraError,
  isCairnError,
  toCairnError,
} from './cairn-error.js';
export { fromFsError } from './fs.js';
export { errorFromWire, errorToWire } from './wire.js';

export type { CatalogEntry, ErrorCode, ErrorKind } from './catalog.js';
export type { CairnErrorOptions } from './cairn-error.js';
export type { WireError } from './wire.js';

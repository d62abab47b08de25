export { KEY_TYPES } from './types.js';

export type { KeyType, Signer } from './types.js';

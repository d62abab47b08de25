export { signManifest } from './sign-manifest.js';

export type { SignManifestOptions, SignedBundle } from './sign-manifest.js';

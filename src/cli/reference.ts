import { UsageError, isCairnError } from '../errors/index.js';
import { isSha256Digest, repositoryName, tagName } from '../registry/index.js';
import type { Sha256Digest } from '../store/index.js';

/**
 * An artifact reference on the command line: `team/model@sha256:<hex>` (pinned) or
 * `team/model:tag` (a tag, resolved by the server). Names are checked with the registry's own
 * rules before any request; repository names never contain `:` or `@`, so the split is exact.
 */
export type ArtifactReference =
  | { readonly kind: 'digest'; readonly repository: string; readonly digest: Sha256Digest }
  | { readonly kind: 'tag'; readonly repository: string; readonly tag: string };

function bad(raw: string, why: string): UsageError {
  return new UsageError('USAGE', `Not an artifact reference: ${JSON.stringify(raw)} (${why})`, {
    hint: 'Write REPO@sha256:<64 hex> (pinned) or REPO:TAG, e.g. team/model@sha256:… .',
  });
}

/** Parses `REPO@sha256:…` or `REPO:TAG`; `allowBare` accepts a plain `REPO` (push without tag). */
export function parseReference(raw: string): ArtifactReference;
export function parseReference(
  raw: string,
  allowBare: true,
): ArtifactReference | { kind: 'bare'; repository: string };
export function parseReference(
  raw: string,
  allowBare = false,
): ArtifactReference | { kind: 'bare'; repository: string } {
  const at = raw.indexOf('@');
  if (at !== -1) {
    const repository = raw.slice(0, at);
    const digest = raw.slice(at + 1);
    if (!isSha256Digest(digest)) throw bad(raw, 'the digest must be sha256:<64 lowercase hex>');
    return { kind: 'digest', repository: checkRepo(raw, repository), digest };
  }
  const colon = raw.indexOf(':');
  if (colon === -1) {
    if (!allowBare) throw bad(raw, 'give @sha256:… or :TAG');
    return { kind: 'bare', repository: checkRepo(raw, raw) };
  }
  const tag = raw.slice(colon + 1);
  try {
    tagName(tag);
  } catch {
    throw bad(raw, 'a tag is 1-128 of A-Z a-z 0-9 . _ - and starts with no . or -');
  }
  return { kind: 'tag', repository: checkRepo(raw, raw.slice(0, colon)), tag };
}

function checkRepo(raw: string, repository: string): string {
  try {
    return repositoryName(repository);
  } catch (err) {
    if (isCairnError(err)) throw bad(raw, err.message);
    throw err;
  }
}

/** The pinned form for messages and JSON. */
export function formatReference(ref: ArtifactReference): string {
  return ref.kind === 'digest' ? `${ref.repository}@${ref.digest}` : `${ref.repository}:${ref.tag}`;
}

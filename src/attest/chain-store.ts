import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isArtifactDigest, type ArtifactDigest } from '../digest/index.js';
import { UsageError, isCairnError } from '../errors/index.js';
import { DEFAULT_ATTESTATIONS_NAME, DEFAULT_SIGNATURE_NAME } from '../manifest/index.js';
import { MAX_BUNDLE_BYTES, readSmallFile } from '../model/index.js';
import { inspectBundle } from '../verify/index.js';
import type { ArtifactEvidence, ChainStore, EvidenceBundle } from './chain.js';
import { readAttestationLines } from './store.js';

/** Most entries one chain store directory may hold (each is read to index it). */
export const MAX_CHAIN_STORE_ENTRIES = 1000;

interface Claimed extends EvidenceBundle {
  readonly claimedDigest?: ArtifactDigest;
}

/** What a bundle claims (subject digest, predicate type), unverified: used only to route it. */
function claims(source: string, bundle: Uint8Array, line?: number): Claimed {
  let predicateType: string | undefined;
  let subject: string | undefined;
  try {
    const c = inspectBundle(bundle);
    predicateType = c.predicateType;
    subject = c.subjectDigest === undefined ? undefined : `sha256:${c.subjectDigest}`;
  } catch (err) {
    if (!isCairnError(err)) throw err;
  }
  return {
    source,
    bundle,
    ...(line === undefined ? {} : { line }),
    ...(predicateType === undefined ? {} : { claimedPredicateType: predicateType }),
    ...(subject !== undefined && isArtifactDigest(subject) ? { claimedDigest: subject } : {}),
  };
}

interface Entry {
  /** Digest the entry's name gives (`sha256-<hex>` or `sha256:<hex>`), if any. */
  readonly named?: ArtifactDigest;
  readonly signatures: readonly Claimed[];
  readonly attestations: readonly Claimed[];
}

/**
 * The signature and attestations of one artifact from files: a signature bundle (when it
 * exists) and an attestations file of one bundle per line (when it exists).
 */
export function evidenceFromFiles(
  signaturePath: string | undefined,
  attestationsPath: string | undefined,
): ArtifactEvidence & {
  readonly signatures: readonly Claimed[];
  readonly attestations: readonly Claimed[];
} {
  const signatures =
    signaturePath !== undefined && existsSync(signaturePath)
      ? [claims(signaturePath, readSmallFile(signaturePath, MAX_BUNDLE_BYTES, 'Signature file'))]
      : [];
  const attestations =
    attestationsPath === undefined
      ? []
      : readAttestationLines(attestationsPath).map((l) =>
          claims(attestationsPath, l.bundle, l.line),
        );
  return { signatures, attestations };
}

function digestFromName(name: string): ArtifactDigest | undefined {
  const m = /^sha256[-:]([0-9a-f]{64})(?:\.|$)/.exec(name);
  return m === null ? undefined : `sha256:${m[1]!}`;
}

/**
 * A directory of ancestors (`--chain-store DIR`). Each entry is one artifact's evidence:
 * - a directory holding `model.sig` and/or `model.att.jsonl` (a copy of the parent model, or
 *   just those two files), or
 * - `NAME.sig` and/or `NAME.att.jsonl` side by side.
 * An artifact is found by the digest its entry is named after (`sha256-<hex>`), or by the
 * subject its bundles claim. Claims only locate bundles: every one is verified before it counts.
 */
export function openChainStore(directories: readonly string[]): ChainStore {
  const entries: Entry[] = [];
  for (const dir of directories) {
    if (!existsSync(dir)) {
      throw new UsageError('INPUT_NOT_FOUND', `Chain store ${dir} does not exist`, {
        details: { path: dir },
      });
    }
    if (!statSync(dir).isDirectory()) {
      throw new UsageError('INPUT_UNREADABLE', `Chain store ${dir} is not a directory`, {
        details: { path: dir },
      });
    }
    const names = readdirSync(dir).sort();
    if (names.length > MAX_CHAIN_STORE_ENTRIES) {
      throw new UsageError(
        'INPUT_TOO_LARGE',
        `${dir} holds ${names.length} entries; a chain store holds at most ${MAX_CHAIN_STORE_ENTRIES}`,
        { details: { path: dir } },
      );
    }
    const bases = new Set<string>();
    for (const name of names) {
      const path = join(dir, name);
      const st = statSync(path);
      if (st.isDirectory()) {
        const ev = evidenceFromFiles(
          join(path, DEFAULT_SIGNATURE_NAME),
          join(path, DEFAULT_ATTESTATIONS_NAME),
        );
        const named = digestFromName(name);
        entries.push({ ...ev, ...(named === undefined ? {} : { named }) });
      } else if (st.isFile() && name.endsWith('.att.jsonl')) {
        bases.add(name.slice(0, -'.att.jsonl'.length));
      } else if (st.isFile() && name.endsWith('.sig')) {
        bases.add(name.slice(0, -'.sig'.length));
      }
    }
    for (const base of bases) {
      const ev = evidenceFromFiles(join(dir, `${base}.sig`), join(dir, `${base}.att.jsonl`));
      const named = digestFromName(base);
      entries.push({ ...ev, ...(named === undefined ? {} : { named }) });
    }
  }
  return {
    find(digest) {
      const signatures: EvidenceBundle[] = [];
      const attestations: EvidenceBundle[] = [];
      for (const e of entries) {
        // Named after the digest: everything in it (a bundle for another digest then shows as
        // a mismatch). Otherwise only the bundles claiming the digest.
        const all = e.named === digest;
        signatures.push(...e.signatures.filter((b) => all || b.claimedDigest === digest));
        attestations.push(...e.attestations.filter((b) => all || b.claimedDigest === digest));
      }
      return signatures.length + attestations.length === 0
        ? undefined
        : { signatures, attestations };
    },
  };
}

import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError, VerificationError, isCairnError } from '../errors/index.js';
import {
  DEFAULT_ATTESTATIONS_NAME,
  DEFAULT_SIGNATURE_NAME,
  compareManifests,
  pathProblem,
  roleForPath,
  sortResources,
  type Manifest,
} from '../manifest/index.js';
import { verifyModel } from '../model/index.js';
import { inspectBundle, verifyBundle, type SignerFacts } from '../verify/index.js';
import { trustsFromRoot } from '../attest/index.js';
import { verifyAgainstTrustRoot } from '../keys/index.js';
import { parsePositiveInt } from './inputs.js';
import { withApi } from './login.js';
import { note, printJson, say, type Io } from './output.js';
import { parseReference, type ArtifactReference } from './reference.js';
import { sameDigest, type RegistryApi, type artifactResponseSchema } from './registry-client.js';
import { runPool, transferProgress } from './transfer.js';
import { loadTrustRootWithCheckpoint, verifyModelWithTrustRoot } from './trust.js';
import { trustFrom, type TrustFlags } from './trust-flags.js';
import type { z } from 'zod';

export interface PullFlags extends TrustFlags {
  readonly out: string;
  readonly environment: string;
  readonly server?: string;
  readonly trustRoot?: string;
  readonly concurrency?: string;
  readonly json?: boolean;
}

type ArtifactResponse = z.infer<typeof artifactResponseSchema>;

/**
 * `cairn pull REPO@sha256:… --out DIR`: fetch every file into a temporary directory beside DIR,
 * check each file's SHA-256 and size while it streams, verify the signature and the OMS root
 * digest again here (the server's word is not enough), then rename the directory into place.
 * Any failure removes the temporary directory: DIR either appears whole and verified or not at all.
 */
export async function pullCommand(io: Io, reference: string, flags: PullFlags): Promise<number> {
  const ref = parseReference(reference);
  const concurrency = parsePositiveInt(flags.concurrency ?? '8', '--concurrency');
  const trustMode = chooseTrust(io, flags);
  const out = resolve(io.cwd, flags.out);
  if (existsSync(out)) {
    throw new UsageError('OUTPUT_EXISTS', `Refusing to overwrite ${out}`, {
      hint: 'Pull into a directory that does not exist yet; it appears only once verified.',
      details: { path: out },
    });
  }
  if (!existsSync(dirname(out))) {
    throw new UsageError('OUTPUT_UNWRITABLE', `No such directory: ${dirname(out)}`);
  }

  return withApi(io, flags.server, async (api, server) => {
    if (ref.kind === 'tag') await refuseUnpinned(api, ref, flags.environment);
    const got = await api.getArtifact(
      ref.repository,
      flags.environment,
      ref.kind === 'digest' ? ref.digest : ref.tag,
    );
    const digest = got.artifact.digest;
    if (ref.kind === 'digest' && !sameDigest(digest, ref.digest)) {
      throw new VerificationError(
        'PULL_DIGEST_MISMATCH',
        `The server answered ${ref.digest} with artifact ${digest}`,
        { details: { expected: ref.digest, actual: digest } },
      );
    }
    checkNames(got);
    const signatures = got.bundles.filter((b) => b.kind === 'signature').map((b) => b.bundle);
    if (signatures.length === 0) {
      throw new VerificationError(
        'ARTIFACT_UNSIGNED',
        `${ref.repository}@${digest} has no signature in ${flags.environment}`,
        { details: { repository: ref.repository, environment: flags.environment, digest } },
      );
    }

    const work = mkdtempSync(join(dirname(out), `.${basename(out)}.pull-`));
    try {
      const model = join(work, basename(out));
      mkdirSync(model);
      const bytes = await download(io, api, ref.repository, flags, got, model, concurrency);
      const attestations = got.bundles.filter((b) => b.kind === 'attestation').map((b) => b.bundle);
      if (attestations.length > 0) {
        writeFileSync(join(model, DEFAULT_ATTESTATIONS_NAME), `${attestations.join('\n')}\n`);
      }
      const sigPaths = signatures.map((s, i) => {
        const p = join(work, `signature-${i}.sig`);
        writeFileSync(p, s);
        return p;
      });
      const verified = await verifyPulled(io, trustMode, model, signatures, sigPaths, got, flags);
      if (!sameDigest(verified.digest, digest)) {
        throw new VerificationError(
          'PULL_DIGEST_MISMATCH',
          `The files verify as ${verified.digest}, not the artifact ${digest}`,
          { details: { expected: digest, actual: verified.digest } },
        );
      }
      writeFileSync(join(model, DEFAULT_SIGNATURE_NAME), signatures[verified.signatureIndex]!);
      try {
        renameSync(model, out);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') {
          throw new UsageError('OUTPUT_EXISTS', `Refusing to overwrite ${out}`, {
            details: { path: out },
          });
        }
        throw new UsageError('OUTPUT_UNWRITABLE', `Cannot move the verified model to ${out}`, {
          cause: err,
          details: { path: out },
        });
      }
      const summary = {
        server,
        repository: ref.repository,
        environment: flags.environment,
        digest,
        reference: `${ref.repository}@${digest}`,
        ...(ref.kind === 'tag' ? { tag: ref.tag } : {}),
        out,
        files: got.artifact.resources.length,
        bytes,
        signer: verified.signer,
        verification: verified.method,
        attestations: attestations.length,
      };
      if (flags.json) printJson(io, { ok: true, ...summary });
      else {
        for (const w of verified.warnings) note(io, `warning: ${w}`);
        if (ref.kind === 'tag') note(io, `${ref.repository}:${ref.tag} resolved to ${digest}`);
        say(io, `Pulled and verified ${summary.reference}`);
        say(io, `  into:   ${out}`);
        say(io, `  files:  ${summary.files} (${bytes} bytes, each checked against its digest)`);
        say(
          io,
          `  signature: verified again on this machine (${verified.method === 'streamed' ? 'signed digests matched as the files streamed in' : 'model re-hashed against it'})`,
        );
      }
      return 0;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

type TrustMode =
  | { readonly kind: 'trust-root'; readonly path: string }
  | { readonly kind: 'direct'; readonly trust: ReturnType<typeof trustFrom> };

/** Pull always verifies: exactly one of a trust root or the --public-key style trust flags. */
function chooseTrust(io: Io, flags: PullFlags): TrustMode {
  const direct =
    flags.publicKey !== undefined ||
    flags.identity !== undefined ||
    flags.identityProvider !== undefined ||
    (flags.certificateChain !== undefined && flags.trustRoot === undefined);
  if (flags.trustRoot !== undefined) {
    if (direct) throw new UsageError('USAGE', '--trust-root replaces --public-key and --identity');
    return { kind: 'trust-root', path: flags.trustRoot };
  }
  if (!direct) {
    throw new UsageError(
      'USAGE',
      'cairn pull verifies what it fetches: give --trust-root or --public-key',
      {
        hint: 'Pass --trust-root FILE, or --public-key PEM, --certificate-chain PEM or --identity with --identity-provider.',
      },
    );
  }
  return { kind: 'direct', trust: trustFrom(io, flags) };
}

/**
 * Tags are refused where the environment is protected — or where the client cannot tell, since
 * the repository description needs the reader role a deployer may not have (fail closed).
 */
async function refuseUnpinned(
  api: RegistryApi,
  ref: Extract<ArtifactReference, { kind: 'tag' }>,
  environment: string,
): Promise<void> {
  let isProtected = true;
  try {
    const repo = await api.repository(ref.repository);
    const env = repo.environments.find((e) => e.name === environment);
    isProtected = env === undefined || env.protected;
  } catch (err) {
    if (!isCairnError(err) || err.kind === 'infra') throw err;
  }
  if (isProtected) {
    throw new VerificationError(
      'REFERENCE_NOT_PINNED',
      `${environment} serves artifacts only by digest; refusing the tag ${ref.repository}:${ref.tag}`,
      { details: { repository: ref.repository, environment, tag: ref.tag } },
    );
  }
}

/** Resource names come from the server: each must be a safe relative path, unique, not a bundle. */
function checkNames(got: ArtifactResponse): void {
  const names = new Set<string>();
  const problems: string[] = [];
  for (const r of got.artifact.resources) {
    const problem = r.name === '.' ? 'not a file in a directory' : pathProblem(r.name);
    if (problem !== undefined) problems.push(`${JSON.stringify(r.name)}: ${problem}`);
    else if (r.name === DEFAULT_SIGNATURE_NAME || r.name === DEFAULT_ATTESTATIONS_NAME) {
      problems.push(`${r.name}: clashes with the bundle file written beside the model`);
    } else if (names.has(r.name)) problems.push(`${r.name}: listed twice`);
    names.add(r.name);
  }
  for (const name of names) {
    for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
      if (names.has(name.slice(0, i)))
        problems.push(`${name.slice(0, i)}: both a file and a directory`);
    }
  }
  if (problems.length > 0) {
    throw new VerificationError('MANIFEST_INVALID', 'The artifact lists unsafe file names', {
      details: { issues: problems.slice(0, 100) },
    });
  }
}

/** Downloads every file, checking size and SHA-256 as it streams; returns the bytes fetched. */
async function download(
  io: Io,
  api: RegistryApi,
  repo: string,
  flags: PullFlags,
  got: ArtifactResponse,
  model: string,
  concurrency: number,
): Promise<number> {
  const resources = got.artifact.resources;
  const total = resources.reduce((n, r) => n + r.size, 0);
  const progress = transferProgress(io, !flags.json, 'downloading', total);
  const dirs = new Set<string>();
  for (const r of resources) {
    const dir = dirname(join(model, r.name));
    if (!dirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      dirs.add(dir);
    }
  }
  try {
    await runPool(resources, concurrency, async (r) => {
      const res = await api.openBlob(repo, flags.environment, got.artifact.digest, r.blob);
      const file = join(model, r.name);
      const { digest, size } = await api.client.downloadTo(res, file, r.size, (n) =>
        progress.add(n),
      );
      if (size !== r.size || !sameDigest(digest, r.blob)) {
        throw new VerificationError(
          'PULL_DIGEST_MISMATCH',
          `${r.name} does not match its digest (got ${size} bytes, ${digest})`,
          {
            details: {
              name: r.name,
              expected: { digest: r.blob, size: r.size },
              actual: { digest, size },
            },
          },
        );
      }
    });
  } finally {
    progress.stop();
  }
  return total;
}

/** What pull establishes about the files it wrote. */
interface PulledVerification {
  readonly digest: string;
  readonly signer: SignerFacts;
  readonly warnings: readonly string[];
  /** `streamed`: the signed manifest matched the SHA-256 of each file as it was written; `rehashed`: the model was hashed again from disk as `cairn verify` does. */
  readonly method: 'streamed' | 'rehashed';
  readonly signatureIndex: number;
}

/**
 * Verifies the downloaded model with the chosen trust. With files/sha256 (the default
 * serialization) each file's SHA-256 was computed as it was written into this private directory
 * and matched the artifact; the verified signed manifest must then name exactly those files with
 * exactly those digests — the same check as re-hashing, without reading every byte twice. Other
 * serializations, and trust-root verification, re-hash the model from disk.
 */
async function verifyPulled(
  io: Io,
  mode: TrustMode,
  model: string,
  signatures: readonly string[],
  paths: readonly string[],
  got: ArtifactResponse,
  flags: PullFlags,
): Promise<PulledVerification> {
  switch (mode.kind) {
    case 'trust-root': {
      if (flags.certificateChain === undefined) {
        const streamed = verifyStreamedWithTrustRoot(io, mode.path, signatures, got, flags);
        if (streamed !== undefined) return streamed;
      }
      const result = await verifyModelWithTrustRoot(io, model, {
        trustRoot: mode.path,
        repository: got.artifact.repository,
        environment: flags.environment,
        signature: paths,
        ignoreGitPaths: false,
        ...(flags.certificateChain === undefined
          ? {}
          : { certificateChain: flags.certificateChain }),
      });
      const first = result.trustRoot.signatures.findIndex((s) => s.ok);
      return { ...result, method: 'rehashed', signatureIndex: Math.max(first, 0) };
    }
    case 'direct': {
      // Checking each bundle's signature is cheap; the files are compared only with one that verifies.
      let lastError: unknown;
      for (const [i, path] of paths.entries()) {
        let signed;
        try {
          signed = verifyBundle(Buffer.from(signatures[i]!), mode.trust);
        } catch (err) {
          lastError = err;
          continue;
        }
        const s = signed.manifest.serialization;
        if (s.method === 'files' && s.hashType === 'sha256') {
          checkStreamed(signed.manifest, got);
          return { ...signed, method: 'streamed', signatureIndex: i };
        }
        const result = await verifyModel(model, {
          trust: mode.trust,
          signaturePath: path,
          ignoreGitPaths: false,
        });
        return { ...result, method: 'rehashed', signatureIndex: i };
      }
      throw lastError;
    }
  }
}

/**
 * The trust-root check without reading the model again: the first bundle whose signer the trust
 * root lists (key or identity, with that signer's material), that verifies, and whose signer is in
 * scope, unrevoked and valid now, must sign a files/sha256 manifest naming exactly the files just
 * written with the SHA-256 each was checked against as it streamed — what `verifyModelWithTrustRoot`
 * establishes for one signature at threshold 1, minus the second pass over every byte. Undefined
 * (re-hash from disk) when the verifying bundle uses another serialization.
 */
function verifyStreamedWithTrustRoot(
  io: Io,
  trustRoot: string,
  signatures: readonly string[],
  got: ArtifactResponse,
  flags: PullFlags,
): PulledVerification | undefined {
  const { root } = loadTrustRootWithCheckpoint(io, trustRoot, undefined);
  const at = new Date();
  let lastError: VerificationError | undefined;
  for (const [i, text] of signatures.entries()) {
    const bytes = Buffer.from(text);
    let trusts;
    try {
      trusts = trustsFromRoot(root, inspectBundle(bytes), undefined);
    } catch (err) {
      if (!(err instanceof VerificationError)) throw err;
      lastError = err;
      continue;
    }
    for (const trust of trusts) {
      let signed;
      try {
        signed = verifyBundle(bytes, trust);
      } catch (err) {
        // Anything but a signer's refusal (bad input, I/O) stops here, as in `cairn trust verify`.
        if (!(err instanceof VerificationError)) throw err;
        lastError = err;
        continue;
      }
      const s = signed.manifest.serialization;
      if (s.method !== 'files' || s.hashType !== 'sha256') return undefined;
      // A verified signature over other files is a changed model: stop, as verify does.
      checkStreamed(signed.manifest, got);
      try {
        verifyAgainstTrustRoot(signed, root, {
          repository: got.artifact.repository,
          environment: flags.environment,
          at,
        });
      } catch (err) {
        // Anything but a signer's refusal (bad input, I/O) stops here, as in `cairn trust verify`.
        if (!(err instanceof VerificationError)) throw err;
        lastError = err;
        continue;
      }
      return { ...signed, method: 'streamed', signatureIndex: i };
    }
  }
  throw (
    lastError ??
    new VerificationError('SIGNER_UNTRUSTED', 'No signature is by a signer in the trust root', {
      details: { signatures: signatures.length },
    })
  );
}

/** MODEL_MISMATCH unless the signed manifest names exactly the files written, with their digests. */
function checkStreamed(signed: Manifest, got: ArtifactResponse): void {
  const diff = compareManifests(signed, streamedManifest(signed, got));
  if (!diff.ok) {
    throw new VerificationError(
      'MODEL_MISMATCH',
      `The artifact's files do not match its signature (${diff.extra.length} extra, ${diff.missing.length} missing, ${diff.changed.length} changed)`,
      { details: { extra: diff.extra, missing: diff.missing, changed: diff.changed } },
    );
  }
}

/** The manifest of the files as written: each one's SHA-256 was checked while it streamed. */
function streamedManifest(signed: Manifest, got: ArtifactResponse): Manifest {
  return {
    modelName: signed.modelName,
    serialization: signed.serialization,
    resources: sortResources(
      got.artifact.resources.map((r) => ({
        name: r.name,
        path: r.name,
        algorithm: 'sha256',
        digest: Buffer.from(r.blob.slice('sha256:'.length), 'hex'),
        size: r.size,
        role: roleForPath(r.name),
      })),
    ),
  };
}

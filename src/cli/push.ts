import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defaultAttestationsPath, readAttestationLines } from '../attest/index.js';
import { UsageError, VerificationError, isCairnError } from '../errors/index.js';
import type { Manifest } from '../manifest/index.js';
import {
  MAX_BUNDLE_BYTES,
  defaultSignaturePath,
  digestModel,
  inspectSignature,
  readSmallFile,
  type DigestModelOptions,
} from '../model/index.js';
import type { Sha256Digest } from '../store/index.js';
import { parsePositiveInt } from './inputs.js';
import { withApi } from './login.js';
import { note, printJson, progressReporter, say, type Io } from './output.js';
import { parseReference } from './reference.js';
import { isConnectionFailure, type PushBody, type RegistryApi } from './registry-client.js';
import { runPool, transferProgress, type TransferProgress } from './transfer.js';

export interface PushFlags {
  readonly environment: string;
  readonly server?: string;
  readonly signature?: string;
  readonly attestations?: string;
  readonly concurrency?: string;
  readonly chunkSize?: string;
  readonly json?: boolean;
}

/** Below the server's default PATCH limit (256 MiB); one chunk per request. */
const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;
/** Resumes of one blob after dropped connections before giving up. */
const MAX_RESUMES = 5;

/** The OMS `serialization` block as a signature records it (snake_case, reference names). */
const omsSerializationSchema = z.object({
  method: z.enum(['files', 'shards']),
  hash_type: z.enum(['sha256', 'blake2b', 'blake3']),
  allow_symlinks: z.boolean().optional(),
  ignore_paths: z.array(z.string()).max(10_000).optional(),
  shard_size: z.number().int().positive().optional(),
});

interface Blob {
  readonly digest: Sha256Digest;
  readonly size: number;
  readonly file: string;
}

interface PushPlan {
  readonly digest: Sha256Digest;
  readonly resources: PushBody['resources'];
  readonly serialization: Record<string, unknown>;
  readonly blobs: readonly Blob[];
}

/**
 * `cairn push MODEL REPO[:TAG]`: hash the model the way its signature did, upload every blob the
 * server does not already hold (HEAD first; resumable chunks), then put the artifact with its
 * signature and attestations. Nothing becomes visible on the server until the final PUT.
 */
export async function pushCommand(
  io: Io,
  model: string,
  reference: string,
  flags: PushFlags,
): Promise<number> {
  const ref = parseReference(reference, true);
  if (ref.kind === 'digest') {
    throw new UsageError('USAGE', 'Push to REPO or REPO:TAG; the digest is computed from MODEL');
  }
  const concurrency = parsePositiveInt(flags.concurrency ?? '4', '--concurrency');
  const chunkBytes =
    flags.chunkSize === undefined
      ? DEFAULT_CHUNK_BYTES
      : parsePositiveInt(flags.chunkSize, '--chunk-size');
  const root = resolve(io.cwd, model);
  if (!statOf(root).isDirectory()) {
    throw new UsageError('USAGE', `Push a model directory, not a single file: ${model}`, {
      hint: 'Put the file in a directory with its model.sig and push the directory.',
    });
  }
  const signaturePath =
    flags.signature === undefined ? defaultSignaturePath(root) : resolve(io.cwd, flags.signature);
  const signature = existsSync(signaturePath)
    ? readSmallFile(signaturePath, MAX_BUNDLE_BYTES, 'Signature file').toString('utf8')
    : undefined;
  const attestationsPath =
    flags.attestations === undefined
      ? defaultAttestationsPath(root)
      : resolve(io.cwd, flags.attestations);
  const attestations = readAttestationLines(attestationsPath).map((l) => l.bundle.toString('utf8'));

  const plan = await planPush(io, root, signaturePath, signature !== undefined, !flags.json);
  if (signature === undefined) {
    note(
      io,
      `warning: no signature at ${signaturePath}; pushing unsigned (promotion will need one)`,
    );
  }

  return withApi(io, flags.server, async (api, server) => {
    const missing: Blob[] = [];
    await runPool(plan.blobs, concurrency, async (blob) => {
      if (!(await api.hasBlob(ref.repository, blob.digest))) missing.push(blob);
    });
    const bytes = missing.reduce((n, b) => n + b.size, 0);
    const progress = transferProgress(io, !flags.json, 'uploading', bytes);
    try {
      await runPool(missing, concurrency, (blob) =>
        uploadBlob(api, ref.repository, blob, chunkBytes, progress),
      );
    } finally {
      progress.stop();
    }
    const res = await api.putArtifact(ref.repository, flags.environment, plan.digest, {
      resources: plan.resources,
      serialization: plan.serialization,
      signatures: signature === undefined ? [] : [signature],
      attestations,
      ...(ref.kind === 'tag' ? { tag: ref.tag } : {}),
    });
    const summary = {
      server,
      repository: ref.repository,
      environment: flags.environment,
      digest: plan.digest,
      reference: `${ref.repository}@${plan.digest}`,
      ...(ref.kind === 'tag' ? { tag: ref.tag } : {}),
      created: res.created,
      files: plan.resources.length,
      blobs: { total: plan.blobs.length, uploaded: missing.length, bytesUploaded: bytes },
      bundles: res.bundles,
    };
    if (flags.json) {
      printJson(io, { ok: true, ...summary });
    } else {
      say(
        io,
        `Pushed ${summary.reference} to ${flags.environment}${res.created ? '' : ' (already there)'}`,
      );
      say(
        io,
        `  files: ${summary.files} · blobs uploaded: ${missing.length} of ${plan.blobs.length} (${bytes} bytes; the rest were already stored)`,
      );
      if (ref.kind === 'tag') say(io, `  tag:   ${ref.tag} → ${plan.digest}`);
      say(io, `  bundles: ${res.bundles.map((b) => b.kind).join(', ') || 'none'}`);
    }
    return 0;
  });
}

function statOf(path: string) {
  try {
    return statSync(path);
  } catch {
    throw new UsageError('INPUT_NOT_FOUND', `No such file or directory: ${path}`, {
      details: { path },
    });
  }
}

/**
 * Hashes the model as its signature records (so the pushed digest is the signed one) and lists
 * each file with the SHA-256 of its bytes (its blob). With files/sha256 the manifest's digests
 * are the blob digests; any other serialization costs one extra SHA-256 pass.
 */
async function planPush(
  io: Io,
  root: string,
  signaturePath: string,
  signed: boolean,
  showProgress: boolean,
): Promise<PushPlan> {
  let options: DigestModelOptions = { signaturePath };
  let claimed: string | undefined;
  if (signed) {
    const claims = await inspectSignature(signaturePath);
    claimed = claims.subjectDigest;
    const recorded = omsSerializationSchema.safeParse(claims.serialization);
    if (recorded.success) {
      const s = recorded.data;
      options = {
        signaturePath,
        hashType: s.hash_type,
        ...(s.method === 'shards' ? { shardSize: s.shard_size ?? 1_000_000_000 } : {}),
        allowSymlinks: s.allow_symlinks ?? false,
        ignorePaths: s.ignore_paths ?? [],
        ignoreGitPaths: false,
      };
    }
  }
  const progress = progressReporter(io, showProgress, 'hashing');
  let manifest: Manifest;
  let digest: string;
  try {
    ({ manifest, digest } = await digestModel(root, {
      ...options,
      ...(progress.onProgress === undefined ? {} : { onProgress: progress.onProgress }),
    }));
  } finally {
    progress.stop();
  }
  if (claimed !== undefined && `sha256:${claimed}` !== digest) {
    throw new VerificationError(
      'MODEL_MISMATCH',
      `The model does not match its signature (signed sha256:${claimed}, files hash to ${digest})`,
      { hint: 'Run `cairn verify` to see which files changed; push only what was signed.' },
    );
  }
  const s = manifest.serialization;
  const filesSha256 = s.method === 'files' && s.hashType === 'sha256';
  const perFile = filesSha256
    ? manifest
    : (
        await digestModel(root, {
          signaturePath,
          hashType: 'sha256',
          allowSymlinks: s.allowSymlinks,
          ignorePaths: s.ignorePaths,
          ignoreGitPaths: false,
        })
      ).manifest;
  const resources = perFile.resources
    .map((r): PushBody['resources'][number] => ({
      name: r.path,
      blob: `sha256:${r.digest.toString('hex')}`,
      size: r.size ?? 0,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const blobs = new Map<string, Blob>();
  for (const r of resources) {
    if (!blobs.has(r.blob))
      blobs.set(r.blob, { digest: r.blob, size: r.size, file: join(root, r.name) });
  }
  return {
    digest: digest as Sha256Digest,
    resources,
    serialization: {
      method: s.method,
      hash_type: s.hashType,
      allow_symlinks: s.allowSymlinks,
      ignore_paths: [...s.ignorePaths],
      ...(s.shardSize === undefined ? {} : { shard_size: s.shardSize }),
    },
    blobs: [...blobs.values()],
  };
}

/**
 * Uploads one blob in chunks. After a dropped connection (or an offset the server disagrees
 * with) it asks the server how much it holds and resumes from there; the server hashes what it
 * holds at commit, so a resumed upload is as strict as a single one.
 */
async function uploadBlob(
  api: RegistryApi,
  repo: string,
  blob: Blob,
  chunkBytes: number,
  progress: TransferProgress,
): Promise<void> {
  const { id } = await api.beginUpload(repo);
  let offset = 0;
  let resumes = 0;
  try {
    while (offset < blob.size) {
      const end = Math.min(offset + chunkBytes, blob.size);
      try {
        const next = await api.appendUpload(
          repo,
          id,
          offset,
          createReadStream(blob.file, { start: offset, end: end - 1 }),
          end - offset,
        );
        progress.add(next - offset);
        offset = next;
        resumes = 0;
      } catch (err) {
        const offsetConflict = isCairnError(err) && (err.code as string) === 'BLOB_UPLOAD_OFFSET';
        if ((!isConnectionFailure(err) && !offsetConflict) || resumes >= MAX_RESUMES) throw err;
        resumes += 1;
        const at = await serverOffset(api, repo, id, resumes);
        progress.add(at - offset);
        offset = at;
      }
    }
    await api.commitUpload(repo, id, blob.digest);
  } catch (err) {
    // Best effort: an abandoned upload is invisible anyway and expires on the server.
    if (!isConnectionFailure(err)) await api.abortUpload(repo, id).catch(() => undefined);
    throw err;
  }
}

/** The upload's offset as the server holds it, asked again (with back-off) while the link is down. */
async function serverOffset(
  api: RegistryApi,
  repo: string,
  id: string,
  attempt: number,
): Promise<number> {
  for (let tries = attempt; ; tries++) {
    await sleep(100 * 2 ** tries);
    try {
      return await api.uploadOffset(repo, id);
    } catch (err) {
      if (!isConnectionFailure(err) || tries >= MAX_RESUMES) throw err;
    }
  }
}

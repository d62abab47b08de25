import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  CAIRN_LICENSE_V1,
  CAIRN_SCAN_V1,
  CAIRN_TRAINING_V1,
  SLSA_PROVENANCE_V1,
  SLSA_VERIFICATION_SUMMARY_V1,
  defaultAttestationsPath,
  evidenceFromFiles,
  openChainStore,
  traceLineage,
  type BundleVerifier,
  type LicensePredicate,
  type LineageNode,
  type LineageResult,
  type ProvenancePredicate,
  type TrainingPredicate,
  type VerificationSummaryPredicate,
} from '../attest/index.js';
import { isArtifactDigest } from '../digest/index.js';
import { UsageError } from '../errors/index.js';
import { defaultSignaturePath, digestModel } from '../model/index.js';
import { requireAttestations } from './attest-require.js';
import { note, printError, printJson, say, type Io } from './output.js';
import { bundleVerifierFrom, signerText, type VerifierFlags } from './attest-verifier.js';

export interface ChainFlags {
  /** Directories of ancestors' signatures and attestations (repeatable). */
  readonly chainStore?: string[];
  /** The model's own signature bundle (default `model.sig` beside it). */
  readonly signature?: readonly string[] | string;
}

/**
 * The lineage of a model directory/file or of a digest found in the chain store. The model is
 * hashed as `cairn attest` hashes it (default options), since its attestations name that digest.
 */
async function lineageOf(
  io: Io,
  target: string,
  flags: ChainFlags,
  verifier: BundleVerifier,
): Promise<LineageResult> {
  const store = openChainStore((flags.chainStore ?? []).map((d) => resolve(io.cwd, d)));
  const path = resolve(io.cwd, target);
  if (!existsSync(path) && isArtifactDigest(target)) {
    const found = store.find(target);
    if (found === undefined) {
      throw new UsageError('INPUT_NOT_FOUND', `No --chain-store holds ${target}`, {
        details: { digest: target },
      });
    }
    return traceLineage(target, found, store, verifier);
  }
  const { digest } = await digestModel(path);
  const given = typeof flags.signature === 'string' ? flags.signature : flags.signature?.[0];
  const evidence = evidenceFromFiles(
    given === undefined ? defaultSignaturePath(path) : resolve(io.cwd, given),
    defaultAttestationsPath(path),
  );
  return traceLineage(digest, evidence, store, verifier);
}

/** The `verify` flags `--chain` reads; the rest must be absent (refused, never ignored). */
export interface ChainVerifyFlags extends ChainFlags, VerifierFlags {
  readonly chain?: boolean;
  readonly json?: boolean;
  readonly require?: string;
  readonly policy?: string;
  readonly threshold?: string;
  readonly parentSignature?: string[];
  readonly ignorePaths?: string[];
  readonly ignoreGitPaths?: boolean;
  readonly allowSymlinks?: boolean;
  readonly ignoreUnsignedFiles?: boolean;
}

/**
 * `cairn verify MODEL --chain`: the model's lineage must reach signed roots, every hop vouched
 * for by a trusted signer (scoped to the predicate type it signs, with --trust-root); the
 * CHAIN_* error of the first break otherwise. With --require, the attestations are required
 * for the model's digest with the same verifier.
 */
export async function verifyChainCommand(
  io: Io,
  model: string,
  flags: ChainVerifyFlags,
): Promise<number> {
  if (flags.chain !== true) throw new UsageError('USAGE', '--chain-store needs --chain');
  const refused = [
    flags.policy === undefined ? undefined : '--policy',
    flags.threshold === undefined ? undefined : '--threshold',
    flags.parentSignature === undefined ? undefined : '--parent-signature',
    (flags.ignorePaths?.length ?? 0) === 0 ? undefined : '--ignore-paths',
    flags.ignoreGitPaths === false ? '--no-ignore-git-paths' : undefined,
    flags.allowSymlinks === true ? '--allow-symlinks' : undefined,
    flags.ignoreUnsignedFiles === true ? '--ignore-unsigned-files' : undefined,
    typeof flags.signature !== 'string' && (flags.signature?.length ?? 0) > 1
      ? 'several --signature'
      : undefined,
  ].filter((f) => f !== undefined);
  if (refused.length > 0) {
    // --chain hashes the model as `cairn attest` does, so its attestations name the same digest.
    throw new UsageError('USAGE', `${refused.join(', ')} cannot be used with --chain`);
  }
  const verifier = bundleVerifierFrom(io, flags);
  const result = await lineageOf(io, model, flags, verifier);
  if (result.error !== undefined) throw result.error;
  const attestations =
    flags.require === undefined
      ? undefined
      : requireAttestations(resolve(io.cwd, model), verifier, result.digest, flags.require);
  if (flags.json) {
    printJson(io, {
      ok: true,
      digest: result.digest,
      chain: lineageJson(result),
      ...(attestations === undefined ? {} : { attestations }),
    });
    return 0;
  }
  say(
    io,
    `Chain verified: ${result.digest} reaches signed roots through ${result.nodes.length - 1} ancestor(s)`,
  );
  printLineage(io, result);
  if (attestations !== undefined) {
    say(io, `  attested: ${flags.require} (${attestations.length} attestation(s) found)`);
  }
  return 0;
}

export interface LineageFlags extends ChainFlags, VerifierFlags {
  readonly json?: boolean;
}

/** `cairn lineage MODEL|DIGEST`: data → training → transforms → this digest. */
export async function lineageCommand(io: Io, target: string, flags: LineageFlags): Promise<number> {
  const verifier = bundleVerifierFrom(io, flags);
  const result = await lineageOf(io, target, flags, verifier);
  if (flags.json) {
    printJson(io, {
      ok: result.error === undefined,
      digest: result.digest,
      ...lineageJson(result),
      ...(result.error === undefined ? {} : { error: result.error.toJSON() }),
    });
  } else {
    say(io, `Lineage of ${result.digest}`);
    printLineage(io, result);
    if (result.error !== undefined) printError(io, result.error);
  }
  return result.error === undefined ? 0 : 1;
}

function lineageJson(result: LineageResult): Record<string, unknown> {
  return {
    complete: result.error === undefined,
    nodes: result.nodes.map((n) => ({
      digest: n.digest,
      depth: n.depth,
      role:
        n.transformation !== undefined
          ? 'derived'
          : n.signature !== undefined
            ? 'root'
            : 'unvouched',
      parents: n.parents,
      signature: n.signature ?? null,
      transformation:
        n.transformation === undefined
          ? null
          : {
              source: n.transformation.source,
              line: n.transformation.line,
              signer: n.transformation.attestation.signer,
              ...(n.transformation.attestation.trustedSigner === undefined
                ? {}
                : { trustedSigner: n.transformation.attestation.trustedSigner }),
              predicate: n.transformation.predicate,
            },
      attestations: n.attestations.map((a) => ({
        source: a.source,
        line: a.line,
        predicateType: a.attestation.predicateType,
        signer: a.attestation.signer,
        ...(a.attestation.trustedSigner === undefined
          ? {}
          : { trustedSigner: a.attestation.trustedSigner }),
        predicate: a.attestation.predicate,
      })),
      refused: n.refused,
    })),
  };
}

function predicatesOf<T>(n: LineageNode, type: string): T[] {
  return n.attestations
    .filter((a) => a.attestation.predicateType === type)
    .map((a) => a.attestation.predicate as unknown as T);
}

function digestText(d: Readonly<Record<string, string>> | undefined): string {
  const [alg, hex] = Object.entries(d ?? {})[0] ?? [];
  return alg === undefined ? '' : ` (${alg}:${hex!.slice(0, 12)}…)`;
}

/** Oldest first: data → training → transforms → the digest asked about. */
function printLineage(io: Io, result: LineageResult): void {
  for (const n of [...result.nodes].reverse()) {
    const t = n.transformation;
    const head =
      t !== undefined
        ? `made by ${t.predicate.tool.name}${t.predicate.tool.version === undefined ? '' : ` ${t.predicate.tool.version}`} ${JSON.stringify(t.predicate.params)} from ${n.parents.join(', ')}; attested by ${signerText(t.attestation.signer)}`
        : n.signature !== undefined
          ? `signed root, by ${signerText(n.signature.signer)}`
          : 'NOT VOUCHED FOR';
    say(io, `${n.digest === result.digest ? '▶' : '•'} ${n.digest}  ${head}`);
    if (t !== undefined && n.signature !== undefined) {
      say(io, `    signed     by ${signerText(n.signature.signer)}`);
    }
    for (const p of predicatesOf<TrainingPredicate>(n, CAIRN_TRAINING_V1)) {
      for (const d of p.datasets) {
        say(
          io,
          `    data       ${d.uri}${digestText(d.digest)}${d.split === undefined ? '' : ` [${d.split}]`}`,
        );
      }
      for (const b of p.baseModels ?? []) say(io, `    base model ${b.digest}`);
      for (const s of p.preprocessing ?? []) say(io, `    preprocess ${s.name}`);
      const hp = Object.entries(p.hyperparameters).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
      if (hp.length > 0) say(io, `    training   ${hp.join(' ')}`);
      for (const e of p.evaluations ?? []) {
        const th =
          e.threshold === undefined
            ? ''
            : ` (${e.threshold.comparison} ${e.threshold.value}: ${e.passed === true ? 'passed' : 'FAILED'})`;
        say(io, `    evaluation ${e.metric} = ${e.value} on ${e.dataset.uri}${th}`);
      }
      for (const r of p.experimentRuns ?? []) say(io, `    run        ${r.uri}`);
    }
    for (const p of predicatesOf<ProvenancePredicate>(n, SLSA_PROVENANCE_V1)) {
      const src = p.buildDefinition.resolvedDependencies?.find((r) => r.digest?.['gitCommit']);
      say(
        io,
        `    built by   ${p.runDetails.builder.id}${src === undefined ? '' : ` from ${src.uri ?? 'git'}@${src.digest?.['gitCommit'] ?? ''}`}`,
      );
    }
    for (const p of predicatesOf<LicensePredicate>(n, CAIRN_LICENSE_V1)) {
      say(
        io,
        `    license    ${p.license}${p.modelCard === undefined ? '' : `; model card ${p.modelCard.name}${digestText(p.modelCard.digest)}`}`,
      );
    }
    for (const p of predicatesOf<{ findings: unknown[] }>(n, CAIRN_SCAN_V1)) {
      say(io, `    scanned    ${p.findings.length} finding(s)`);
    }
    for (const p of predicatesOf<VerificationSummaryPredicate>(n, SLSA_VERIFICATION_SUMMARY_V1)) {
      say(io, `    verified   ${p.verificationResult} by ${p.verifier.id} (${p.policy.uri})`);
    }
    for (const r of n.refused) {
      note(
        io,
        `    refused    ${r.source}${r.line === undefined ? '' : ` line ${r.line}`}: [${r.code}] ${r.message}`,
      );
    }
  }
}

export { registerLineageCommands } from './lineage-register.js';

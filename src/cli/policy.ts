import { readdirSync, statSync } from 'node:fs';
import {
  defaultAttestationsPath,
  evidenceFromFiles,
  openChainStore,
  traceLineage,
  verifierForTrust,
  type BundleVerifier,
  type LineageResult,
} from '../attest/index.js';
import type { ArtifactDigest } from '../digest/index.js';
import { extname, join, relative, resolve, sep } from 'node:path';
import { UsageError, VerificationError, fromFsError } from '../errors/index.js';
import {
  MAX_BUNDLE_BYTES,
  defaultSignaturePath,
  readSmallFile,
  verifyModel,
  type ModelVerification,
} from '../model/index.js';
import {
  FACT_LIMITS,
  POLICY_ACTIONS,
  POLICY_LIMITS,
  evaluate,
  factsFromBytes,
  factsFromEvidence,
  formatDuration,
  loadPolicySet,
  parseInstant,
  runPolicyTests,
  trustRootNames,
  type ArtifactFacts,
  type Decision,
  type PolicyAction,
  type PolicySet,
  type PolicySourceText,
  type RequirementOutcome,
  type SignatureFacts,
} from '../policy/index.js';
import {
  listedJson,
  parseRequired,
  requireAttestations,
  verifyStoredAttestations,
  type ListedAttestation,
} from './attest-require.js';
import { verifyWithTrustRootVerifier } from './attest-verifier.js';
import type { TrustRootVerifyFlags } from './trust.js';
import { trustFrom } from './trust-flags.js';
import { note, printError, printJson, say, type Io } from './output.js';

/** Files and bytes a policy directory may hold, besides each file's own limit. */
const MAX_POLICY_FILES = 1000;
const MAX_POLICY_DIR_BYTES = 16 * 1024 * 1024;
const MAX_POLICY_DIR_DEPTH = 4;
const POLICY_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

// ── reading a policy directory ──────────────────────────────────────────────────────────

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Every *.yaml, *.yml and *.json file under `path` (or `path` itself when it is a file), in a
 * stable order, each within its size limit. Symbolic links and dot-files are skipped.
 */
export function readPolicyDirectory(io: Io, path: string): PolicySourceText[] {
  const root = resolve(io.cwd, path);
  let isDir: boolean;
  try {
    // The path given is followed if it is a link; links inside the directory are skipped.
    isDir = statSync(root).isDirectory();
  } catch (err) {
    throw fromFsError(err, root);
  }
  const files: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      throw fromFsError(err, dir, 'list');
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.name.startsWith('.')) continue;
      const full = join(dir, e.name);
      if (e.isDirectory() && depth < MAX_POLICY_DIR_DEPTH) walk(full, depth + 1);
      else if (e.isFile() && POLICY_EXTENSIONS.has(extname(e.name).toLowerCase())) files.push(full);
      if (files.length > MAX_POLICY_FILES) {
        throw new UsageError(
          'INPUT_TOO_LARGE',
          `The policy directory holds more than ${MAX_POLICY_FILES} policy files: ${root}`,
          { details: { path: root, limit: MAX_POLICY_FILES } },
        );
      }
    }
  };
  if (isDir) walk(root, 0);
  else files.push(root);
  let total = 0;
  return files.map((file) => {
    const bytes = readSmallFile(file, POLICY_LIMITS.maxFileBytes, 'Policy file');
    total += bytes.length;
    if (total > MAX_POLICY_DIR_BYTES) {
      throw new UsageError(
        'INPUT_TOO_LARGE',
        `The policy files under ${root} add up to more than ${MAX_POLICY_DIR_BYTES} bytes`,
        { details: { path: root, limit: MAX_POLICY_DIR_BYTES } },
      );
    }
    const source = isDir ? relative(root, file).split(sep).join('/') : file;
    try {
      return { source, text: UTF8.decode(bytes) };
    } catch {
      throw new UsageError('INPUT_UNREADABLE', `Policy file is not UTF-8 text: ${file}`, {
        details: { path: file },
      });
    }
  });
}

/** Loads and validates a policy directory (every problem in every file in one error). */
export function loadPolicyDirectory(io: Io, path: string): PolicySet {
  return loadPolicySet(readPolicyDirectory(io, path));
}

// ── cairn policy eval ───────────────────────────────────────────────────────────────────

export interface PolicyEvalFlags {
  readonly policy: string;
  readonly facts?: string;
  readonly repository?: string;
  readonly environment?: string;
  readonly tag?: string;
  readonly action: string;
  readonly actor?: string;
  readonly actorIssuer?: string;
  readonly now?: string;
  readonly signature?: string;
  readonly parentSignature?: string[];
  readonly chainStore?: string[];
  readonly publicKey?: string;
  readonly certificateChain?: string[];
  readonly identity?: string;
  readonly identityProvider?: string;
  readonly json?: boolean;
}

export async function policyEvalCommand(
  io: Io,
  model: string | undefined,
  flags: PolicyEvalFlags,
): Promise<number> {
  const now = evaluationTime(flags.now);
  const set = loadPolicyDirectory(io, flags.policy);
  if (set.policies.length === 0) {
    throw new UsageError('POLICY_EMPTY', `No ModelPolicy documents under ${flags.policy}`);
  }
  let facts: ArtifactFacts;
  let attestations: ListedAttestation[] | undefined;
  if (flags.facts !== undefined) {
    if (
      model !== undefined ||
      flags.parentSignature !== undefined ||
      flags.chainStore !== undefined
    ) {
      throw new UsageError('USAGE', 'Give either MODEL or --facts, not both');
    }
    const bytes = readSmallFile(
      resolve(io.cwd, flags.facts),
      FACT_LIMITS.maxFactsFileBytes,
      'Facts file',
    );
    facts = overrideFacts(factsFromBytes(bytes), flags);
  } else {
    if (model === undefined) {
      throw new UsageError('USAGE', 'Give a MODEL to verify, or --facts FILE');
    }
    if (flags.repository === undefined || flags.environment === undefined) {
      throw new UsageError('USAGE', 'Evaluating a model needs --repository and --environment');
    }
    const trust = trustFrom(io, flags);
    const modelPath = resolve(io.cwd, model);
    const verification = await verifyModel(modelPath, {
      trust,
      ...(flags.signature === undefined ? {} : { signaturePath: resolve(io.cwd, flags.signature) }),
    });
    ({ facts, attestations } = modelFacts(
      io,
      modelPath,
      signedModel(verification),
      verifierForTrust(trust),
      flags,
    ));
  }
  const decision = evaluate(facts, set.policies, set.exceptions, set.grants, now);
  printDecision(io, decision, flags.json === true, attestations);
  return decision.allowed ? 0 : 1;
}

function evaluationTime(text: string | undefined): Date {
  if (text === undefined) return new Date();
  const at = parseInstant(text);
  if (at === undefined) {
    throw new UsageError(
      'USAGE',
      `--now must be an RFC 3339 instant such as 2025-09-01T00:00:00Z, got ${JSON.stringify(text)}`,
    );
  }
  return at;
}

type RequestFlags = Pick<PolicyEvalFlags, 'action' | 'actor' | 'actorIssuer'>;

function action(flags: RequestFlags): PolicyAction {
  const a = POLICY_ACTIONS.find((x) => x === flags.action);
  if (a === undefined) {
    throw new UsageError('USAGE', `--action must be one of ${POLICY_ACTIONS.join(', ')}`);
  }
  return a;
}

function requestFrom(flags: RequestFlags): ArtifactFacts['request'] {
  if (flags.actorIssuer !== undefined && flags.actor === undefined) {
    throw new UsageError('USAGE', '--actor-issuer needs --actor');
  }
  return {
    action: action(flags),
    ...(flags.actor === undefined
      ? {}
      : {
          identity: {
            subject: flags.actor,
            ...(flags.actorIssuer === undefined ? {} : { issuer: flags.actorIssuer }),
          },
        }),
  };
}

export type ModelFactsFlags = Pick<
  PolicyEvalFlags,
  | 'repository'
  | 'environment'
  | 'tag'
  | 'action'
  | 'actor'
  | 'actorIssuer'
  | 'parentSignature'
  | 'chainStore'
> & {
  /** The signature bundle(s) verified (default `model.sig` beside the model). */
  readonly signature?: string | readonly string[];
};

/** A model whose signatures were verified: its digest and who signed it. */
export interface SignedModel {
  readonly digest: ArtifactDigest;
  readonly signatures: readonly SignatureFacts[];
  /** The bundles that verified, when not the `signature` flag (for the lineage walk). */
  readonly bundles?: readonly string[];
}

/** The verified signature of `cairn verify` with one trust, as a `SignedModel`. */
export function signedModel(verification: ModelVerification): SignedModel {
  return {
    digest: verification.digest,
    signatures: [{ signer: verification.signer, digest: verification.digest }],
  };
}

/**
 * The facts a gate evaluates for a model on disk, from verified evidence only: its signatures,
 * every attestation in its attestations file that `verifier` accepts for its digest (with one
 * trust, or a trust root where each signer must be scoped to the predicate type it signs;
 * refused ones are listed, never used), and the parent signatures given, checked the same way.
 * `attestations` is every stored attestation, verified or refused, for the caller's output.
 */
export function modelFacts(
  io: Io,
  modelPath: string,
  signed: SignedModel,
  verifier: BundleVerifier,
  flags: ModelFactsFlags,
): { facts: ArtifactFacts; attestations: ListedAttestation[] } {
  const { results } = verifyStoredAttestations(modelPath, verifier, signed.digest);
  if (flags.chainStore !== undefined && flags.parentSignature !== undefined) {
    throw new UsageError(
      'USAGE',
      'Give --parent-signature (one step) or --chain-store (the whole lineage), not both',
    );
  }
  const parentSignatures = (flags.parentSignature ?? []).map((path) => {
    const bytes = readSmallFile(resolve(io.cwd, path), MAX_BUNDLE_BYTES, 'Parent signature');
    const parent = verifier.signature(bytes);
    return { digest: parent.digest, signer: parent.signer };
  });
  const facts = factsFromEvidence(
    {
      digest: signed.digest,
      signatures: signed.signatures,
      attestations: results.flatMap((r) => (r.ok ? [r.attestation] : [])),
      parentSignatures,
      ...(flags.chainStore === undefined
        ? {}
        : { lineage: lineageOf(io, modelPath, signed, verifier, flags, flags.chainStore) }),
    },
    {
      repository: flags.repository ?? '',
      environment: flags.environment ?? '',
      reference: flags.tag === undefined ? { kind: 'digest' } : { kind: 'tag', tag: flags.tag },
      request: requestFrom(flags),
    },
  );
  return { facts, attestations: results };
}

/**
 * The model's lineage back to signed roots, walked by the attest chain walker with the same
 * verifier, from its verified signature bundles and stored attestations and the ancestors in
 * the `--chain-store` directories.
 */
function lineageOf(
  io: Io,
  modelPath: string,
  signed: SignedModel,
  verifier: BundleVerifier,
  flags: ModelFactsFlags,
  chainStore: readonly string[],
): LineageResult {
  const given = typeof flags.signature === 'string' ? [flags.signature] : (flags.signature ?? []);
  const bundles =
    signed.bundles ??
    (given.length === 0 ? [defaultSignaturePath(modelPath)] : given.map((p) => resolve(io.cwd, p)));
  const evidence = {
    signatures: bundles.flatMap((b) => evidenceFromFiles(b, undefined).signatures),
    attestations: evidenceFromFiles(undefined, defaultAttestationsPath(modelPath)).attestations,
  };
  const store = openChainStore(chainStore.map((d) => resolve(io.cwd, d)));
  return traceLineage(signed.digest, evidence, store, verifier);
}

export interface TrustRootPolicyFlags extends TrustRootVerifyFlags {
  readonly policy: string;
  readonly require?: string;
  readonly parentSignature?: string[];
  readonly chainStore?: string[];
}

/**
 * `cairn verify MODEL --trust-root ROOT --policy DIR`: the model's signatures are verified
 * against the trust root (rollback state, `--threshold` over several `--signature` bundles,
 * scopes); each verified bundle's signer, with its trust-root names, becomes a signature fact,
 * and each stored attestation counts only if its signer is in the trust root and scoped to its
 * predicate type (SIGNER_OUT_OF_SCOPE otherwise: listed, not used). Then the same engine as
 * `cairn policy eval` decides, at the instant the trust root was checked at.
 */
export async function trustRootPolicyCommand(
  io: Io,
  model: string,
  flags: TrustRootPolicyFlags,
): Promise<number> {
  if (flags.require !== undefined) parseRequired(flags.require);
  // Load the policy before hashing: a bad policy file should not cost a multi-GB re-hash.
  const set = loadPolicyDirectory(io, flags.policy);
  const at = new Date();
  const { result, verifier } = await verifyWithTrustRootVerifier(io, model, flags, at);
  const signatures = result.trustRoot.signatures.flatMap((o): SignatureFacts[] => {
    if (!o.ok) return [];
    const claim = verifier.signature(readSmallFile(o.signature, MAX_BUNDLE_BYTES, 'Signature'));
    return [
      {
        signer: claim.signer,
        digest: claim.digest,
        ...(claim.trustedSigner === undefined ? {} : trustRootNames(claim.trustedSigner)),
      },
    ];
  });
  const modelPath = resolve(io.cwd, model);
  const required =
    flags.require === undefined
      ? undefined
      : requireAttestations(modelPath, verifier, result.digest, flags.require);
  const bundles = result.trustRoot.signatures.flatMap((o) => (o.ok ? [o.signature] : []));
  const evidence = modelFacts(
    io,
    modelPath,
    { digest: result.digest, signatures, bundles },
    verifier,
    { ...flags, action: 'verify' },
  );
  const decision = evaluate(evidence.facts, set.policies, set.exceptions, set.grants, at);
  if (flags.json) {
    printJson(io, {
      ok: decision.allowed,
      ...result,
      attestations: required ?? evidence.attestations.map(listedJson),
      policy: decision,
    });
  } else {
    for (const w of result.warnings) note(io, `warning: ${w}`);
    const tr = result.trustRoot;
    for (const o of tr.signatures) {
      if (!o.ok) note(io, `warning: ${o.signature} does not count: ${o.code}: ${o.message}`);
    }
    say(
      io,
      `Signature verified: ${result.digest} (trust root v${tr.version}: ${tr.counted.join(', ')})`,
    );
    printDecision(io, decision, false, evidence.attestations);
  }
  return decision.allowed ? 0 : 1;
}

/** Command-line flags override what a facts file says (to try one set of facts elsewhere). */
function overrideFacts(facts: ArtifactFacts, flags: PolicyEvalFlags): ArtifactFacts {
  const explicitRequest =
    flags.actor !== undefined || flags.actorIssuer !== undefined || flags.action !== 'verify';
  return {
    ...facts,
    ...(flags.repository === undefined ? {} : { repository: flags.repository }),
    ...(flags.environment === undefined ? {} : { environment: flags.environment }),
    ...(flags.tag === undefined ? {} : { reference: { kind: 'tag', tag: flags.tag } }),
    ...(explicitRequest ? { request: requestFrom(flags) } : {}),
  };
}

// ── output ──────────────────────────────────────────────────────────────────────────────

const MARK: Readonly<Record<RequirementOutcome['status'], string>> = {
  satisfied: 'ok  ',
  violated: 'FAIL',
  waived: 'wvd ',
  'not-applicable': 'n/a ',
};

/** The decision, and with `attestations` (from `modelFacts`) the stored attestations it used. */
export function printDecision(
  io: Io,
  decision: Decision,
  json: boolean,
  attestations?: readonly ListedAttestation[],
): void {
  const denied = decision.allowed
    ? undefined
    : new VerificationError('POLICY_DENIED', decision.reason, { hint: decision.remediation });
  if (json) {
    printJson(io, {
      ok: decision.allowed,
      decision,
      ...(attestations === undefined ? {} : { attestations: attestations.map(listedJson) }),
      ...(denied === undefined ? {} : { error: denied.toJSON() }),
    });
    return;
  }
  for (const a of attestations ?? []) {
    if (!a.ok) {
      note(
        io,
        `note: attestation on line ${a.line} (${a.predicateType ?? 'unknown type'}) did not verify [${a.error.code}] and was not used`,
      );
    }
  }
  const a = decision.artifact;
  say(
    io,
    `${decision.outcome.toUpperCase()}  ${a.reference}  in ${a.environment}  (${a.action}${a.identity === undefined ? '' : ` by ${a.identity}`})`,
  );
  say(io, decision.reason);
  say(io, `What to do: ${decision.remediation}`);
  for (const p of decision.policies) {
    say(io, '');
    say(
      io,
      `policy ${p.name} (${p.source}): ${p.mode}${p.mode !== p.configuredMode || p.enforceFrom !== undefined ? `${p.enforceFrom === undefined ? '' : `, enforced from ${p.enforceFrom}`}` : ''}`,
    );
    for (const r of p.requirements) {
      say(io, `  ${MARK[r.status]}  ${r.requirement.padEnd(24)} ${r.reason}`);
      if (r.status === 'violated' && r.remediation !== undefined) {
        say(io, `        fix: ${r.remediation}`);
      }
    }
  }
  for (const e of decision.exceptions) {
    say(
      io,
      `exception ${e.name} (${e.ticket}, owner ${e.owner}): ${e.state}, ${formatDuration(e.ageSeconds)} old, expires ${e.expiresAt}`,
    );
  }
  for (const b of decision.breakGlass) {
    say(
      io,
      `break-glass ${b.grant}: incident ${b.incident}, requested by ${b.requestedBy}, expires ${b.expiresAt}; post-incident review required`,
    );
  }
  for (const n of decision.notes) note(io, `note: ${n}`);
  if (decision.outcome === 'allow-by-break-glass') {
    note(io, 'warning: allowed by break-glass; the incident is flagged for post-incident review');
  }
  if (denied !== undefined) printError(io, denied);
}

// ── cairn policy test ───────────────────────────────────────────────────────────────────

export function policyTestCommand(io: Io, dir: string, flags: { json?: boolean }): number {
  const set = loadPolicyDirectory(io, dir);
  if (set.tests.length === 0) {
    throw new UsageError('POLICY_EMPTY', `No PolicyTest documents under ${dir}`, {
      hint: 'Add test cases (kind: PolicyTest, with facts, now and the expected outcome); see docs/policy.md.',
    });
  }
  const results = runPolicyTests(set);
  const failed = results.filter((r) => !r.passed);
  const error =
    failed.length === 0
      ? undefined
      : new VerificationError(
          'POLICY_TEST_FAILED',
          `${failed.length} of ${results.length} policy tests failed: ${failed.map((f) => f.name).join(', ')}`,
        );
  if (flags.json) {
    printJson(io, {
      ok: failed.length === 0,
      passed: results.length - failed.length,
      failed: failed.length,
      results: results.map((r) => ({
        name: r.name,
        source: r.source,
        passed: r.passed,
        failures: r.failures,
        outcome: r.decision.outcome,
        reason: r.decision.reason,
      })),
      ...(error === undefined ? {} : { error: error.toJSON() }),
    });
  } else {
    for (const r of results) {
      say(io, `${r.passed ? 'PASS' : 'FAIL'}  ${r.name}  (${r.source})`);
      for (const f of r.failures) say(io, `      ${f}`);
    }
    say(io, `${results.length - failed.length} passed, ${failed.length} failed`);
    if (error !== undefined) printError(io, error);
  }
  return failed.length === 0 ? 0 : 1;
}

export { registerPolicyCommands } from './policy-register.js';

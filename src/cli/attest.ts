import { basename, isAbsolute, relative, resolve, sep } from 'node:path';
import {
  CAIRN_LICENSE_V1,
  CAIRN_TRAINING_V1,
  CAIRN_TRANSFORMATION_V1,
  SLSA_PROVENANCE_V1,
  appendAttestation,
  buildLicense,
  buildTraining,
  isSpdxExpression,
  trainingInputFromJSON,
  type TrainingInput,
  buildProvenance,
  buildScanAttestation,
  buildTransformation,
  defaultAttestationsPath,
  provenanceOverridesFromJSON,
  signAttestation,
  sourceDateEpoch,
  type BuiltStatement,
  type JsonValue,
  type VerifiedAttestation,
} from '../attest/index.js';
import { hashBytes, isArtifactDigest, type ArtifactDigest } from '../digest/index.js';
import { MAX_JSON_DEPTH, readJsonBytes } from '../envelope/index.js';
import { UsageError, ValidationError } from '../errors/index.js';
import type { Pkcs11Signer, Signer } from '../keys/index.js';
import { digestModel, readSmallFile } from '../model/index.js';
import { loadSigner, type SignFlags } from './commands.js';
import { listedJson, verifyStoredAttestations } from './attest-require.js';
import { note, printJson, say, type Io } from './output.js';
import { bundleVerifierFrom, signerText, type VerifierFlags } from './attest-verifier.js';

/** Largest `--from-json` file / `--params` value. */
const MAX_INPUT_JSON_BYTES = 1024 * 1024;

export interface SignerFlags {
  readonly privateKey?: string;
  readonly pkcs11Uri?: string;
  readonly passphraseFile?: string;
  readonly allowUnencryptedKey?: boolean;
  readonly json?: boolean;
}

export interface ProvenanceFlags extends SignerFlags {
  readonly builderId?: string;
  readonly pythonVersion?: string;
  readonly accelerator?: string;
  readonly fromJson?: string;
}

export interface TransformFlags extends SignerFlags {
  readonly from: string;
  readonly tool: string;
  readonly toolVersion?: string;
  readonly params?: string;
}

export interface TrainingFlags extends SignerFlags {
  readonly fromJson?: string;
  readonly dataset?: string[];
  readonly baseModel?: string[];
  readonly preprocessing?: string[];
  readonly hyperparameter?: string[];
  readonly metric?: string[];
  readonly experimentRun?: string[];
}

export interface LicenseFlags extends SignerFlags {
  readonly license: string;
  readonly modelCard?: string;
}

export interface AttestListFlags extends VerifierFlags {
  readonly json?: boolean;
}

function openSigner(io: Io, flags: SignerFlags): Signer | Pkcs11Signer {
  const signFlags: SignFlags = {
    ignoreGitPaths: true,
    ...(flags.privateKey === undefined ? {} : { privateKey: flags.privateKey }),
    ...(flags.pkcs11Uri === undefined ? {} : { pkcs11Uri: flags.pkcs11Uri }),
    ...(flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile }),
    ...(flags.allowUnencryptedKey === undefined
      ? {}
      : { allowUnencryptedKey: flags.allowUnencryptedKey }),
  };
  return loadSigner(io, signFlags);
}

function readJsonInput(bytes: Uint8Array, what: string): unknown {
  const read = readJsonBytes(bytes, { maxBytes: MAX_INPUT_JSON_BYTES, maxDepth: MAX_JSON_DEPTH });
  if (read.ok) return read.value;
  const f = read.failure;
  const why =
    f.kind === 'too-large'
      ? `is ${f.size} bytes, over ${f.limit}`
      : f.kind === 'too-deep'
        ? `nests deeper than ${f.limit} levels`
        : f.kind === 'not-utf8'
          ? 'is not UTF-8'
          : `is not JSON: ${f.message}`;
  throw new ValidationError('ATTESTATION_PREDICATE_INVALID', `${what} ${why}`, {
    details: { issues: [{ path: '', message: why }] },
  });
}

/** Signs a statement and appends it to the model's attestations file; returns where. */
async function signAndAppend(
  io: Io,
  model: string,
  flags: SignerFlags,
  statement: Buffer,
): Promise<{ path: string; line: number }> {
  const signer = openSigner(io, flags);
  try {
    const bundle = await signAttestation(statement, signer);
    const path = defaultAttestationsPath(resolve(io.cwd, model));
    return { path, line: appendAttestation(path, bundle) };
  } finally {
    if ('close' in signer) signer.close();
  }
}

/** `cairn scan --attest`: the report, as a signed scan attestation about the model's digest. */
export async function attestScanReport(
  io: Io,
  model: string,
  report: unknown,
  flags: SignerFlags,
): Promise<{ digest: ArtifactDigest; path: string; line: number }> {
  const modelPath = resolve(io.cwd, model);
  const { digest } = await digestModel(modelPath);
  const built = buildScanAttestation({ digest, subjectName: basename(modelPath), report });
  return { digest, ...(await signAndAppend(io, model, flags, built.statement)) };
}

/** Signs, appends to the attestations file and reports. */
async function signAndStore<P>(
  io: Io,
  model: string,
  flags: SignerFlags,
  digest: ArtifactDigest,
  predicateType: string,
  build: () => BuiltStatement<P>,
): Promise<number> {
  const built = build();
  const { path, line } = await signAndAppend(io, model, flags, built.statement);
  if (flags.json) {
    printJson(io, {
      ok: true,
      digest,
      predicateType,
      attestations: path,
      line,
      predicate: built.predicate,
    });
  } else {
    say(io, `Attested ${predicateType} for ${digest}`);
    say(io, `Appended as line ${line} of ${path}`);
  }
  return 0;
}

export async function attestProvenanceCommand(
  io: Io,
  model: string,
  flags: ProvenanceFlags,
  version: string,
): Promise<number> {
  const startedOn = new Date(Math.floor(performance.timeOrigin));
  const modelPath = resolve(io.cwd, model);
  const overrides =
    flags.fromJson === undefined
      ? undefined
      : provenanceOverridesFromJSON(
          readJsonInput(
            readSmallFile(resolve(io.cwd, flags.fromJson), MAX_INPUT_JSON_BYTES, 'JSON file'),
            flags.fromJson,
          ),
        );
  const { digest, manifest } = await digestModel(modelPath);
  return signAndStore(io, model, flags, digest, SLSA_PROVENANCE_V1, () =>
    buildProvenance({
      digest,
      subjectName: basename(modelPath),
      manifest,
      modelPath,
      env: io.env,
      runtime: {
        os: process.platform,
        arch: process.arch,
        node: process.versions.node,
        ...(flags.pythonVersion === undefined ? {} : { python: flags.pythonVersion }),
        ...(flags.accelerator === undefined ? {} : { accelerator: flags.accelerator }),
      },
      tool: { cairn: version },
      startedOn,
      finishedOn: new Date(),
      ...(flags.builderId === undefined ? {} : { builderId: flags.builderId }),
      ...(overrides === undefined ? {} : { overrides }),
    }),
  );
}

export async function attestTransformCommand(
  io: Io,
  model: string,
  flags: TransformFlags,
): Promise<number> {
  if (!isArtifactDigest(flags.from)) {
    throw new UsageError(
      'USAGE',
      `--from must be sha256:<64 hex>, got ${JSON.stringify(flags.from)}`,
    );
  }
  const params = readJsonInput(Buffer.from(flags.params ?? '{}', 'utf8'), '--params');
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new UsageError('USAGE', '--params must be a JSON object');
  }
  const modelPath = resolve(io.cwd, model);
  const { digest } = await digestModel(modelPath);
  const finishedOn = sourceDateEpoch(io.env) ?? new Date();
  return signAndStore(io, model, flags, digest, CAIRN_TRANSFORMATION_V1, () =>
    buildTransformation({
      digest,
      subjectName: basename(modelPath),
      parent: flags.from as ArtifactDigest,
      tool: flags.tool,
      ...(flags.toolVersion === undefined ? {} : { toolVersion: flags.toolVersion }),
      params: params as Record<string, JsonValue>,
      finishedOn,
    }),
  );
}

/** `URI@ALG:HEX` → a data snapshot reference; the URI may itself hold `@`. */
function datasetFlag(text: string): { uri: string; digest: Record<string, string> } {
  const at = text.lastIndexOf('@');
  const colon = text.indexOf(':', at);
  if (at <= 0 || colon === -1) {
    throw new UsageError('USAGE', `--dataset must be URI@ALG:HEX, got ${JSON.stringify(text)}`);
  }
  return { uri: text.slice(0, at), digest: { [text.slice(at + 1, colon)]: text.slice(colon + 1) } };
}

function keyValue(text: string, flag: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0)
    throw new UsageError('USAGE', `${flag} must be NAME=VALUE, got ${JSON.stringify(text)}`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

function number(text: string | undefined, what: string): number {
  const n = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isFinite(n)) {
    throw new UsageError('USAGE', `--metric ${what} must be a number, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** `metric=accuracy,value=0.91,dataset=URI,min=0.9` → an evaluation. */
function metricFlag(text: string): NonNullable<TrainingInput['evaluations']>[number] {
  const fields = new Map(text.split(',').map((part) => keyValue(part, '--metric')));
  const known = ['metric', 'value', 'dataset', 'dataset-digest', 'min', 'max'];
  const unknown = [...fields.keys()].filter((k) => !known.includes(k));
  const metric = fields.get('metric');
  const dataset = fields.get('dataset');
  if (
    unknown.length > 0 ||
    metric === undefined ||
    dataset === undefined ||
    (fields.has('min') && fields.has('max'))
  ) {
    throw new UsageError(
      'USAGE',
      `--metric must be metric=NAME,value=N,dataset=URI[,dataset-digest=ALG:HEX][,min=N|,max=N], got ${JSON.stringify(text)}`,
    );
  }
  const dd = fields.get('dataset-digest');
  const colon = dd?.indexOf(':') ?? -1;
  const bound = fields.has('min') ? 'min' : fields.has('max') ? 'max' : undefined;
  return {
    metric,
    value: number(fields.get('value'), 'value'),
    dataset: {
      uri: dataset,
      ...(dd === undefined
        ? {}
        : { digest: { [dd.slice(0, Math.max(colon, 0))]: dd.slice(colon + 1) } }),
    },
    ...(bound === undefined
      ? {}
      : {
          threshold: {
            value: number(fields.get(bound), bound),
            comparison: bound === 'min' ? ('>=' as const) : ('<=' as const),
          },
        }),
  };
}

export async function attestTrainingCommand(
  io: Io,
  model: string,
  flags: TrainingFlags,
): Promise<number> {
  const base: TrainingInput =
    flags.fromJson === undefined
      ? {}
      : trainingInputFromJSON(
          readJsonInput(
            readSmallFile(resolve(io.cwd, flags.fromJson), MAX_INPUT_JSON_BYTES, 'JSON file'),
            flags.fromJson,
          ),
        );
  const hyperparameters: Record<string, JsonValue> = { ...base.hyperparameters };
  for (const h of flags.hyperparameter ?? []) {
    const [name, text] = keyValue(h, '--hyperparameter');
    let value: JsonValue = text;
    try {
      value = JSON.parse(text) as JsonValue;
    } catch {
      // Not JSON: the text itself.
    }
    hyperparameters[name] = value;
  }
  const baseModels = (flags.baseModel ?? []).map((digest) => {
    if (!isArtifactDigest(digest)) {
      throw new UsageError(
        'USAGE',
        `--base-model must be sha256:<64 hex>, got ${JSON.stringify(digest)}`,
      );
    }
    return { digest };
  });
  const training: TrainingInput = {
    ...base,
    datasets: [...(base.datasets ?? []), ...(flags.dataset ?? []).map(datasetFlag)],
    baseModels: [...(base.baseModels ?? []), ...baseModels],
    preprocessing: [
      ...(base.preprocessing ?? []),
      ...(flags.preprocessing ?? []).map((name) => ({ name })),
    ],
    hyperparameters,
    evaluations: [...(base.evaluations ?? []), ...(flags.metric ?? []).map(metricFlag)],
    experimentRuns: [
      ...(base.experimentRuns ?? []),
      ...(flags.experimentRun ?? []).map((uri) => ({ uri })),
    ],
  };
  const modelPath = resolve(io.cwd, model);
  const { digest } = await digestModel(modelPath);
  return signAndStore(io, model, flags, digest, CAIRN_TRAINING_V1, () =>
    buildTraining({ digest, subjectName: basename(modelPath), training }),
  );
}

/** Largest model card read to digest it. */
const MAX_MODEL_CARD_BYTES = 16 * 1024 * 1024;

export async function attestLicenseCommand(
  io: Io,
  model: string,
  flags: LicenseFlags,
): Promise<number> {
  if (!isSpdxExpression(flags.license)) {
    throw new UsageError(
      'USAGE',
      `--license must be an SPDX license expression (e.g. Apache-2.0, MIT OR Apache-2.0), got ${JSON.stringify(flags.license)}`,
    );
  }
  const modelPath = resolve(io.cwd, model);
  let modelCard: { name: string; sha256: string } | undefined;
  if (flags.modelCard !== undefined) {
    const card = resolve(io.cwd, flags.modelCard);
    const bytes = readSmallFile(card, MAX_MODEL_CARD_BYTES, 'Model card');
    const inside = relative(modelPath, card);
    modelCard = {
      name:
        inside !== '' && !inside.startsWith('..') && !isAbsolute(inside)
          ? inside.split(sep).join('/')
          : basename(card),
      sha256: hashBytes('sha256', bytes).toString('hex'),
    };
  }
  const { digest } = await digestModel(modelPath);
  return signAndStore(io, model, flags, digest, CAIRN_LICENSE_V1, () =>
    buildLicense({
      digest,
      subjectName: basename(modelPath),
      license: flags.license,
      ...(modelCard === undefined ? {} : { modelCard }),
    }),
  );
}

export async function attestListCommand(
  io: Io,
  model: string,
  flags: AttestListFlags,
): Promise<number> {
  const verifier = bundleVerifierFrom(io, flags);
  const modelPath = resolve(io.cwd, model);
  const { digest } = await digestModel(modelPath);
  const { path, results } = verifyStoredAttestations(modelPath, verifier, digest);
  // Unknown predicate types are expected from other tools: listed, not a failure of the listing.
  const failed = results.filter((r) => !r.ok && r.error.code !== 'ATTESTATION_PREDICATE_UNKNOWN');
  if (flags.json) {
    printJson(io, {
      ok: failed.length === 0,
      digest,
      attestations: path,
      results: results.map(listedJson),
    });
  } else {
    say(
      io,
      `${results.length} attestation${results.length === 1 ? '' : 's'} in ${path} for ${digest}`,
    );
    for (const r of results) {
      say(
        io,
        r.ok
          ? `  line ${r.line}: VERIFIED ${r.attestation.predicateType} signed by ${signerText(r.attestation.signer)}${r.attestation.trustedSigner === undefined ? '' : ` (trust root signer ${r.attestation.trustedSigner.signerId})`}${proved(r.attestation)}`
          : `  line ${r.line}: REFUSED  [${r.error.code}] ${r.error.message}`,
      );
    }
    if (failed.length > 0) {
      note(io, `${failed.length} attestation${failed.length === 1 ? '' : 's'} did not verify`);
    }
  }
  return failed.length === 0 ? 0 : 1;
}

function proved(a: VerifiedAttestation): string {
  const p = a.predicate as Record<string, unknown>;
  if (a.predicateType === CAIRN_TRANSFORMATION_V1) {
    const materials = p['materials'] as { digest: string }[];
    const tool = p['tool'] as { name: string };
    return `: produced from ${materials.map((m) => m.digest).join(', ')} by ${tool.name}`;
  }
  if (a.predicateType === SLSA_PROVENANCE_V1) {
    const run = p['runDetails'] as { builder: { id: string } };
    return `: built by ${run.builder.id}`;
  }
  return '';
}

export { registerAttestCommands } from './attest-register.js';

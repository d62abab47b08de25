import { existsSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import type { ArtifactDigest } from '../digest/index.js';
import { UsageError, ValidationError, isCairnError } from '../errors/index.js';
import type { Manifest } from '../manifest/index.js';
import { readSmallFile } from '../model/index.js';
import {
  CAIRN_MODEL_BUILD_TYPE_V1,
  CAIRN_PREDICATE_BASE,
  SLSA_PROVENANCE_V1,
} from './predicates.js';
import { jsonValue, parseWith, serializeStatement, type JsonValue } from './statement.js';

// ── the predicate (SLSA Provenance v1) ──────────────────────────────────────────────────────

const jsonObject = z.record(z.string(), jsonValue);

const rfc3339 = z.iso.datetime({ offset: true });

const buildMetadata = z.strictObject({
  invocationId: z.string().optional(),
  startedOn: rfc3339.optional(),
  finishedOn: rfc3339.optional(),
});

const resourceDescriptor = z
  .strictObject({
    uri: z.string().min(1).optional(),
    digest: z.record(z.string().min(1), z.string().regex(/^[0-9a-fA-F]+$/)).optional(),
    name: z.string().optional(),
    downloadLocation: z.string().optional(),
    mediaType: z.string().optional(),
    content: z.string().optional(),
    annotations: jsonObject.optional(),
  })
  .refine((r) => r.uri !== undefined || r.digest !== undefined || r.content !== undefined, {
    message: 'a resource descriptor needs uri, digest or content',
  });

const provenanceSchema = z.strictObject({
  buildDefinition: z.strictObject({
    buildType: z.string().min(1),
    externalParameters: jsonObject,
    internalParameters: jsonObject.optional(),
    resolvedDependencies: z.array(resourceDescriptor).max(10_000).optional(),
  }),
  runDetails: z.strictObject({
    builder: z.strictObject({
      id: z.string().min(1),
      version: z.record(z.string(), z.string()).optional(),
      builderDependencies: z.array(resourceDescriptor).max(10_000).optional(),
    }),
    metadata: buildMetadata.optional(),
    byproducts: z.array(resourceDescriptor).max(10_000).optional(),
  }),
});

export type ResourceDescriptor = z.infer<typeof resourceDescriptor>;
export type ProvenancePredicate = z.infer<typeof provenanceSchema>;

/** Reads an SLSA Provenance v1 predicate from untrusted JSON, listing every bad field. */
export function provenanceFromJSON(input: unknown): ProvenancePredicate {
  return parseWith(provenanceSchema, input, 'The SLSA provenance predicate');
}

/** What `--from-json` may add or override: any part of the predicate. */
const overridesSchema = z.strictObject({
  buildType: z.string().min(1).optional(),
  externalParameters: jsonObject.optional(),
  internalParameters: jsonObject.optional(),
  resolvedDependencies: z.array(resourceDescriptor).max(10_000).optional(),
  builder: z
    .strictObject({
      id: z.string().min(1).optional(),
      version: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  metadata: buildMetadata.optional(),
  byproducts: z.array(resourceDescriptor).max(10_000).optional(),
});
export type ProvenanceOverrides = z.infer<typeof overridesSchema>;

export function provenanceOverridesFromJSON(input: unknown): ProvenanceOverrides {
  return parseWith(overridesSchema, input, 'The provenance JSON file');
}

// ── what the environment tells us ───────────────────────────────────────────────────────────

export type Environment = Readonly<Record<string, string | undefined>>;

export interface CiFacts {
  readonly system: 'github-actions' | 'gitlab-ci' | 'buildkite' | 'generic-ci';
  readonly builderId?: string;
  readonly invocationId?: string;
  readonly repository?: string;
  readonly commit?: string;
  readonly ref?: string;
}

const set = (v: string | undefined): v is string => v !== undefined && v !== '';

/** Builder and invocation from the environment variables of common CI systems. */
export function ciFromEnvironment(env: Environment): CiFacts | undefined {
  const e = (k: string): string | undefined => (set(env[k]) ? env[k] : undefined);
  const defined = <T extends Record<string, string | undefined>>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
      [K in keyof T]?: string;
    };
  if (e('GITHUB_ACTIONS') === 'true') {
    const server = e('GITHUB_SERVER_URL') ?? 'https://github.com';
    const repo = e('GITHUB_REPOSITORY');
    const workflow = e('GITHUB_WORKFLOW_REF');
    const run = e('GITHUB_RUN_ID');
    return {
      system: 'github-actions',
      ...defined({
        builderId: workflow === undefined ? undefined : `${server}/${workflow}`,
        invocationId:
          repo === undefined || run === undefined
            ? undefined
            : `${server}/${repo}/actions/runs/${run}/attempts/${e('GITHUB_RUN_ATTEMPT') ?? '1'}`,
        repository: repo === undefined ? undefined : `${server}/${repo}`,
        commit: e('GITHUB_SHA'),
        ref: e('GITHUB_REF'),
      }),
    };
  }
  if (e('GITLAB_CI') === 'true') {
    const project = e('CI_PROJECT_URL');
    const runner = e('CI_RUNNER_ID');
    return {
      system: 'gitlab-ci',
      ...defined({
        builderId:
          project === undefined ? undefined : `${project}/-/runners/${runner ?? 'unknown'}`,
        invocationId: e('CI_JOB_URL'),
        repository: project,
        commit: e('CI_COMMIT_SHA'),
        ref: e('CI_COMMIT_REF_NAME'),
      }),
    };
  }
  if (e('BUILDKITE') === 'true') {
    const org = e('BUILDKITE_ORGANIZATION_SLUG');
    const pipeline = e('BUILDKITE_PIPELINE_SLUG');
    return {
      system: 'buildkite',
      ...defined({
        builderId:
          org === undefined || pipeline === undefined
            ? undefined
            : `https://buildkite.com/${org}/${pipeline}`,
        invocationId: e('BUILDKITE_BUILD_URL'),
        repository: e('BUILDKITE_REPO'),
        commit: e('BUILDKITE_COMMIT'),
        ref: e('BUILDKITE_BRANCH'),
      }),
    };
  }
  if (e('CI') !== undefined && e('CI') !== 'false') {
    return {
      system: 'generic-ci',
      ...defined({ invocationId: e('BUILD_URL') ?? e('CI_JOB_ID') ?? e('BUILD_ID') }),
    };
  }
  return undefined;
}

/** `SOURCE_DATE_EPOCH` as a date, or undefined when unset; refused when not whole seconds. */
export function sourceDateEpoch(env: Environment): Date | undefined {
  const v = env['SOURCE_DATE_EPOCH'];
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,12}$/.test(v)) {
    throw new UsageError(
      'USAGE',
      `SOURCE_DATE_EPOCH must be whole seconds, got ${JSON.stringify(v)}`,
    );
  }
  return new Date(Number(v) * 1000);
}

export interface GitFacts {
  /** Remote `origin` URL with any credentials removed. */
  readonly repository?: string;
  readonly commit: string;
  readonly ref?: string;
}

const MAX_GIT_DEPTH = 64;
const MAX_GIT_FILE = 4 * 1024 * 1024;
const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * The commit (and origin URL) of the git work tree holding `path`, read from `.git` directly —
 * no `git` process, bounded reads — or undefined outside a repository or on anything unexpected.
 */
export function gitFacts(path: string): GitFacts | undefined {
  let dir = resolve(path);
  if (existsSync(dir) && !statSync(dir).isDirectory()) dir = dirname(dir);
  for (let i = 0; i < MAX_GIT_DEPTH; i += 1) {
    const dotGit = join(dir, '.git');
    if (existsSync(dotGit)) return readGit(dotGit);
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return undefined;
}

function readText(path: string): string | undefined {
  try {
    return readSmallFile(path, MAX_GIT_FILE, 'git file').toString('utf8');
  } catch (err) {
    if (isCairnError(err)) return undefined;
    throw err;
  }
}

function readGit(dotGit: string): GitFacts | undefined {
  let gitDir = dotGit;
  if (statSync(dotGit).isFile()) {
    // A worktree or submodule: `gitdir: <path>`.
    const m = /^gitdir: (.+)$/m.exec(readText(dotGit) ?? '');
    if (m === null) return undefined;
    gitDir = isAbsolute(m[1]!.trim()) ? m[1]!.trim() : resolve(dirname(dotGit), m[1]!.trim());
  }
  const common = readText(join(gitDir, 'commondir'))?.trim();
  const commonDir = common === undefined ? gitDir : resolve(gitDir, common);
  const head = readText(join(gitDir, 'HEAD'))?.trim();
  if (head === undefined) return undefined;
  let commit: string | undefined;
  let ref: string | undefined;
  if (head.startsWith('ref: ')) {
    ref = head.slice(5).trim();
    if (!/^refs\/[A-Za-z0-9._/-]+$/.test(ref) || ref.includes('..')) return undefined;
    commit =
      readText(join(gitDir, ref))?.trim() ??
      readText(join(commonDir, ref))?.trim() ??
      packedRef(readText(join(commonDir, 'packed-refs')), ref);
  } else {
    commit = head;
  }
  if (commit === undefined || !COMMIT.test(commit)) return undefined;
  const repository = originUrl(readText(join(commonDir, 'config')));
  return {
    commit,
    ...(ref === undefined ? {} : { ref }),
    ...(repository === undefined ? {} : { repository }),
  };
}

function packedRef(text: string | undefined, ref: string): string | undefined {
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) {
    const [hash, name] = line.trim().split(' ');
    if (name === ref && hash !== undefined) return hash;
  }
  return undefined;
}

function originUrl(config: string | undefined): string | undefined {
  if (config === undefined) return undefined;
  let inOrigin = false;
  for (const raw of config.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) inOrigin = /^\[remote\s+"origin"\]$/.test(line);
    else if (inOrigin) {
      const m = /^url\s*=\s*(.+)$/.exec(line);
      if (m !== null) return withoutCredentials(m[1]!.trim());
    }
  }
  return undefined;
}

/** `https://user:token@host/x` → `https://host/x`: credentials never go into a statement. */
export function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

// ── building it ─────────────────────────────────────────────────────────────────────────────

/** Dependency lock files recognised by name anywhere in the model. */
export const LOCK_FILE_NAMES: readonly string[] = [
  'requirements.txt',
  'requirements.lock',
  'constraints.txt',
  'poetry.lock',
  'Pipfile.lock',
  'uv.lock',
  'pdm.lock',
  'conda-lock.yml',
  'environment.yml',
  'package-lock.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'Cargo.lock',
  'go.sum',
];

export interface RuntimeFacts {
  readonly os: string;
  readonly arch: string;
  readonly node: string;
  /** The Python version the model was built with, when given. */
  readonly python?: string;
  /** The accelerator it was built on (e.g. `nvidia-h100`, `cuda-12.4`), when given. */
  readonly accelerator?: string;
}

export interface ProvenanceInput {
  readonly digest: ArtifactDigest;
  readonly subjectName: string;
  /** The hashed model: lock-file digests are taken from it, never read twice. */
  readonly manifest: Manifest;
  /** Where to look for git (the model path). */
  readonly modelPath: string;
  readonly env: Environment;
  readonly runtime: RuntimeFacts;
  /** The tool writing the statement, e.g. `{ cairn: '0.1.0' }`. */
  readonly tool: Readonly<Record<string, string>>;
  /** When the build started and finished; both replaced by `SOURCE_DATE_EPOCH` when set. */
  readonly startedOn: Date;
  readonly finishedOn: Date;
  readonly builderId?: string;
  readonly overrides?: ProvenanceOverrides;
}

export interface BuiltStatement<P> {
  readonly predicate: P;
  /** The in-toto statement bytes to sign. */
  readonly statement: Buffer;
}

/**
 * SLSA Provenance v1 for a model: source (git or CI variables), builder and invocation (CI
 * variables, then `builderId`), lock files and their digests, runtime, times; `overrides` last.
 */
export function buildProvenance(input: ProvenanceInput): BuiltStatement<ProvenancePredicate> {
  const ci = ciFromEnvironment(input.env);
  const git = gitFacts(input.modelPath);
  const epoch = sourceDateEpoch(input.env);
  const o = input.overrides ?? {};

  const repository = git?.repository ?? ci?.repository;
  const commit = git?.commit ?? ci?.commit;
  const ref = git?.ref ?? ci?.ref;
  const source: ResourceDescriptor[] =
    commit === undefined
      ? []
      : [
          {
            uri: repository === undefined ? 'git' : `git+${repository}`,
            digest: { gitCommit: commit },
            ...(ref === undefined ? {} : { annotations: { ref } }),
          },
        ];
  const locks: ResourceDescriptor[] = input.manifest.resources
    .filter((r) => r.shard === undefined && LOCK_FILE_NAMES.includes(basename(r.path)))
    .map((r) => ({ name: r.path, digest: { [r.algorithm]: r.digest.toString('hex') } }));

  const builderId =
    o.builder?.id ?? input.builderId ?? ci?.builderId ?? `${CAIRN_PREDICATE_BASE}builder/local`;
  const invocationId = o.metadata?.invocationId ?? ci?.invocationId;
  const startedOn = o.metadata?.startedOn ?? (epoch ?? input.startedOn).toISOString();
  const finishedOn = o.metadata?.finishedOn ?? (epoch ?? input.finishedOn).toISOString();

  const externalParameters: Record<string, JsonValue> = {
    model: input.subjectName,
    ...(repository === undefined && commit === undefined
      ? {}
      : {
          source: {
            ...(repository === undefined ? {} : { repository }),
            ...(ref === undefined ? {} : { ref }),
            ...(commit === undefined ? {} : { commit }),
          },
        }),
    ...o.externalParameters,
  };
  const internalParameters: Record<string, JsonValue> = {
    runtime: { ...input.runtime },
    ...(ci === undefined ? {} : { ci: ci.system }),
    ...o.internalParameters,
  };
  const predicate: ProvenancePredicate = {
    buildDefinition: {
      buildType: o.buildType ?? CAIRN_MODEL_BUILD_TYPE_V1,
      externalParameters,
      internalParameters,
      resolvedDependencies: [...source, ...locks, ...(o.resolvedDependencies ?? [])],
    },
    runDetails: {
      builder: { id: builderId, version: { ...input.tool, ...o.builder?.version } },
      metadata: {
        ...(invocationId === undefined ? {} : { invocationId }),
        startedOn,
        finishedOn,
      },
      ...(o.byproducts === undefined ? {} : { byproducts: o.byproducts }),
    },
  };
  // Never sign what we would refuse to read.
  const checked = provenanceFromJSON(predicate);
  if (Date.parse(startedOn) > Date.parse(finishedOn)) {
    throw new ValidationError(
      'ATTESTATION_PREDICATE_INVALID',
      `The build finished (${finishedOn}) before it started (${startedOn})`,
      {
        details: { issues: [{ path: '.runDetails.metadata', message: 'finishedOn < startedOn' }] },
      },
    );
  }
  return {
    predicate: checked,
    statement: serializeStatement({
      digest: input.digest,
      subjectName: input.subjectName,
      predicateType: SLSA_PROVENANCE_V1,
      predicate: checked as unknown as Record<string, JsonValue>,
    }),
  };
}

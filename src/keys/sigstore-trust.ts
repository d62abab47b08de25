import { createHash, X509Certificate } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { z } from 'zod';
import { InfraError } from '../errors/index.js';
import type * as Schemas from './sigstore-trust-schema.js';

let schemas: typeof Schemas | undefined;
/** The zod schemas, loaded on first parse (see sigstore-trust-schema.ts). */
function schema(): typeof Schemas {
  schemas ??= createRequire(import.meta.url)('./sigstore-trust-schema.js') as typeof Schemas;
  return schemas;
}

/** The Sigstore public-good TUF repository; the embedded snapshot is keyed by this URL. */
export const SIGSTORE_PUBLIC_GOOD_TUF_URL = 'https://tuf-repo-cdn.sigstore.dev';

const TRUSTED_ROOT_TARGET = 'trusted_root.json';

// seeds.json is ~30 KB and trusted_root.json ~10 KB today; the caps only stop a corrupted or
// hostile install from making us read or parse something huge.
const MAX_SEEDS_BYTES = 1024 * 1024;
const MAX_TRUSTED_ROOT_BYTES = 512 * 1024;
const MAX_PACKAGE_JSON_BYTES = 64 * 1024;

/**
 * A Sigstore TrustedRoot (protobuf-specs JSON form) whose shape, keys and certificates have been
 * checked. It says which Rekor logs, CT logs, Fulcio CAs and TSAs to trust, and when.
 */
export type SigstoreTrustedRoot = z.infer<typeof Schemas.trustedRootSchema>;

/**
 * Validates untrusted TrustedRoot JSON, collecting every bad field. A root that does not validate
 * cannot anchor anything, so the failure is TRUST_ROOT_UNAVAILABLE with each field in `details`.
 */
export function sigstoreTrustedRootFromJSON(input: unknown): SigstoreTrustedRoot {
  const parsed = schema().trustedRootSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
  throw new InfraError(
    'TRUST_ROOT_UNAVAILABLE',
    `The Sigstore trusted root is not valid: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
    { details: { issues } },
  );
}

export interface TrustedRootWindow {
  /** RFC 3339. */
  readonly start: string;
  /** RFC 3339; absent while the key or CA is still in use. */
  readonly end?: string;
}

export interface TrustedRootLogSummary extends TrustedRootWindow {
  readonly baseUrl: string;
  /** Base64 key ID, as bundles name the log (`tlogEntries[].logId.keyId`, SCT log IDs). */
  readonly logId: string;
  readonly keyDetails: string;
}

export interface TrustedRootAuthoritySummary extends TrustedRootWindow {
  readonly uri: string;
  readonly commonName?: string;
  /** Subject DN of each certificate, leaf or intermediate first, root last. */
  readonly chainSubjects: readonly string[];
}

export interface TrustedRootSummary {
  readonly mediaType: string;
  readonly tlogs: readonly TrustedRootLogSummary[];
  readonly ctlogs: readonly TrustedRootLogSummary[];
  readonly certificateAuthorities: readonly TrustedRootAuthoritySummary[];
  readonly timestampAuthorities: readonly TrustedRootAuthoritySummary[];
}

function windowOf(range: Schemas.TimeRangeJSON): TrustedRootWindow {
  return range.end === undefined ? { start: range.start } : { start: range.start, end: range.end };
}

/** What a trusted root trusts and for which period: for `--json` output and error details. */
export function summarizeSigstoreTrustedRoot(root: SigstoreTrustedRoot): TrustedRootSummary {
  const log = (l: z.infer<typeof Schemas.transparencyLog>): TrustedRootLogSummary => ({
    baseUrl: l.baseUrl,
    // Bundles and SCTs name a log by the ID the verifier matches on: the checkpoint key ID when
    // the root gives one (Rekor v2), the log ID otherwise.
    logId: (l.checkpointKeyId ?? l.logId).keyId,
    keyDetails: l.publicKey.keyDetails,
    ...windowOf(l.publicKey.validFor),
  });
  const authority = (
    ca: z.infer<typeof Schemas.certificateAuthority>,
  ): TrustedRootAuthoritySummary => ({
    uri: ca.uri,
    ...(ca.subject?.commonName === undefined ? {} : { commonName: ca.subject.commonName }),
    chainSubjects: ca.certChain.certificates.map(
      (c) => new X509Certificate(Buffer.from(c.rawBytes, 'base64')).subject,
    ),
    ...windowOf(ca.validFor),
  });
  return {
    mediaType: root.mediaType,
    tlogs: root.tlogs.map(log),
    ctlogs: root.ctlogs.map(log),
    certificateAuthorities: root.certificateAuthorities.map(authority),
    timestampAuthorities: (root.timestampAuthorities ?? []).map(authority),
  };
}

/** The public-good trusted root as shipped inside the installed `@sigstore/tuf` package. */
export interface EmbeddedSigstoreTrustedRoot {
  readonly trustedRoot: SigstoreTrustedRoot;
  readonly source: {
    readonly package: '@sigstore/tuf';
    readonly packageVersion: string;
    readonly file: string;
    readonly repository: typeof SIGSTORE_PUBLIC_GOOD_TUF_URL;
    readonly target: typeof TRUSTED_ROOT_TARGET;
  };
  /** Hex SHA-256 of the decoded trusted_root.json bytes, to say exactly which snapshot was used. */
  readonly sha256: string;
}

function readCapped(file: string, limit: number): Buffer {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const { size } = fstatSync(fd);
    if (size > limit) {
      throw new InfraError(
        'TRUST_ROOT_UNAVAILABLE',
        `${file} is ${size} bytes, more than the ${limit} expected; the @sigstore/tuf install looks corrupt`,
        { details: { file, size, limit } },
      );
    }
    // Read at most limit+1 bytes so a file that grows after stat still cannot exceed the cap.
    const buffer = Buffer.alloc(Math.min(size, limit) + 1);
    const bytesRead = readSync(fd, buffer, 0, buffer.length, 0);
    if (bytesRead > limit) {
      throw new InfraError(
        'TRUST_ROOT_UNAVAILABLE',
        `${file} grew past ${limit} bytes while read`,
        {
          details: { file, limit },
        },
      );
    }
    return buffer.subarray(0, bytesRead);
  } catch (err) {
    if (err instanceof InfraError) throw err;
    throw new InfraError(
      'TRUST_ROOT_UNAVAILABLE',
      `Cannot read ${file}; is @sigstore/tuf installed?`,
      { cause: err, details: { file } },
    );
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function parseJSON(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (err) {
    throw new InfraError('TRUST_ROOT_UNAVAILABLE', `${what} is not valid JSON`, { cause: err });
  }
}

/**
 * Loads the Sigstore public-good TrustedRoot embedded in the installed `@sigstore/tuf` package
 * (`seeds.json`, which seeds its TUF cache). No network. Synchronous: it is one ~30 KB file read
 * once at start-up, and callers such as the CLI's trust resolution are synchronous.
 *
 * Trust in these bytes rests on the integrity of the installed npm package (the lockfile hash),
 * not on TUF: seeds.json carries the TUF root metadata but not the signed targets metadata that
 * would let us check trusted_root.json's hash offline. It is also a snapshot: logs, CAs or
 * revocations published after that @sigstore/tuf release are not in it.
 */
export function loadEmbeddedSigstoreTrustedRoot(): EmbeddedSigstoreTrustedRoot {
  const require = createRequire(import.meta.url);
  let packageJsonPath: string;
  try {
    // @sigstore/tuf has no `exports` map, so its package.json and seeds.json resolve directly.
    packageJsonPath = require.resolve('@sigstore/tuf/package.json');
  } catch (err) {
    throw new InfraError('TRUST_ROOT_UNAVAILABLE', 'The @sigstore/tuf package is not installed', {
      cause: err,
    });
  }
  const packageDir = path.dirname(packageJsonPath);
  const packageJson = parseJSON(
    readCapped(packageJsonPath, MAX_PACKAGE_JSON_BYTES),
    packageJsonPath,
  );
  const version = schema().packageVersionSchema.safeParse(packageJson);

  const seedsFile = path.join(packageDir, 'seeds.json');
  const seeds = schema().seedsSchema.safeParse(
    parseJSON(readCapped(seedsFile, MAX_SEEDS_BYTES), seedsFile),
  );
  if (!seeds.success) {
    throw new InfraError(
      'TRUST_ROOT_UNAVAILABLE',
      `${seedsFile} does not have the shape of @sigstore/tuf seeds`,
      { details: { issues: seeds.error.issues.map((i) => i.path.map(String).join('.')) } },
    );
  }
  const encoded = seeds.data[SIGSTORE_PUBLIC_GOOD_TUF_URL]?.targets[TRUSTED_ROOT_TARGET];
  if (encoded === undefined) {
    throw new InfraError(
      'TRUST_ROOT_UNAVAILABLE',
      `${seedsFile} has no ${TRUSTED_ROOT_TARGET} for ${SIGSTORE_PUBLIC_GOOD_TUF_URL}`,
      { details: { file: seedsFile } },
    );
  }
  // base64 inflates by 4/3, so checking the encoded length bounds the decoded size before decoding.
  if (encoded.length > Math.ceil(MAX_TRUSTED_ROOT_BYTES / 3) * 4) {
    throw new InfraError(
      'TRUST_ROOT_UNAVAILABLE',
      `The embedded ${TRUSTED_ROOT_TARGET} is too large`,
    );
  }
  const bytes = Buffer.from(encoded, 'base64');
  const trustedRoot = sigstoreTrustedRootFromJSON(parseJSON(bytes, TRUSTED_ROOT_TARGET));
  return {
    trustedRoot,
    source: {
      package: '@sigstore/tuf',
      packageVersion: version.success ? version.data.version : 'unknown',
      file: seedsFile,
      repository: SIGSTORE_PUBLIC_GOOD_TUF_URL,
      target: TRUSTED_ROOT_TARGET,
    },
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

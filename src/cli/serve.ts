import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors/index.js';
import type { Signer } from '../keys/index.js';
import type { RegistryPolicies } from '../registry/index.js';
import type { ServerAuth } from '../server/index.js';
import type { BlobStore, MetadataStore } from '../store/index.js';
import { loadSigner } from './commands.js';
import { note, printJson, say, type Io } from './output.js';
import { loadPolicyDirectory } from './policy.js';
import { loadTrustRoot } from './trust.js';

import { DEFAULT_DATA_DIR, DEFAULT_HOST, DEFAULT_PORT } from './serve-register.js';

export { DEFAULT_DATA_DIR, DEFAULT_HOST, DEFAULT_PORT };

export interface ServeFlags {
  readonly dataDir?: string;
  readonly host?: string;
  readonly port?: string;
  readonly database?: string;
  readonly blobs?: string;
  readonly trustRoot?: string;
  readonly policy?: string;
  readonly signingKey?: string;
  readonly pkcs11Uri?: string;
  readonly passphraseFile?: string;
  readonly json?: boolean;
}

/** Where the metadata and blobs live, resolved from the flags. */
export interface ServeBackends {
  readonly metadata:
    | { readonly kind: 'sqlite'; readonly path: string }
    | { readonly kind: 'postgres'; readonly url: string };
  readonly blobs:
    | { readonly kind: 'filesystem'; readonly dir: string }
    | { readonly kind: 'oci'; readonly url: string };
}

/**
 * What `cairn serve` needs from the store and auth domains, wired by the CLI's main: open the
 * stores for the resolved backends, build the server's auth over the metadata store, and make
 * the bootstrap admin token (undefined when an admin already exists).
 */
export interface ServeDependencies {
  openMetadata(backend: ServeBackends['metadata']): Promise<MetadataStore>;
  openBlobs(backend: ServeBackends['blobs']): Promise<BlobStore>;
  auth(metadata: MetadataStore): Promise<ServerAuth>;
  bootstrapAdminToken(metadata: MetadataStore): Promise<string | undefined>;
}

export function resolveBackends(io: Io, flags: ServeFlags): ServeBackends {
  const dataDir = resolve(io.cwd, flags.dataDir ?? DEFAULT_DATA_DIR);
  if (flags.database !== undefined && !/^postgres(ql)?:\/\//.test(flags.database)) {
    throw new UsageError('USAGE', '--database takes a postgres://… URL');
  }
  if (flags.blobs !== undefined && !flags.blobs.startsWith('oci://')) {
    throw new UsageError('USAGE', '--blobs takes an oci://host/prefix URL');
  }
  return {
    metadata:
      flags.database === undefined
        ? { kind: 'sqlite', path: join(dataDir, 'cairn.sqlite') }
        : { kind: 'postgres', url: flags.database },
    blobs:
      flags.blobs === undefined
        ? { kind: 'filesystem', dir: dataDir }
        : { kind: 'oci', url: flags.blobs },
  };
}

function port(text: string | undefined): number {
  if (text === undefined) return DEFAULT_PORT;
  const n = Number(text);
  if (!/^[0-9]{1,5}$/.test(text) || n > 65535)
    throw new UsageError('USAGE', '--port takes 0–65535');
  return n;
}

/** Never print credentials that may sit in a database URL. */
function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * Starts the server and resolves when it has shut down (SIGINT/SIGTERM): stop accepting,
 * finish requests in flight, close the stores.
 */
export async function serveCommand(
  io: Io,
  flags: ServeFlags,
  deps: ServeDependencies,
): Promise<number> {
  const backends = resolveBackends(io, flags);
  const host = flags.host ?? DEFAULT_HOST;
  const listenPort = port(flags.port);
  const trustRoot = flags.trustRoot === undefined ? undefined : loadTrustRoot(io, flags.trustRoot);
  const policies: RegistryPolicies | undefined =
    flags.policy === undefined ? undefined : loadPolicyDirectory(io, flags.policy);
  let signer: Signer | undefined;
  if (flags.signingKey !== undefined || flags.pkcs11Uri !== undefined) {
    signer = loadSigner(io, {
      ...(flags.signingKey === undefined ? {} : { privateKey: flags.signingKey }),
      ...(flags.pkcs11Uri === undefined ? {} : { pkcs11Uri: flags.pkcs11Uri }),
      ...(flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile }),
      allowUnencryptedKey: false,
      ignoreGitPaths: true,
    });
  }
  if (backends.metadata.kind === 'sqlite')
    mkdirSync(join(backends.metadata.path, '..'), { recursive: true, mode: 0o700 });
  if (backends.blobs.kind === 'filesystem')
    mkdirSync(backends.blobs.dir, { recursive: true, mode: 0o700 });
  const metadata = await deps.openMetadata(backends.metadata);
  let blobs: BlobStore;
  try {
    await metadata.migrate();
    blobs = await deps.openBlobs(backends.blobs);
  } catch (err) {
    await metadata.close();
    throw err;
  }
  // Loaded here, not at CLI start: fastify and the registry are only needed by `serve`.
  const [{ Registry }, { buildServer }] = await Promise.all([
    import('../registry/index.js'),
    import('../server/index.js'),
  ]);
  const registry = new Registry({
    metadata,
    blobs,
    ...(trustRoot === undefined ? {} : { trust: { root: trustRoot } }),
    ...(policies === undefined ? {} : { policies }),
    ...(signer === undefined ? {} : { signer }),
  });
  const app = await buildServer({
    registry,
    auth: await deps.auth(metadata),
    // Logs go to stderr, so stdout stays the startup information (JSON with --json).
    logger: { level: io.env['CAIRN_LOG_LEVEL'] ?? 'info', stream: io.stderr },
    onClose: async () => {
      await Promise.allSettled([blobs.close(), metadata.close()]);
      if (signer !== undefined && 'close' in signer && typeof signer.close === 'function') {
        (signer.close as () => void)();
      }
    },
  });
  const token = await deps.bootstrapAdminToken(metadata);
  await app.listen({ host, port: listenPort });
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : listenPort;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  const info = {
    ok: true,
    url,
    metadata:
      backends.metadata.kind === 'sqlite'
        ? backends.metadata
        : { kind: 'postgres', url: redactUrl(backends.metadata.url) },
    blobs: backends.blobs,
    trustRoot: trustRoot === undefined ? null : { version: trustRoot.document.version },
    policies: policies === undefined ? 0 : policies.policies.length,
    signing: signer !== undefined,
    ...(token === undefined ? {} : { bootstrapAdminToken: token }),
  };
  if (flags.json === true) printJson(io, info);
  else {
    say(io, `Cairn registry listening on ${url}`);
    say(io, `  metadata: ${JSON.stringify(info.metadata)}  blobs: ${JSON.stringify(info.blobs)}`);
    if (token !== undefined) {
      say(io, '');
      say(io, 'Bootstrap admin token (shown once, stored only as a hash):');
      say(io, `  ${token}`);
      say(io, `Log in with:  echo "$TOKEN" | cairn login ${url}`);
    }
    if (trustRoot === undefined)
      note(io, 'note: no --trust-root: no signature verifies, so promotion denies');
    if (policies === undefined)
      note(io, 'note: no --policy: every promotion is denied (NO_POLICY)');
  }
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await app.close();
  return 0;
}

/** The real stores and auth, loaded on first use (the database drivers are not needed elsewhere). */
export const defaultServeDependencies: ServeDependencies = {
  async openMetadata(backend) {
    const store = await import('../store/index.js');
    switch (backend.kind) {
      case 'sqlite':
        return store.openSqliteStore({ path: backend.path });
      case 'postgres':
        return store.openPostgresStore({ url: backend.url });
    }
  },
  async openBlobs(backend) {
    const store = await import('../store/index.js');
    switch (backend.kind) {
      case 'filesystem':
        return store.openFilesystemBlobStore({ root: backend.dir });
      case 'oci':
        // Plain HTTP only to a loopback registry; anything else must speak TLS.
        return store.openOciBlobStore({ url: backend.url });
    }
  },
  async auth(metadata) {
    const { DEFAULT_ENVIRONMENTS } = await import('../registry/index.js');
    const { createServerAuth } = await import('../server/index.js');
    return createServerAuth({ store: metadata, environments: DEFAULT_ENVIRONMENTS });
  },
  async bootstrapAdminToken(metadata) {
    const { ensureBootstrapAdmin } = await import('../server/index.js');
    return (await ensureBootstrapAdmin(metadata, { at: new Date() }))?.token;
  },
};

export { registerServeCommand } from './serve-register.js';

import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { UsageError, VerificationError } from '../../src/errors/index.js';
import { globMatches } from '../../src/keys/index.js';
import { Registry } from '../../src/registry/index.js';
import { buildServer, type ServerAuth } from '../../src/server/index.js';
import type { Actor, MetadataStore, Role } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';
import { productionPolicy, testTrust, type TestTrust } from '../registry/fixtures.js';
import { openTestStores, type TestStores } from '../registry/stores.js';

/**
 * Bearer `t-<name>` is the identity {issuer: test, subject: <name>}; roles come from the
 * store's bindings. Stands in for src/server/auth in the route tests (which test routes, not
 * tokens: the auth helper's tests cover OIDC and API tokens).
 */
export function bindingAuth(metadata: MetadataStore): ServerAuth {
  return {
    authenticate(header) {
      const m = /^Bearer t-([a-z-]+)$/.exec(header ?? '');
      if (m === null) return Promise.reject(new UsageError('AUTH_REQUIRED', 'No valid token'));
      return Promise.resolve({ issuer: 'test', subject: m[1]! });
    },
    async authorize(actor, request) {
      const bindings = await metadata.listRoleBindings(actor);
      const ok = bindings.some(
        (b) =>
          // As the real auth: admin suffices for everything but break-glass.
          ((b.role === 'admin' && !request.roles.every((r) => r === 'break-glass')) ||
            request.roles.includes(b.role)) &&
          (request.repository === undefined
            ? b.repository === '**'
            : globMatches(b.repository, request.repository)) &&
          (request.environment === undefined ||
            b.environment === '*' ||
            b.environment === request.environment),
      );
      if (!ok) throw new VerificationError('ACCESS_DENIED', `${actor.subject} may not`);
    },
  };
}

export interface TestServer {
  readonly app: FastifyInstance;
  readonly registry: Registry;
  readonly stores: TestStores;
  readonly trust: TestTrust;
  /** The data directory: SQLite at cairn.sqlite, blobs under blobs/. */
  readonly dir: string;
  grant(subject: string, role: Role, repository?: string, environment?: string): Promise<void>;
}

export const actor = (subject: string): Actor => ({ issuer: 'test', subject });
export const bearer = (subject: string) => ({ authorization: `Bearer t-${subject}` });

export async function testServer(
  t: TestContext,
  options: { bodyLimit?: number; chunkLimit?: number } = {},
): Promise<TestServer> {
  const dir = tempDir(t);
  const stores = await openTestStores(t, dir);
  const trust = await testTrust();
  const registry = new Registry({
    metadata: stores.metadata,
    blobs: stores.blobs,
    trust: { root: trust.root },
    policies: productionPolicy(actor('deployer')),
    signer: trust.server,
  });
  const app = await buildServer({ registry, auth: bindingAuth(stores.metadata), ...options });
  t.after(() => app.close());
  const grant = (subject: string, role: Role, repository = '**', environment = '*') =>
    stores.metadata.grantRole({
      subject: actor(subject),
      role,
      repository,
      environment,
      grantedBy: actor('admin'),
      at: new Date(),
    });
  await grant('admin', 'admin');
  return { app, registry, stores, trust, dir, grant };
}

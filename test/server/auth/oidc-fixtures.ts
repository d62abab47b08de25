import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/**
 * A real OIDC issuer for tests: key pairs generated here, a JWKS served over HTTP on loopback
 * (node:http), and tokens signed with jose. The served key set, status and delay can change
 * between requests (rotation, outages, slow answers); `hits` counts fetches.
 */
export interface TestIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly keys: Readonly<Record<string, TestKey>>;
  /** JWKS fetches served so far. */
  readonly hits: () => number;
  /** Replaces what the JWKS endpoint answers. */
  serve(answer: JwksAnswer): void;
  sign(claims: Record<string, unknown>, options?: SignOptions): Promise<string>;
}

export interface TestKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export interface JwksAnswer {
  readonly keys?: readonly TestKey[];
  readonly status?: number;
  readonly delayMs?: number;
  /** Raw body instead of the key set. */
  readonly body?: string;
}

export interface SignOptions {
  /** Key to sign with (default `rs`). */
  readonly key?: string;
  /** Header overrides (kid, alg, typ). */
  readonly header?: Record<string, unknown>;
  /** Omit the default iss/aud/sub/iat/exp claims that are listed. */
  readonly omit?: readonly string[];
}

export const AUDIENCE = 'cairn';
const NOW = () => Math.floor(Date.now() / 1000);

export async function testKey(kid: string, alg: 'RS256' | 'ES256' | 'EdDSA' | 'ES384') {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export async function testIssuer(t: TestContext, path = '/jwks'): Promise<TestIssuer> {
  const keys: Record<string, TestKey> = {
    rs: await testKey('rs-1', 'RS256'),
    es: await testKey('es-1', 'ES256'),
    ed: await testKey('ed-1', 'EdDSA'),
    es384: await testKey('es384-1', 'ES384'),
  };
  let answer: JwksAnswer = { keys: Object.values(keys) };
  let hits = 0;
  const server: Server = createServer((req, res) => {
    if (req.url !== path) {
      res.writeHead(404).end();
      return;
    }
    hits++;
    const send = () => {
      const body =
        answer.body ?? JSON.stringify({ keys: (answer.keys ?? []).map((k) => k.publicJwk) });
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' }).end(body);
    };
    if (answer.delayMs === undefined) send();
    else setTimeout(send, answer.delayMs).unref();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  t.after(
    () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  );
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${base}/issuer`;
  return {
    issuer,
    jwksUri: `${base}${path}`,
    keys,
    hits: () => hits,
    serve(next) {
      answer = next;
    },
    async sign(claims, options = {}) {
      const key = keys[options.key ?? 'rs']!;
      const defaults: Record<string, unknown> = {
        iss: issuer,
        aud: AUDIENCE,
        sub: 'repo:team/model:ref:refs/heads/main',
        iat: NOW(),
        exp: NOW() + 300,
      };
      for (const name of options.omit ?? []) delete defaults[name];
      return new SignJWT({ ...defaults, ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header })
        .sign(key.privateKey);
    },
  };
}

/** base64url of a JSON value (hand-built tokens: `alg: none`, HMAC confusion). */
export function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

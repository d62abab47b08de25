import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { exportSPKI, SignJWT } from 'jose';
import { isCairnError } from '../../../src/errors/index.js';
import {
  createOidcVerifier,
  oidcConfigFromJSON,
  type OidcIssuerConfig,
  type OidcVerifier,
} from '../../../src/server/auth/index.js';
import { tempDir } from '../../helpers.js';
import { AUDIENCE, b64json, testIssuer, testKey, type TestIssuer } from './oidc-fixtures.js';

const now = () => Math.floor(Date.now() / 1000);

/** Asserts the CairnError code, and that nothing of the token leaks into the error. */
async function refused(
  promise: Promise<unknown>,
  code: string,
  token?: string,
): Promise<Record<string, unknown>> {
  let details: Record<string, unknown> = {};
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isCairnError(err), `not a CairnError: ${String(err)}`);
    assert.equal(err.code, code);
    if (token !== undefined) {
      const shown = JSON.stringify(err.toJSON()) + err.message + String(err.stack);
      for (const part of token.split('.').filter((p) => p.length > 8)) {
        assert.ok(!shown.includes(part), 'the error echoes part of the token');
      }
    }
    details = { ...err.details };
    return true;
  });
  return details;
}

async function setup(
  t: TestContext,
  overrides: Partial<OidcIssuerConfig> = {},
): Promise<{ idp: TestIssuer; verifier: OidcVerifier }> {
  const idp = await testIssuer(t);
  const verifier = createOidcVerifier({
    issuers: [{ issuer: idp.issuer, audience: AUDIENCE, jwksUri: idp.jwksUri, ...overrides }],
  });
  return { idp, verifier };
}

test('accepts RS256, ES256 and EdDSA tokens from a real JWKS and keeps only selected claims', async (t) => {
  const { idp, verifier } = await setup(t);
  for (const key of ['rs', 'es', 'ed']) {
    const token = await idp.sign(
      { repository: 'team/model', nonce: 'secret-nonce', at_hash: 'x', ref: 'refs/heads/main' },
      { key },
    );
    const identity = await verifier.verify(token);
    assert.equal(identity.method, 'oidc');
    assert.equal(identity.issuer, idp.issuer);
    assert.equal(identity.subject, 'repo:team/model:ref:refs/heads/main');
    assert.equal(identity.claims['repository'], 'team/model');
    assert.equal(identity.claims['aud'], AUDIENCE);
    assert.equal(identity.claims['nonce'], undefined);
    assert.equal(identity.claims['at_hash'], undefined);
    assert.ok(Math.abs(identity.expiresAt.getTime() / 1000 - (now() + 300)) < 5);
  }
  assert.equal(idp.hits(), 1, 'the JWKS is fetched once and cached');
});

test('Kubernetes service-account claims are flattened; several audiences are accepted', async (t) => {
  const { idp, verifier } = await setup(t, { audience: ['other', 'cairn'] });
  const token = await idp.sign({
    sub: 'system:serviceaccount:ml:deployer',
    aud: ['https://kubernetes.default.svc', 'cairn'],
    'kubernetes.io': {
      namespace: 'ml',
      serviceaccount: { name: 'deployer', uid: 'u-1' },
      pod: { name: 'p', uid: 'u-2' },
    },
  });
  const identity = await verifier.verify(token);
  assert.equal(identity.subject, 'system:serviceaccount:ml:deployer');
  assert.equal(identity.claims['kubernetes.io/namespace'], 'ml');
  assert.equal(identity.claims['kubernetes.io/serviceaccount/name'], 'deployer');
  assert.deepEqual(identity.claims['aud'], ['https://kubernetes.default.svc', 'cairn']);
});

test('expired tokens are refused; the clock tolerance is honoured', async (t) => {
  const { idp, verifier } = await setup(t, { clockToleranceSeconds: 10 });
  const expired = await idp.sign({ iat: now() - 600, exp: now() - 60 });
  await refused(verifier.verify(expired), 'AUTH_TOKEN_EXPIRED', expired);
  const justExpired = await idp.sign({ exp: now() - 5 });
  assert.equal((await verifier.verify(justExpired)).subject.length > 0, true);
  // The reference time is the caller's.
  const fresh = await idp.sign({});
  await refused(verifier.verify(fresh, new Date(Date.now() + 3600_000)), 'AUTH_TOKEN_EXPIRED');
});

test('not-yet-valid (nbf, future iat with a max age) and too-old tokens are refused', async (t) => {
  const { idp, verifier } = await setup(t, { clockToleranceSeconds: 0, maxTokenAgeSeconds: 600 });
  const early = await idp.sign({ nbf: now() + 120 });
  await refused(verifier.verify(early), 'AUTH_TOKEN_NOT_YET_VALID', early);
  const futureIat = await idp.sign({ iat: now() + 120 });
  await refused(verifier.verify(futureIat), 'AUTH_TOKEN_NOT_YET_VALID');
  const old = await idp.sign({ iat: now() - 3600, exp: now() + 300 });
  assert.equal((await refused(verifier.verify(old), 'AUTH_TOKEN_EXPIRED'))['claim'], 'iat');
  const noIat = await idp.sign({}, { omit: ['iat'] });
  await refused(verifier.verify(noIat), 'AUTH_CLAIMS_INVALID');
});

test('alg none is refused, whatever its spelling, before any key is fetched', async (t) => {
  const { idp, verifier } = await setup(t);
  const payload = b64json({ iss: idp.issuer, aud: AUDIENCE, sub: 'x', exp: now() + 300 });
  for (const alg of ['none', 'None', 'NONE']) {
    const token = `${b64json({ alg, typ: 'JWT' })}.${payload}.`;
    const d = await refused(verifier.verify(token), 'AUTH_ALGORITHM_REFUSED', token);
    assert.equal(d['reason'], 'unsigned');
  }
  const noAlg = `${b64json({ typ: 'JWT' })}.${payload}.`;
  await refused(verifier.verify(noAlg), 'AUTH_ALGORITHM_REFUSED');
  assert.equal(idp.hits(), 0);
});

test('HS256 signed with the public key (algorithm confusion) is refused', async (t) => {
  const { idp, verifier } = await setup(t);
  const header = b64json({ alg: 'HS256', kid: 'rs-1', typ: 'JWT' });
  const payload = b64json({ iss: idp.issuer, aud: AUDIENCE, sub: 'x', exp: now() + 300 });
  const pem = await exportSPKI(
    (await import('node:crypto')).createPublicKey({
      key: idp.keys['rs']!.publicJwk as never,
      format: 'jwk',
    }),
  );
  for (const secret of [pem, JSON.stringify(idp.keys['rs']!.publicJwk)]) {
    const sig = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
    const token = `${header}.${payload}.${sig}`;
    const d = await refused(verifier.verify(token), 'AUTH_ALGORITHM_REFUSED', token);
    assert.equal(d['reason'], 'hmac');
  }
  // A config that asks for HMAC is itself refused.
  assert.throws(
    () =>
      createOidcVerifier({
        issuers: [
          {
            issuer: idp.issuer,
            audience: AUDIENCE,
            jwksUri: idp.jwksUri,
            algorithms: ['HS256' as never],
          },
        ],
      }),
    (e: unknown) => isCairnError(e) && e.code === 'OIDC_CONFIG_INVALID',
  );
});

test('an asymmetric algorithm outside the allow-list is refused', async (t) => {
  const { idp, verifier } = await setup(t);
  const token = await idp.sign({}, { key: 'es384' });
  const d = await refused(verifier.verify(token), 'AUTH_ALGORITHM_REFUSED', token);
  assert.equal(d['reason'], 'not-allowed');
  // Narrowing the list per issuer: only ES256.
  const strict = createOidcVerifier({
    issuers: [
      { issuer: idp.issuer, audience: AUDIENCE, jwksUri: idp.jwksUri, algorithms: ['ES256'] },
    ],
  });
  await refused(strict.verify(await idp.sign({})), 'AUTH_ALGORITHM_REFUSED');
  assert.ok((await strict.verify(await idp.sign({}, { key: 'es' }))).subject);
});

test('wrong issuer, wrong or missing audience, missing sub or exp each have their code', async (t) => {
  const { idp, verifier } = await setup(t);
  const wrongIss = await idp.sign({ iss: 'https://evil.example' });
  const d = await refused(verifier.verify(wrongIss), 'AUTH_ISSUER_UNKNOWN', wrongIss);
  assert.deepEqual(d['trusted'], [idp.issuer]);
  // An issuer matches exactly: a trailing slash is another issuer.
  await refused(verifier.verify(await idp.sign({ iss: `${idp.issuer}/` })), 'AUTH_ISSUER_UNKNOWN');
  await refused(verifier.verify(await idp.sign({ iss: 42 })), 'AUTH_ISSUER_UNKNOWN');
  const wrongAud = await idp.sign({ aud: 'someone-else' });
  await refused(verifier.verify(wrongAud), 'AUTH_AUDIENCE_MISMATCH', wrongAud);
  await refused(verifier.verify(await idp.sign({}, { omit: ['aud'] })), 'AUTH_AUDIENCE_MISMATCH');
  const noSub = await idp.sign({}, { omit: ['sub'] });
  assert.equal(
    (await refused(verifier.verify(noSub), 'AUTH_CLAIMS_INVALID', noSub))['claim'],
    'sub',
  );
  await refused(verifier.verify(await idp.sign({ sub: '' })), 'AUTH_CLAIMS_INVALID');
  await refused(verifier.verify(await idp.sign({ sub: 7 })), 'AUTH_CLAIMS_INVALID');
  const noExp = await idp.sign({}, { omit: ['exp'] });
  assert.equal((await refused(verifier.verify(noExp), 'AUTH_CLAIMS_INVALID'))['claim'], 'exp');
});

test('forged signatures are refused: tampered payload, and a foreign key under a known kid', async (t) => {
  const { idp, verifier } = await setup(t);
  const good = await idp.sign({});
  const [h, , s] = good.split('.');
  const forgedPayload = b64json({ iss: idp.issuer, aud: AUDIENCE, sub: 'admin', exp: now() + 300 });
  const tampered = `${h}.${forgedPayload}.${s}`;
  await refused(verifier.verify(tampered), 'AUTH_SIGNATURE_INVALID', tampered);
  const attacker = await testKey('rs-1', 'RS256');
  const foreign = await new SignJWT({ iss: idp.issuer, aud: AUDIENCE, sub: 'x', exp: now() + 60 })
    .setProtectedHeader({ alg: 'RS256', kid: 'rs-1' })
    .sign(attacker.privateKey);
  await refused(verifier.verify(foreign), 'AUTH_SIGNATURE_INVALID', foreign);
  // A truncated signature is a bad signature too.
  await refused(verifier.verify(good.slice(0, -10)), 'AUTH_SIGNATURE_INVALID');
});

test('an unknown kid is refused; a refetch finds a rotated key, within the cooldown', async (t) => {
  const { idp, verifier } = await setup(t, { jwksCooldownMs: 0 });
  assert.ok((await verifier.verify(await idp.sign({}))).subject);
  assert.equal(idp.hits(), 1);
  const stranger = await testKey('unknown-kid', 'RS256');
  const token = await new SignJWT({ iss: idp.issuer, aud: AUDIENCE, sub: 'x', exp: now() + 60 })
    .setProtectedHeader({ alg: 'RS256', kid: 'unknown-kid' })
    .sign(stranger.privateKey);
  await refused(verifier.verify(token), 'AUTH_KEY_UNKNOWN', token);
  assert.equal(idp.hits(), 2, 'an unknown kid triggers one refetch');
  // Rotation: the issuer publishes the new key; the next token verifies after a refetch.
  idp.serve({ keys: [...Object.values(idp.keys), stranger] });
  assert.ok((await verifier.verify(token)).subject);

  // With the default cooldown, unknown kids do not hammer the issuer.
  const cooled = await setup(t);
  assert.ok((await cooled.verifier.verify(await cooled.idp.sign({}))).subject);
  const unknownThere = await new SignJWT({
    iss: cooled.idp.issuer,
    aud: AUDIENCE,
    sub: 'x',
    exp: now() + 60,
  })
    .setProtectedHeader({ alg: 'RS256', kid: 'unknown-kid' })
    .sign(stranger.privateKey);
  for (let i = 0; i < 5; i++) {
    await refused(cooled.verifier.verify(unknownThere), 'AUTH_KEY_UNKNOWN');
  }
  assert.equal(cooled.idp.hits(), 1);
});

test('a token without kid is tried against each candidate key', async (t) => {
  const { idp, verifier } = await setup(t);
  const second = await testKey('rs-2', 'RS256');
  idp.serve({ keys: [idp.keys['rs']!, second] });
  const token = await new SignJWT({
    iss: idp.issuer,
    aud: AUDIENCE,
    sub: 'no-kid',
    exp: now() + 60,
  })
    .setProtectedHeader({ alg: 'RS256' })
    .sign(second.privateKey);
  assert.equal((await verifier.verify(token)).subject, 'no-kid');
  const stranger = await testKey('x', 'RS256');
  const forged = await new SignJWT({ iss: idp.issuer, aud: AUDIENCE, sub: 'x', exp: now() + 60 })
    .setProtectedHeader({ alg: 'RS256' })
    .sign(stranger.privateKey);
  await refused(verifier.verify(forged), 'AUTH_SIGNATURE_INVALID');
});

test('oversized tokens are refused before parsing; malformed tokens have their own code', async (t) => {
  const { idp, verifier } = await setup(t);
  const huge = await idp.sign({ pad: 'x'.repeat(20_000) });
  await refused(verifier.verify(huge), 'AUTH_TOKEN_TOO_LARGE', huge);
  await refused(verifier.verify('é'.repeat(9000)), 'AUTH_TOKEN_TOO_LARGE');
  for (const bad of [
    '',
    'abc',
    'a.b',
    'a.b.c.d.e',
    'a.b.c',
    '!!.??.**',
    `${b64json(['RS256'])}.${b64json({})}.x`,
    `${b64json({ alg: 'RS256' })}.${Buffer.from('not json').toString('base64url')}.x`,
  ]) {
    await refused(verifier.verify(bad), 'AUTH_TOKEN_MALFORMED');
  }
  assert.equal(idp.hits(), 0, 'nothing was fetched for tokens refused up front');
});

test('an unreachable, failing, slow or oversized JWKS fails closed as AUTH_JWKS_UNAVAILABLE', async (t) => {
  const { idp, verifier } = await setup(t, { jwksTimeoutMs: 200, jwksCooldownMs: 0 });
  const token = await idp.sign({});
  idp.serve({ status: 500, body: 'oops' });
  await refused(verifier.verify(token), 'AUTH_JWKS_UNAVAILABLE', token);
  idp.serve({ body: 'not json' });
  await refused(verifier.verify(token), 'AUTH_JWKS_UNAVAILABLE');
  idp.serve({ body: JSON.stringify({ keys: 'nope' }) });
  await refused(verifier.verify(token), 'AUTH_JWKS_UNAVAILABLE');
  idp.serve({ body: JSON.stringify({ keys: [], pad: 'x'.repeat(300 * 1024) }) });
  await refused(verifier.verify(token), 'AUTH_JWKS_UNAVAILABLE');
  idp.serve({ keys: Object.values(idp.keys), delayMs: 2000 });
  const started = Date.now();
  await refused(verifier.verify(token), 'AUTH_JWKS_UNAVAILABLE');
  assert.ok(Date.now() - started < 1500, 'the fetch timed out');
  const closed = createOidcVerifier({
    issuers: [{ issuer: idp.issuer, audience: AUDIENCE, jwksUri: 'http://127.0.0.1:1/jwks' }],
  });
  await refused(closed.verify(token), 'AUTH_JWKS_UNAVAILABLE');
});

test('inline and file JWKS work without any network', async (t) => {
  const { idp } = await setup(t);
  const jwks = { keys: [idp.keys['es']!.publicJwk] };
  const file = join(tempDir(t), 'jwks.json');
  writeFileSync(file, JSON.stringify(jwks));
  for (const source of [{ jwks }, { jwksFile: file }]) {
    const verifier = createOidcVerifier({
      issuers: [{ issuer: idp.issuer, audience: AUDIENCE, ...source }],
    });
    assert.ok((await verifier.verify(await idp.sign({}, { key: 'es' }))).subject);
    await refused(verifier.verify(await idp.sign({})), 'AUTH_KEY_UNKNOWN');
  }
  assert.equal(idp.hits(), 0);
});

test('the configuration is checked up front and every bad field is listed', () => {
  const bad = {
    issuers: [
      {
        issuer: 'http://idp.example',
        audience: [],
        jwksUri: 'http://idp.example/jwks',
        algorithms: ['HS256', 'none'],
        clockToleranceSeconds: 61,
      },
      {
        issuer: 'https://a.example',
        audience: 'cairn',
        jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] },
        jwksUri: 'https://a.example/jwks',
      },
      {
        issuer: 'https://b.example',
        audience: 'cairn',
        jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'private' }] },
      },
      { issuer: 'https://b.example', audience: 'cairn', jwksUri: 'https://b.example/jwks' },
    ],
    extra: true,
  };
  assert.throws(
    () => oidcConfigFromJSON(bad),
    (e: unknown) => {
      assert.ok(isCairnError(e));
      assert.equal(e.code, 'OIDC_CONFIG_INVALID');
      const paths = (e.details?.['issues'] as { path: string }[]).map((i) => i.path);
      for (const p of [
        'issuers.0.issuer',
        'issuers.0.audience',
        'issuers.0.jwksUri',
        'issuers.0.algorithms.0',
        'issuers.0.algorithms.1',
        'issuers.0.clockToleranceSeconds',
        'issuers.1.jwks.keys.0.kty',
        'issuers.2.jwks.keys.0.d',
        '',
      ]) {
        assert.ok(paths.includes(p), `missing ${p} in ${paths.join(', ')}`);
      }
      return true;
    },
  );
  assert.throws(
    () => oidcConfigFromJSON({ issuers: [{ issuer: 'https://x', audience: 'c' }] }),
    (e: unknown) => isCairnError(e) && e.code === 'OIDC_CONFIG_INVALID',
  );
  assert.throws(
    () =>
      createOidcVerifier({
        issuers: [{ issuer: 'https://x', audience: 'c', jwksFile: '/nonexistent/jwks.json' }],
      }),
    (e: unknown) => isCairnError(e) && e.code === 'OIDC_CONFIG_INVALID',
  );
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isCairnError, type CairnError } from '../../src/errors/index.js';
import {
  loadEmbeddedSigstoreTrustedRoot,
  sigstoreTrustedRootFromJSON,
  summarizeSigstoreTrustedRoot,
  SIGSTORE_PUBLIC_GOOD_TUF_URL,
  type SigstoreTrustedRoot,
} from '../../src/keys/sigstore-trust.js';

const REKOR_V1_LOG_ID = 'wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=';
const CT_2022_LOG_ID = '3T0wasbHETJjGR4cmWc3AqJKXrjePK3/h4pygC8p7o4=';

function assertTrustRootUnavailable(fn: () => unknown): CairnError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  if (!isCairnError(caught)) return assert.fail(`expected a CairnError, got ${String(caught)}`);
  assert.equal(caught.code, 'TRUST_ROOT_UNAVAILABLE');
  assert.equal(caught.kind, 'infra');
  return caught;
}

function issuePaths(err: CairnError): string[] {
  const issues = err.details?.issues;
  assert.ok(Array.isArray(issues));
  return issues.map((i: { path: string }) => i.path);
}

void describe('embedded Sigstore public-good trusted root', () => {
  void it('loads from the installed @sigstore/tuf without the network', () => {
    const embedded = loadEmbeddedSigstoreTrustedRoot();
    const require = createRequire(import.meta.url);
    const installed = JSON.parse(
      readFileSync(require.resolve('@sigstore/tuf/package.json'), 'utf8'),
    ) as { version: string };
    assert.equal(embedded.source.package, '@sigstore/tuf');
    assert.equal(embedded.source.packageVersion, installed.version);
    assert.equal(embedded.source.repository, SIGSTORE_PUBLIC_GOOD_TUF_URL);
    assert.match(embedded.sha256, /^[0-9a-f]{64}$/);

    const summary = summarizeSigstoreTrustedRoot(embedded.trustedRoot);
    // The material the upstream keyless vectors (2025) need: Rekor v1, CT log 2022, the Fulcio
    // intermediate chain from 2022-04 on, and the sigstore TSA from 2025-07.
    const rekor = summary.tlogs.find((l) => l.logId === REKOR_V1_LOG_ID);
    assert.equal(rekor?.baseUrl, 'https://rekor.sigstore.dev');
    assert.equal(rekor.end, undefined);
    assert.ok(summary.ctlogs.some((l) => l.logId === CT_2022_LOG_ID && l.end === undefined));
    assert.ok(
      summary.certificateAuthorities.some(
        (ca) => ca.uri === 'https://fulcio.sigstore.dev' && ca.chainSubjects.length === 2,
      ),
    );
    assert.ok(summary.timestampAuthorities.length >= 1);
  });
});

void describe('sigstoreTrustedRootFromJSON', () => {
  function embeddedCopy(): SigstoreTrustedRoot {
    const { trustedRoot } = loadEmbeddedSigstoreTrustedRoot();
    return structuredClone(trustedRoot);
  }

  void it('accepts the embedded root unchanged', () => {
    const root = embeddedCopy();
    assert.deepEqual(sigstoreTrustedRootFromJSON(root), root);
  });

  void it('refuses non-objects', () => {
    for (const input of [null, 42, 'root', [], undefined]) {
      assertTrustRootUnavailable(() => sigstoreTrustedRootFromJSON(input));
    }
  });

  void it('lists every bad field, not just the first', () => {
    const root = embeddedCopy();
    root.tlogs[0]!.publicKey.rawBytes = 'not base64!';
    root.certificateAuthorities = [];
    (root as { mediaType: string }).mediaType = 'application/json';
    const err = assertTrustRootUnavailable(() => sigstoreTrustedRootFromJSON(root));
    const paths = issuePaths(err);
    assert.ok(paths.includes('tlogs.0.publicKey.rawBytes'), paths.join());
    assert.ok(paths.includes('certificateAuthorities'), paths.join());
    assert.ok(paths.includes('mediaType'), paths.join());
  });

  void it('refuses keys and certificates that do not parse, short log IDs and inverted windows', () => {
    const root = embeddedCopy();
    const { tlogs, certificateAuthorities: cas } = root;
    tlogs[0]!.publicKey.rawBytes = Buffer.from('not a key').toString('base64');
    tlogs[0]!.publicKey.validFor.end = '2020-01-01T00:00:00Z';
    tlogs[1]!.logId.keyId = Buffer.alloc(4).toString('base64');
    cas[1]!.certChain.certificates[0]!.rawBytes = Buffer.from('not a cert').toString('base64');
    const paths = issuePaths(assertTrustRootUnavailable(() => sigstoreTrustedRootFromJSON(root)));
    assert.deepEqual(
      new Set(paths),
      new Set([
        'tlogs.0.publicKey.rawBytes',
        'tlogs.0.publicKey.validFor.end',
        'tlogs.1.logId.keyId',
        'certificateAuthorities.1.certChain.certificates.0.rawBytes',
      ]),
    );
  });

  void it('never throws anything but TRUST_ROOT_UNAVAILABLE on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (input) => {
        assertTrustRootUnavailable(() => sigstoreTrustedRootFromJSON(input));
      }),
      { numRuns: 200 },
    );
  });
});

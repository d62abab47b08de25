import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CAIRN_LICENSE_V1,
  CAIRN_TRAINING_V1,
  SLSA_PROVENANCE_V1,
  SLSA_VERIFICATION_SUMMARY_V1,
  buildLicense,
  buildTraining,
  buildVerificationSummary,
  isSpdxExpression,
  licenseFromJSON,
  signAttestation,
  trainingFromJSON,
  verificationSummaryFromJSON,
  verifierForTrustRoot,
  verifyAttestation,
} from '../../src/attest/index.js';
import type { ArtifactDigest } from '../../src/digest/index.js';
import { isCairnError } from '../../src/errors/index.js';
import { initialTrustRoot } from '../../src/keys/index.js';
import { grant, keyPair, sealed } from './fixtures.js';

const digest: ArtifactDigest = `sha256:${'1'.repeat(64)}`;
const hex = 'ab'.repeat(32);

function invalid(fn: () => unknown, paths: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isCairnError(err), String(err));
    assert.equal(err.code, 'ATTESTATION_PREDICATE_INVALID');
    const issues = (err.details?.['issues'] ?? []) as { path: string }[];
    for (const p of paths) {
      assert.ok(
        issues.some((i) => i.path === p),
        `${p} in ${JSON.stringify(issues)}`,
      );
    }
    return true;
  });
}

test('training lineage: data, preprocessing, hyperparameters, evaluations with thresholds, runs', async () => {
  const built = buildTraining({
    digest,
    subjectName: 'model',
    training: {
      datasets: [{ uri: 's3://data/train', digest: { sha256: hex }, split: 'train' }],
      preprocessing: [{ name: 'dedupe', params: { minhash: 0.8 } }],
      hyperparameters: { lr: 0.001, epochs: 3 },
      evaluations: [
        {
          metric: 'accuracy',
          value: 0.91,
          dataset: { uri: 's3://data/eval', digest: { sha256: hex } },
          threshold: { value: 0.9, comparison: '>=' },
        },
        {
          metric: 'toxicity',
          value: 0.2,
          dataset: { uri: 's3://data/tox' },
          threshold: { value: 0.1, comparison: '<=' },
        },
        { metric: 'perplexity', value: 7.5, dataset: { uri: 's3://data/eval' } },
      ],
      experimentRuns: [{ uri: 'https://mlflow.example/runs/42', system: 'mlflow' }],
    },
  });
  assert.deepEqual(
    built.predicate.evaluations?.map((e) => e.passed),
    [true, false, undefined],
  );
  const k = keyPair();
  const verified = verifyAttestation(
    await signAttestation(built.statement, k.signer),
    { kind: 'key', publicKey: k.publicKey },
    digest,
  );
  assert.equal(verified.predicateType, CAIRN_TRAINING_V1);

  // A producer cannot claim a pass its numbers do not show, nor a pass without a threshold.
  const lying = JSON.parse(JSON.stringify(built.predicate)) as {
    evaluations: { passed?: boolean }[];
  };
  lying.evaluations[1]!.passed = true;
  lying.evaluations[2]!.passed = true;
  invalid(() => trainingFromJSON(lying), ['.evaluations[1].passed', '.evaluations[2].passed']);
  // Every bad field is listed: a snapshot without a digest, an unknown field, a bad hex.
  invalid(
    () =>
      trainingFromJSON({
        datasets: [{ uri: 's3://x' }, { uri: 's3://y', digest: { sha256: 'XYZ' } }],
        hyperparameters: {},
        extra: 1,
      }),
    ['.datasets[0].digest', '.datasets[1].digest.sha256', ''],
  );
});

test('SPDX expressions: ids, LicenseRef, AND/OR/WITH and parentheses; anything else refused', () => {
  for (const ok of [
    'Apache-2.0',
    'MIT OR Apache-2.0',
    '(MIT AND BSD-3-Clause) OR GPL-2.0+',
    'GPL-2.0-only WITH Classpath-exception-2.0',
    'LicenseRef-acme-model',
    'DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2',
  ]) {
    assert.ok(isSpdxExpression(ok), ok);
  }
  for (const bad of [
    '',
    'MIT OR',
    'AND MIT',
    '(MIT',
    'MIT)',
    'MIT WITH',
    'Apache 2.0',
    'MIT;rm',
    '((((((((((((((((((MIT))))))))))))))))))',
  ]) {
    assert.ok(!isSpdxExpression(bad), bad);
  }
  const built = buildLicense({
    digest,
    subjectName: 'model',
    license: 'Apache-2.0',
    modelCard: { name: 'README.md', sha256: hex },
  });
  assert.deepEqual(built.predicate, {
    license: 'Apache-2.0',
    modelCard: { name: 'README.md', digest: { sha256: hex } },
  });
  invalid(() => licenseFromJSON({ license: 'not a licence', url: 'x' }), ['.license', '']);
});

test('SLSA verification summary: built from a decision, read back, strict about its fields', async () => {
  const input = {
    digest,
    subjectName: 'team/model',
    verifier: { id: 'https://cairn.dev/registry/v1', version: { cairn: '0.1.0' } },
    timeVerified: new Date('2030-01-02T03:04:05Z'),
    resourceUri: `cairn:team/model@${digest}`,
    policy: { uri: 'cairn:policy/prod', digest: { sha256: hex } },
    inputAttestations: [{ uri: `cairn:bundle/sha256:${hex}`, digest: { sha256: hex } }],
    verificationResult: 'PASSED' as const,
    verifiedLevels: ['SLSA_BUILD_LEVEL_2'],
    cairn: { action: 'promote', from: 'staging', to: 'production' },
  };
  const built = buildVerificationSummary(input);
  const statement = JSON.parse(built.statement.toString()) as {
    predicateType: string;
    predicate: Record<string, unknown>;
  };
  assert.equal(statement.predicateType, SLSA_VERIFICATION_SUMMARY_V1);
  assert.equal(statement.predicate['timeVerified'], '2030-01-02T03:04:05.000Z');
  assert.deepEqual(verificationSummaryFromJSON(statement.predicate), built.predicate);
  const k = keyPair();
  const verified = verifyAttestation(
    await signAttestation(built.statement, k.signer),
    { kind: 'key', publicKey: k.publicKey },
    digest,
  );
  assert.equal(verified.predicateType, SLSA_VERIFICATION_SUMMARY_V1);

  // FAILED verifies no level; builder fills ["FAILED"].
  const failed = buildVerificationSummary({
    ...input,
    verificationResult: 'FAILED',
    verifiedLevels: undefined as unknown as string[],
  });
  assert.deepEqual(failed.predicate.verifiedLevels, ['FAILED']);
  invalid(
    () =>
      verificationSummaryFromJSON({
        ...statement.predicate,
        verificationResult: 'FAILED',
        verifiedLevels: ['SLSA_BUILD_LEVEL_2'],
      }),
    ['.verifiedLevels'],
  );
  // Two levels of one track; and (separately, as refinements run on well-formed input only)
  // every malformed field at once.
  invalid(
    () =>
      verificationSummaryFromJSON({
        ...statement.predicate,
        verifiedLevels: ['SLSA_BUILD_LEVEL_1', 'SLSA_BUILD_LEVEL_3'],
      }),
    ['.verifiedLevels'],
  );
  invalid(
    () =>
      verificationSummaryFromJSON({
        ...statement.predicate,
        verifiedLevels: ['lower'],
        verificationResult: 'MAYBE',
        unknown: true,
      }),
    ['.verifiedLevels[0]', '.verificationResult', ''],
  );
  invalid(() => verificationSummaryFromJSON({}), ['.verifier', '.resourceUri', '.policy']);
});

test('with a trust root, an attestation by a signer not scoped to its predicate type is refused', async () => {
  const rootKey = keyPair();
  const builder = keyPair();
  const at = new Date('2030-01-01T00:00:00Z');
  const doc = grant(
    initialTrustRoot([rootKey.publicKey], 1, at),
    at,
    'builder',
    builder.publicKey,
    {
      predicateTypes: [SLSA_PROVENANCE_V1],
      repositories: ['team/**'],
    },
  );
  const root = await sealed(doc, rootKey.signer);
  const license = await signAttestation(
    buildLicense({ digest, subjectName: 'model', license: 'MIT' }).statement,
    builder.signer,
  );
  const verifier = verifierForTrustRoot(root, { at, repository: 'team/model' });
  assert.throws(
    () => verifier.attestation(license, digest),
    (err: unknown) => {
      assert.ok(isCairnError(err));
      assert.equal(err.code, 'SIGNER_OUT_OF_SCOPE');
      assert.equal(err.details?.['predicateType'], CAIRN_LICENSE_V1);
      assert.match(err.hint, /--predicate-type https:\/\/cairn\.dev\/attestation\/license\/v1/);
      return true;
    },
  );
  const training = buildTraining({ digest, subjectName: 'model', training: {} });
  assert.equal(training.predicate.datasets.length, 0);
  const other = verifierForTrustRoot(root, { at, repository: 'elsewhere/model' });
  // In scope for its predicate type it passes and is named; out of its repository it is refused.
  const provenanceByBuilder = await signAttestation(
    Buffer.from(
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: 'model', digest: { sha256: '1'.repeat(64) } }],
        predicateType: SLSA_PROVENANCE_V1,
        predicate: {
          buildDefinition: { buildType: 'x', externalParameters: {} },
          runDetails: { builder: { id: 'b' } },
        },
      }),
    ),
    builder.signer,
  );
  assert.equal(
    verifier.attestation(provenanceByBuilder, digest).trustedSigner?.signerId,
    'builder',
  );
  assert.throws(
    () => other.attestation(provenanceByBuilder, digest),
    (err: unknown) => isCairnError(err) && err.code === 'SIGNER_OUT_OF_SCOPE',
  );
  // An unknown key is not in the trust root at all.
  const stranger = await signAttestation(training.statement, keyPair().signer);
  assert.throws(
    () => verifier.attestation(stranger, digest),
    (err: unknown) => isCairnError(err) && err.code === 'SIGNER_UNTRUSTED',
  );
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../../src/errors/index.js';
import {
  POLICY_API_VERSION,
  POLICY_LIMITS,
  factsFromBytes,
  factsFromJSON,
  loadPolicySet,
  parsePolicyFile,
} from '../../src/policy/index.js';
import { DIGEST, MATCH, exceptionYaml, grantYaml, hint, load, policyYaml } from './builders.js';

interface Issue {
  readonly path: string;
  readonly code: string;
  readonly source?: string;
  readonly message: string;
}

function issuesOf(fn: () => unknown, code = 'POLICY_INVALID'): Issue[] {
  let issues: Issue[] = [];
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError, String(err));
    assert.equal(err.code, code, err.message);
    issues = err.details?.['issues'] as Issue[];
    return true;
  });
  return issues;
}

function paths(issues: readonly Issue[]): string[] {
  return issues.map((i) => i.path).sort();
}

describe('policy documents', () => {
  test('the example directory loads', () => {
    const set = load(policyYaml('p', `${MATCH}\nrequireDigest: true`));
    assert.equal(set.policies[0]!.name, 'p');
    assert.equal(set.policies[0]!.requirements[0]!.id, 'digest');
  });

  test('every bad field is reported with its path, in one error', () => {
    const text = `apiVersion: ${POLICY_API_VERSION}
kind: ModelPolicy
metadata:
  name: Bad_Name
  owner: someone
spec:
  match:
    repositories: []
    environments: [prod uction]
  mode: enforced
  enforceFrom: 2025-09-01
  requireDigets: true
  signatures:
    - name: release
      anyOf: [{key: not-hex}]
      allOf: [{key: ${hint('a1')}}]
    - name: two
      threshold: 0
  attestations:
    - name: scan
      predicateType: ""
      signers: []
      maxAge: forever
      condition: 'predicate.a.matches("x")'
  access:
    deploy: [{identity: a, identityPattern: "b*"}]
  breakGlass:
    maxTTL: 3d
`;
    const issues = issuesOf(
      () => loadPolicySet([{ source: 'bad.yaml', text }]),
      'POLICY_CEL_INVALID',
    );
    assert.deepEqual(paths(issues), [
      'metadata',
      'metadata.name',
      'spec',
      'spec.access.deploy[0]',
      'spec.attestations[0].condition',
      'spec.attestations[0].maxAge',
      'spec.attestations[0].predicateType',
      'spec.attestations[0].signers',
      'spec.breakGlass.maxTTL',
      'spec.enforceFrom',
      'spec.match.environments[0]',
      'spec.match.repositories',
      'spec.mode',
      'spec.signatures[0]',
      'spec.signatures[0].anyOf[0].key',
      'spec.signatures[1].signers',
      'spec.signatures[1].threshold',
    ]);
    assert.ok(issues.every((i) => i.source === 'bad.yaml#1'));
    // The unknown keys are named, so a typo is never silently ignored.
    assert.ok(issues.some((i) => i.path === 'spec' && i.message.includes('requireDigets')));
    assert.ok(issues.some((i) => i.path === 'metadata' && i.message.includes('owner')));
  });

  test('apiVersion and kind are checked first', () => {
    const issues = issuesOf(() =>
      loadPolicySet([{ source: 'x.yaml', text: 'apiVersion: cairn.dev/v9\nkind: Policy\n' }]),
    );
    assert.deepEqual(paths(issues), ['apiVersion', 'kind']);
  });

  test('enforceFrom goes with mode enforce only', () => {
    const issues = issuesOf(() =>
      load(
        policyYaml(
          'p',
          `${MATCH.replace('enforce', 'audit')}\nenforceFrom: "2025-09-01T00:00:00Z"`,
        ),
      ),
    );
    assert.deepEqual(paths(issues), ['spec.enforceFrom']);
  });

  test('requirement names are unique within a policy', () => {
    const spec = `${MATCH}\nsignatures:\n  - {name: r, anyOf: [{key: ${hint('a1')}}]}\n  - {name: r, anyOf: [{key: ${hint('b2')}}]}`;
    assert.deepEqual(paths(issuesOf(() => load(policyYaml('p', spec)))), [
      'spec.signatures[1].name',
    ]);
  });

  test('instants need an explicit offset and a real date', () => {
    for (const bad of [
      '2025-09-01',
      '2025-09-01T00:00:00',
      '2025-02-30T00:00:00Z',
      '2025-09-01T24:00:00Z',
    ]) {
      const issues = issuesOf(() => load(policyYaml('p', `${MATCH}\nenforceFrom: "${bad}"`)));
      assert.deepEqual(paths(issues), ['spec.enforceFrom'], bad);
    }
  });

  test('patterns are explicit: an identityPattern without a wildcard is refused', () => {
    const spec = `${MATCH}\naccess:\n  deploy: [{identityPattern: deployer}]`;
    assert.deepEqual(paths(issuesOf(() => load(policyYaml('p', spec)))), [
      'spec.access.deploy[0].identityPattern',
    ]);
  });

  test('documents in several files: every problem in every file', () => {
    const issues = issuesOf(() =>
      loadPolicySet([
        { source: 'a.yaml', text: `${policyYaml('p', MATCH)}---\n${policyYaml('p', MATCH)}` },
        { source: 'b.yaml', text: 'kind: [' },
      ]),
    );
    assert.deepEqual(issues.map((i) => `${i.source}:${i.path}`).sort(), [
      'a.yaml#2:metadata.name',
      'b.yaml#1:(document)',
    ]);
  });
});

describe('exceptions and grants', () => {
  const base = policyYaml('p', `${MATCH}\nrequireDigest: true\naccess:\n  deploy: [{identity: d}]`);

  test('an exception must name an existing policy and requirement', () => {
    const issues = issuesOf(() =>
      load(
        base,
        exceptionYaml(
          'e1',
          ['digest', 'attestation:scn'],
          '2025-09-01T00:00:00Z',
          '2025-10-01T00:00:00Z',
        ),
        exceptionYaml('e2', ['digest'], '2025-09-01T00:00:00Z', '2025-10-01T00:00:00Z', 'nope'),
      ),
    );
    assert.deepEqual(paths(issues), ['spec.policy', 'spec.requirements[1]']);
  });

  test('access rules cannot be waived; expiry after creation, within a year', () => {
    const issues = issuesOf(() =>
      load(
        base,
        exceptionYaml('e1', ['access:deploy'], '2025-09-01T00:00:00Z', '2025-08-01T00:00:00Z'),
        exceptionYaml('e2', ['digest'], '2025-01-01T00:00:00Z', '2026-06-01T00:00:00Z'),
      ),
    );
    assert.deepEqual(paths(issues), ['spec.expiresAt', 'spec.expiresAt', 'spec.requirements[0]']);
  });

  test('an exception without owner, justification or ticket is refused', () => {
    const text = exceptionYaml('e', ['digest'], '2025-09-01T00:00:00Z', '2025-10-01T00:00:00Z')
      .replace(/^ {2}owner: .*\n/m, '')
      .replace(/^ {2}justification: .*\n/m, '  justification: "  "\n')
      .replace(/^ {2}ticket: .*\n/m, '');
    const issues = issuesOf(() => load(base, text));
    assert.deepEqual(paths(issues), ['spec.justification', 'spec.owner', 'spec.ticket']);
  });

  test('break-glass grants last hours, not days', () => {
    const issues = issuesOf(() =>
      load(base, grantYaml('g', '2025-10-01T00:00:00Z', '2025-10-03T00:00:00Z')),
    );
    assert.deepEqual(paths(issues), ['spec.expiresAt']);
  });
});

describe('hostile YAML is refused, never crashes', () => {
  const parse = (text: string) => parsePolicyFile({ source: 'h.yaml', text });

  test('deep flow nesting (the yaml composer would overflow or abort)', () => {
    const r = parse(`a: ${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    assert.equal(r.documents.length, 0);
    assert.match(r.issues[0]!.message, /nest/);
  });

  test('deep block nesting', () => {
    const r = parse(`${'- '.repeat(5000)}x\n`);
    assert.equal(r.documents.length, 0);
    assert.match(r.issues[0]!.message, /nest/);
  });

  test('alias expansion (billion laughs)', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${prev}`).join(',')}]`,
      );
    }
    const r = parse(lines.join('\n'));
    assert.equal(r.documents.length, 0);
    assert.ok(r.issues.length > 0);
  });

  test('a file over the size limit', () => {
    const r = parse(`# ${'x'.repeat(POLICY_LIMITS.maxFileBytes)}\n`);
    assert.equal(r.issues[0]!.path, '(file)');
  });

  test('custom tags and duplicate keys', () => {
    assert.ok(
      parse('a: !!js/function "x"\n').issues.length > 0 ||
        parse('a: !!js/function "x"\n').documents.length === 1,
    );
    assert.ok(parse('a: 1\na: 2\n').issues.length > 0);
  });
});

describe('facts', () => {
  const good = {
    digest: DIGEST,
    repository: 'acme/llm',
    environment: 'production',
    reference: { kind: 'digest' },
  };

  test('minimal facts get fail-closed defaults', () => {
    const f = factsFromJSON(good);
    assert.deepEqual(f.request, { action: 'verify' });
    assert.deepEqual(f.transformation, { status: 'unknown' });
    assert.deepEqual(f.signatures, []);
  });

  test('every bad field is listed: POLICY_FACTS_INVALID', () => {
    const issues = issuesOf(
      () =>
        factsFromJSON({
          digest: 'sha256:xyz',
          repository: '',
          environment: 'production',
          reference: { kind: 'branch' },
          request: { action: 'delete' },
          signatures: [{ digest: DIGEST, signer: { kind: 'key', keyType: 'rsa', hint: 'zz' } }],
          attestations: [
            {
              predicateType: 'x',
              digest: DIGEST,
              signer: { kind: 'key', keyType: 'ed25519', hint: hint('a1') },
              issuedAt: 'yesterday',
              predicate: {},
            },
          ],
          extra: 1,
        }),
      'POLICY_FACTS_INVALID',
    );
    assert.deepEqual(paths(issues), [
      '(root)',
      'attestations[0].issuedAt',
      'digest',
      'reference.kind',
      'repository',
      'request.action',
      'signatures[0].signer.hint',
      'signatures[0].signer.keyType',
    ]);
  });

  test('predicates over the limits are refused at the boundary', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    const issues = issuesOf(
      () =>
        factsFromJSON({
          ...good,
          attestations: [
            {
              predicateType: 'x',
              digest: DIGEST,
              signer: { kind: 'key', keyType: 'ed25519', hint: hint('a1') },
              issuedAt: '2025-01-01T00:00:00Z',
              predicate: deep,
            },
          ],
        }),
      'POLICY_FACTS_INVALID',
    );
    assert.deepEqual(paths(issues), ['attestations[0].predicate']);
  });

  test('bytes: size and nesting are checked before parsing', () => {
    assert.throws(() => factsFromBytes(Buffer.from('['.repeat(100_000))), {
      code: 'POLICY_FACTS_INVALID',
    });
    assert.throws(() => factsFromBytes(Buffer.from('{')), { code: 'POLICY_FACTS_INVALID' });
    assert.equal(factsFromBytes(Buffer.from(JSON.stringify(good))).repository, 'acme/llm');
  });
});

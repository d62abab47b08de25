import type { ArtifactDigest } from '../../src/digest/index.js';
import {
  POLICY_API_VERSION,
  loadPolicySet,
  type ArtifactFacts,
  type AttestationFacts,
  type BreakGlassGrant,
  type JsonValue,
  type ModelPolicy,
  type PolicyException,
  type PolicySet,
  type SignatureFacts,
} from '../../src/policy/index.js';
import type { SignerFacts } from '../../src/verify/index.js';

/** Test data builders: small facts and policies, written the way authors write them. */

export const DIGEST: ArtifactDigest = `sha256:${'e5'.repeat(32)}`;
export const OTHER_DIGEST: ArtifactDigest = `sha256:${'99'.repeat(32)}`;
export const NOW = new Date('2025-10-01T12:00:00Z');
export const GH = 'https://token.actions.githubusercontent.com';
export const SCAN = 'https://cosign.sigstore.dev/attestation/vuln/v1';

export function hint(byte: string): string {
  return byte.repeat(32);
}

export function keySigner(byte: string): SignerFacts {
  return { kind: 'key', keyType: 'ecdsa-p256', hint: hint(byte) };
}

export function keylessSigner(identity: string, issuer = GH, certificate = 'f0'): SignerFacts {
  return { kind: 'keyless', identity, issuer, certificateFingerprint: hint(certificate) };
}

export function certSigner(subject: string, leaf: string, root: string): SignerFacts {
  return {
    kind: 'certificate',
    keyType: 'ecdsa-p256',
    subject,
    issuer: 'CN=Acme CA',
    serialNumber: '01',
    chainFingerprints: [hint(leaf), hint(root)],
  };
}

export function signature(
  signer: SignerFacts,
  extra: Partial<SignatureFacts> = {},
): SignatureFacts {
  return { signer, digest: DIGEST, ...extra };
}

export function attestation(
  predicate: JsonValue,
  extra: Partial<AttestationFacts> = {},
): AttestationFacts {
  return {
    predicateType: SCAN,
    digest: DIGEST,
    signer: keySigner('c3'),
    issuedAt: new Date('2025-09-28T00:00:00Z'),
    predicate,
    ...extra,
  };
}

export function facts(extra: Partial<ArtifactFacts> = {}): ArtifactFacts {
  return {
    digest: DIGEST,
    repository: 'acme/llm',
    environment: 'production',
    reference: { kind: 'digest' },
    request: { action: 'verify' },
    signatures: [signature(keySigner('a1'))],
    attestations: [],
    transformation: { status: 'original' },
    ...extra,
  };
}

/** One policy document from the YAML body of its spec (indented by the caller as YAML). */
export function policyYaml(name: string, spec: string): string {
  return `apiVersion: ${POLICY_API_VERSION}
kind: ModelPolicy
metadata:
  name: ${name}
spec:
${indent(spec)}
`;
}

export function indent(text: string, by = 2): string {
  return text
    .replace(/^\n+|\s+$/g, '')
    .split('\n')
    .map((l) => (l.trim() === '' ? '' : `${' '.repeat(by)}${l}`))
    .join('\n');
}

export function load(...docs: string[]): PolicySet {
  return loadPolicySet([{ source: 'test.yaml', text: docs.join('\n---\n') }]);
}

export function policy(spec: string, name = 'p'): ModelPolicy {
  return load(policyYaml(name, spec)).policies[0]!;
}

/** The policy `p`'s match block for acme/llm in production, for specs in tests. */
export const MATCH = `match:
  repositories: [acme/llm]
  environments: [production]
mode: enforce`;

export function exceptionYaml(
  name: string,
  requirements: string[],
  createdAt: string,
  expiresAt: string,
  policyName = 'p',
): string {
  return `apiVersion: ${POLICY_API_VERSION}
kind: PolicyException
metadata:
  name: ${name}
spec:
  policy: ${policyName}
  requirements: ${JSON.stringify(requirements)}
  scope:
    repositories: [acme/llm]
    environments: [production]
  owner: alice@acme.com
  justification: Waived while the scanner learns the format.
  ticket: SEC-1
  createdAt: "${createdAt}"
  expiresAt: "${expiresAt}"
`;
}

export function grantYaml(
  name: string,
  grantedAt: string,
  expiresAt: string,
  extra: { role?: string; subject?: string; repository?: string } = {},
): string {
  return `apiVersion: ${POLICY_API_VERSION}
kind: BreakGlassGrant
metadata:
  name: ${name}
spec:
  incident: INC-1
  requestedBy:
    subject: ${extra.subject ?? 'oncall@acme.com'}
  role: ${extra.role ?? 'break-glass'}
  scope:
    repositories: [${extra.repository ?? 'acme/llm'}]
    environments: [production]
  reason: Roll back during the incident.
  grantedAt: "${grantedAt}"
  expiresAt: "${expiresAt}"
`;
}

export type { BreakGlassGrant, ModelPolicy, PolicyException };

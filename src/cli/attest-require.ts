import {
  PREDICATE_NAMES,
  defaultAttestationsPath,
  isBundleVerifier,
  readAttestationLines,
  verifierForTrust,
  type BundleVerifier,
  type PredicateName,
  type VerifiedAttestation,
} from '../attest/index.js';
import { resolve } from 'node:path';
import type { ArtifactDigest } from '../digest/index.js';
import { UsageError, VerificationError, isCairnError, type CairnError } from '../errors/index.js';
import type { VerificationTrust } from '../verify/index.js';
import { verifyWithTrustRootVerifier } from './attest-verifier.js';
import { note, printJson, say, type Io } from './output.js';
import type { TrustRootVerifyFlags } from './trust.js';

/** One line of the attestations file, verified or refused with a code. */
export type ListedAttestation =
  | { readonly line: number; readonly ok: true; readonly attestation: VerifiedAttestation }
  | {
      readonly line: number;
      readonly ok: false;
      readonly predicateType: string | undefined;
      readonly error: CairnError;
    };

/**
 * Verifies every stored attestation against the model's current digest, with one trust or a
 * bundle verifier (a trust root, where each signer must be scoped to the predicate type).
 */
export function verifyStoredAttestations(
  modelPath: string,
  trust: VerificationTrust | BundleVerifier,
  digest: ArtifactDigest,
): { path: string; results: ListedAttestation[] } {
  const verifier = isBundleVerifier(trust) ? trust : verifierForTrust(trust);
  const path = defaultAttestationsPath(modelPath);
  const results = readAttestationLines(path).map((l): ListedAttestation => {
    try {
      return { line: l.line, ok: true, attestation: verifier.attestation(l.bundle, digest) };
    } catch (err) {
      if (!isCairnError(err)) throw err;
      const type = err.details?.['predicateType'];
      return {
        line: l.line,
        ok: false,
        predicateType: typeof type === 'string' ? type : undefined,
        error: err,
      };
    }
  });
  return { path, results };
}

/** `--require provenance,scan` → the predicate types, refusing names Cairn does not know. */
export function parseRequired(list: string): { name: PredicateName; predicateType: string }[] {
  const names = list
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const known = Object.keys(PREDICATE_NAMES);
  const unknown = names.filter((n) => !known.includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new UsageError(
      'USAGE',
      `--require takes a comma-separated list of ${known.join(', ')}${unknown.length > 0 ? `; unknown: ${unknown.join(', ')}` : ''}`,
    );
  }
  return [...new Set(names)].map((n) => {
    const name = n as PredicateName;
    return { name, predicateType: PREDICATE_NAMES[name] };
  });
}

/**
 * `verify --require`: every required predicate type needs at least one attestation that verifies
 * with the signature's trust and names the verified digest. Otherwise ATTESTATION_REQUIRED, with
 * why each stored attestation of that type was refused. Returns every attestation found.
 */
export function requireAttestations(
  modelPath: string,
  trust: VerificationTrust | BundleVerifier,
  digest: ArtifactDigest,
  required: string,
): Record<string, unknown>[] {
  const wanted = parseRequired(required);
  const { path, results } = verifyStoredAttestations(modelPath, trust, digest);
  const listed = results.map(listedJson);
  const missing = wanted
    .filter((w) => !results.some((r) => r.ok && r.attestation.predicateType === w.predicateType))
    .map((w) => ({
      name: w.name,
      predicateType: w.predicateType,
      refused: results
        .filter(
          (r) => !r.ok && (r.predicateType === w.predicateType || r.predicateType === undefined),
        )
        .map((r) => (r.ok ? undefined : { line: r.line, code: r.error.code })),
    }));
  if (missing.length > 0) {
    throw new VerificationError(
      'ATTESTATION_REQUIRED',
      `No verified ${missing.map((m) => m.name).join(', ')} attestation for ${digest} in ${path}`,
      { details: { missing, attestations: listed } },
    );
  }
  return listed;
}

/** One listed attestation as JSON: what it proved, or the error it was refused with. */
export function listedJson(r: ListedAttestation): Record<string, unknown> {
  return r.ok
    ? {
        line: r.line,
        verified: true,
        predicateType: r.attestation.predicateType,
        digest: r.attestation.digest,
        signer: r.attestation.signer,
        ...(r.attestation.trustedSigner === undefined
          ? {}
          : { trustedSigner: r.attestation.trustedSigner }),
        predicate: r.attestation.predicate,
        warnings: r.attestation.warnings,
      }
    : {
        line: r.line,
        verified: false,
        predicateType: r.predicateType ?? null,
        error: r.error.toJSON(),
      };
}

/**
 * `cairn verify MODEL --trust-root ROOT --require …`: the model signature is verified against the
 * trust root (threshold, rollback state and scopes as without --require); then each required
 * attestation must verify with a trust root signer scoped to its predicate type
 * (SIGNER_OUT_OF_SCOPE otherwise, listed under ATTESTATION_REQUIRED).
 */
export async function trustRootRequireCommand(
  io: Io,
  model: string,
  flags: TrustRootVerifyFlags & { readonly require: string },
): Promise<number> {
  parseRequired(flags.require);
  const at = new Date();
  const { result, verifier } = await verifyWithTrustRootVerifier(io, model, flags, at);
  const attestations = requireAttestations(
    resolve(io.cwd, model),
    verifier,
    result.digest,
    flags.require,
  );
  if (flags.json) {
    printJson(io, { ok: true, ...result, attestations });
    return 0;
  }
  for (const w of result.warnings) note(io, `warning: ${w}`);
  say(io, 'Verification succeeded');
  say(io, `  digest:    ${result.digest}`);
  say(
    io,
    `  signer:    ${result.trustRoot.signer.signerId} (trust root v${result.trustRoot.version})`,
  );
  say(io, `  attested:  ${flags.require} (${attestations.length} attestation(s) found)`);
  return 0;
}

import { formatArtifactDigest, rootDigest, type ArtifactDigest } from '../digest/index.js';
import {
  IN_TOTO_PAYLOAD_TYPE,
  checkBundlePayloadSize,
  packedManifestFromStatement,
  paeParts,
  serializeBundle,
  serializeOmsStatement,
  statementFromOwnPayload,
  type WritableBundle,
} from '../envelope/index.js';
import { InfraError, UsageError, isCairnError } from '../errors/index.js';
import { publicKeyHint, type Signer } from '../keys/index.js';
import { pathProblem, sortResources, type Manifest } from '../manifest/index.js';

export interface SignManifestOptions {
  /** OMS subject name (informational); default `manifest.modelName`. */
  readonly subjectName?: string;
}

export interface SignedBundle {
  /** The exact bytes to write as the signature file. */
  readonly bundle: Buffer;
  /** The DSSE payload (in-toto statement) bytes that were signed. */
  readonly statement: Buffer;
  readonly digest: ArtifactDigest;
}

/**
 * Signs a manifest as an OMS v1.0 bundle the reference verifies: resources in the reference
 * order, the statement laid out as the reference writes it, DSSE PAE over the in-toto type,
 * `publicKey.hint` (key mode) or `x509CertificateChain` (certificate mode). The same manifest and
 * key always give the same bytes. An empty manifest is refused (MODEL_EMPTY, OMS v1.0 §6.1).
 */
export async function signManifest(
  manifest: Manifest,
  signer: Signer,
  options: SignManifestOptions = {},
): Promise<SignedBundle> {
  if (manifest.resources.length === 0) {
    throw new UsageError('MODEL_EMPTY', 'The model has no files to sign');
  }
  checkNames(manifest);
  const ordered: Manifest = { ...manifest, resources: sortResources(manifest.resources) };
  const subjectName = options.subjectName ?? manifest.modelName;
  const statement = serializeOmsStatement(ordered, subjectName);
  // Before the signer is asked (an HSM or a signing service logs every signature it makes).
  checkBundlePayloadSize(statement.length);
  selfCheck(statement);

  const signature = await signer.sign(paeParts(IN_TOTO_PAYLOAD_TYPE, statement));
  const material: WritableBundle['verificationMaterial'] =
    signer.certificateChain === undefined
      ? { kind: 'publicKey', hint: publicKeyHint(signer.publicKey) }
      : { kind: 'x509CertificateChain', certificates: signer.certificateChain.map((c) => c.raw) };
  const bundle = serializeBundle({
    verificationMaterial: material,
    payload: statement,
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    signature,
  });
  return {
    bundle,
    statement,
    digest: formatArtifactDigest(rootDigest(ordered.resources.map((r) => r.digest))),
  };
}

/** Names are checked where the model is read; this catches manifests built by other means. */
function checkNames(manifest: Manifest): void {
  const bad = manifest.resources.flatMap((r) => {
    const problem = pathProblem(r.path);
    return problem === undefined ? [] : [{ name: r.name, problem }];
  });
  if (bad.length > 0) {
    throw new UsageError(
      'MODEL_NAME_INVALID',
      `Cannot sign ${bad.length} unsafe name(s): ${bad
        .slice(0, 5)
        .map((b) => `${JSON.stringify(b.name)} (${b.problem})`)
        .join(', ')}`,
      { details: { names: bad } },
    );
  }
  const seen = new Map<string, string>();
  for (const r of manifest.resources) {
    const key = r.name.normalize('NFC');
    const first = seen.get(key);
    if (first !== undefined) {
      throw new UsageError(
        first === r.name ? 'MODEL_NAME_INVALID' : 'MODEL_NAME_COLLISION',
        first === r.name
          ? `The manifest lists ${JSON.stringify(r.name)} twice`
          : `${JSON.stringify(first)} and ${JSON.stringify(r.name)} are equal after Unicode normalisation`,
        { details: { names: [first, r.name] } },
      );
    }
    seen.set(key, r.name);
  }
}

/** Never sign a statement Cairn itself would refuse to verify. */
function selfCheck(statement: Buffer): void {
  try {
    // Packed: the same checks, without an object per resource on top of the manifest.
    packedManifestFromStatement(statementFromOwnPayload(statement));
  } catch (err) {
    if (!isCairnError(err)) throw err;
    throw new InfraError(
      'INTERNAL',
      `The statement about to be signed does not verify: ${err.message}`,
      { cause: err, details: { code: err.code } },
    );
  }
}

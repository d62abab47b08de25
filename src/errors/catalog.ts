/**
 * The one catalog of error codes: code → kind → HTTP status → CLI exit code → docs entry.
 * `docs/errors.md` is checked against this table by `test/errors/catalog.test.ts`.
 *
 * Exit codes (DESIGN.md §5): 0 success · 1 verification or policy denied ·
 * 2 usage or unreadable input · 3 environment/infrastructure failure.
 */

export type ErrorKind = 'usage' | 'validation' | 'verification' | 'infra' | 'internal';

export interface CatalogEntry {
  readonly kind: ErrorKind;
  /** One line: what went wrong, in general terms. */
  readonly summary: string;
  /** What the user can do about it. */
  readonly hint: string;
  /** HTTP status when the kind's default does not say it (not authenticated, not found, conflict). */
  readonly http?: 401 | 404 | 409 | 413 | 422;
}

const entry =
  <K extends ErrorKind>(kind: K) =>
  (summary: string, hint: string) => ({ kind, summary, hint });
const usage = entry('usage');
const invalid = entry('validation');
const denied = entry('verification');
const infra = entry('infra');
/** A usage-kind entry (exit 2) with its own HTTP status. */
const usageHttp = (http: 401 | 404 | 409 | 413) => (summary: string, hint: string) => ({
  kind: 'usage' as const,
  summary,
  hint,
  http,
});
const notFound = usageHttp(404);
/** A credential was sent but is not accepted: 401, so clients know to get a new one. */
const unauthenticated = usageHttp(401);

export const ERROR_CATALOG = {
  // ── usage and unreadable input (exit 2) ───────────────────────────────────────────
  USAGE: usage('The command line is not valid.', 'Run the command with --help to see its options.'),
  INPUT_NOT_FOUND: usage(
    'A path given on the command line does not exist.',
    'Check the path; relative paths are resolved against the current directory.',
  ),
  INPUT_UNREADABLE: usage(
    'A file or directory could not be read.',
    'Check its permissions and that it is a regular file or directory.',
  ),
  INPUT_TOO_LARGE: usage(
    'An input file is larger than Cairn accepts for its kind.',
    'Signature bundles, keys and certificates are small; make sure the right file was given.',
  ),
  OUTPUT_UNWRITABLE: usage(
    'An output file could not be written.',
    'Check that the directory exists and is writable; nothing was left half-written.',
  ),
  OUTPUT_EXISTS: usage(
    'The output file already exists.',
    'Choose another path or pass --force to replace it.',
  ),
  MODEL_EMPTY: usage(
    'The model has no files to sign after exclusions.',
    'An empty model cannot be signed (OMS v1.0 §6.1); check --ignore-paths and the model path.',
  ),
  SIGNATURE_TOO_LARGE: usage(
    'The signature for this model would be larger than verification accepts (16 MiB).',
    'The model has too many files for one signature (some 70,000 or more): exclude what it does not need with --ignore-paths, or sign parts of it separately.',
  ),
  MODEL_SYMLINK: usage(
    'The model contains a symbolic link and symlinks are not allowed.',
    'Replace the link with the file, exclude it with --ignore-paths, or pass --allow-symlinks.',
  ),
  MODEL_SYMLINK_ESCAPE: usage(
    'A symbolic link in the model points outside the model directory.',
    'Links may only point inside the model root; copy the target into the model instead.',
  ),
  MODEL_SPECIAL_FILE: usage(
    'The model contains something that is neither a regular file nor a directory.',
    'Remove sockets, FIFOs, devices and broken links from the model, or exclude them.',
  ),
  MODEL_NAME_INVALID: usage(
    'A file name in the model cannot be represented safely in a manifest.',
    'Rename files whose names are not valid UTF-8 or contain backslashes or control characters.',
  ),
  MODEL_NAME_COLLISION: usage(
    'Two files in the model have names that are equal after Unicode normalisation.',
    'Rename one of them; look-alike names are refused because they can hide a substitution.',
  ),
  MODEL_CHANGED_DURING_HASH: usage(
    'A file changed while it was being hashed.',
    'Stop whatever is writing to the model and run the command again.',
  ),
  KEY_MALFORMED: usage(
    'The key file is not a PEM key Cairn can read.',
    'Private keys are PKCS#8 or SEC1 PEM; public keys are SubjectPublicKeyInfo PEM.',
  ),
  KEY_UNSUPPORTED: usage(
    'The key type or curve is not supported.',
    'Use ECDSA P-256, P-384, P-521 or Ed25519 (`cairn keygen --type …`).',
  ),
  KEY_PASSPHRASE_REQUIRED: usage(
    'The private key is encrypted and no passphrase was provided.',
    'Set CAIRN_KEY_PASSPHRASE or pass --passphrase-file FILE (never on the command line).',
  ),
  KEY_PASSPHRASE_WRONG: usage(
    'The passphrase does not decrypt the private key.',
    'Check the passphrase in CAIRN_KEY_PASSPHRASE or the --passphrase-file.',
  ),
  CERT_MALFORMED: usage(
    'A certificate file is not a PEM or DER X.509 certificate.',
    'Give PEM files with one or more `-----BEGIN CERTIFICATE-----` blocks.',
  ),
  CERT_KEY_MISMATCH: usage(
    "The signing certificate's public key is not the private key's public key.",
    'Pass the certificate that was issued for this private key.',
  ),
  PKCS11_URI_INVALID: usage(
    'The pkcs11: URI is not a valid RFC 7512 URI that Cairn accepts.',
    'Give pkcs11:token=…;object=…?module-path=/path/to/module.so&pin-source=file:/path; never pin-value.',
  ),
  PKCS11_PIN_REQUIRED: usage(
    'The PKCS#11 token needs a PIN and none was provided.',
    'Set CAIRN_PKCS11_PIN or add pin-source=file:/path/to/pin to the URI (never on the command line).',
  ),
  PKCS11_PIN_INCORRECT: usage(
    'The token refused the PIN.',
    'Check the PIN in CAIRN_PKCS11_PIN or the pin-source file; repeated failures can lock the token.',
  ),
  PKCS11_PIN_LOCKED: usage(
    'The token has locked the user PIN after too many failures.',
    'The token security officer must unlock or reset the user PIN.',
  ),
  PKCS11_KEY_NOT_FOUND: usage(
    'The token holds no single signing key matching the URI.',
    'Check object= and id= in the URI (`pkcs11-tool --list-objects`); the matching public key must be on the token too.',
  ),
  PKCS11_MECHANISM_UNSUPPORTED: usage(
    'The token cannot sign with the key through a mechanism Cairn uses.',
    'Cairn signs with CKM_ECDSA (P-256, P-384, P-521) or CKM_EDDSA (Ed25519); use a key and token that support one.',
  ),
  TRUST_ROOT_CHANGE_INVALID: usage(
    'The requested trust root change cannot be made.',
    'Check the signer id, dates and scopes; `cairn trust show` lists what the trust root holds.',
  ),
  // ── the registry: requests, names, lookups (exit 2) ─────────────────────────────────
  REQUEST_INVALID: usage(
    'The request is not valid: malformed JSON, a wrong field, or a bad name, digest or tag in the path.',
    'Every bad field is listed in details.issues; see the HTTP API in docs/registry.md.',
  ),
  REQUEST_TOO_LARGE: usageHttp(413)(
    'The request body is larger than the server accepts.',
    'JSON bodies are limited to a few MiB; send blobs in several PATCH chunks (docs/registry.md).',
  ),
  AUTH_REQUIRED: usageHttp(401)(
    'The request carries no credentials, or credentials the server does not accept.',
    'Send Authorization: Bearer <token> with an OIDC ID token or a Cairn API token (`cairn login`).',
  ),
  // ── authentication: a credential was sent but cannot be accepted (HTTP 401, exit 2) ──
  AUTH_HEADER_INVALID: unauthenticated(
    'The Authorization header is not `Bearer <token>`.',
    'Send exactly one `Authorization: Bearer <token>` header; other schemes are not accepted.',
  ),
  AUTH_TOKEN_TOO_LARGE: unauthenticated(
    'The bearer token is larger than the server accepts; it was not parsed.',
    'OIDC ID tokens and Cairn API tokens are a few KiB at most; check what is sent as the token.',
  ),
  AUTH_TOKEN_MALFORMED: unauthenticated(
    'The bearer token is neither a Cairn API token nor a compact signed JWT.',
    'Send an OIDC ID token (three base64url parts) or a `cairn_<id>_<secret>` API token, unchanged.',
  ),
  AUTH_ALGORITHM_REFUSED: unauthenticated(
    'The token is signed with an algorithm the issuer is not allowed to use (`none`, HMAC, or outside the allow-list).',
    'Issuers sign with the asymmetric algorithms configured for them (default RS256, ES256, EdDSA); an unsigned or HMAC token is never accepted.',
  ),
  AUTH_ISSUER_UNKNOWN: unauthenticated(
    'The token issuer (`iss`) is not one the server trusts.',
    'Use a token from a configured OIDC issuer; the issuer must match the configuration exactly.',
  ),
  AUTH_AUDIENCE_MISMATCH: unauthenticated(
    'The token audience (`aud`) does not name this server.',
    'Request the token for the audience the server is configured with (e.g. `audience=cairn`).',
  ),
  AUTH_TOKEN_EXPIRED: unauthenticated(
    'The token has expired, or is older than the maximum token age.',
    'Get a fresh token (a new CI or service-account token, or a new API token) and retry.',
  ),
  AUTH_TOKEN_NOT_YET_VALID: unauthenticated(
    'The token is not valid yet (`nbf` or `iat` in the future beyond the clock tolerance).',
    "Check the clocks of the issuer and the server; the server's tolerance is at most 60 s.",
  ),
  AUTH_CLAIMS_INVALID: unauthenticated(
    'The token lacks a required claim (`sub`, `exp`) or a claim has the wrong type.',
    'The claim is named in the details; the issuer must put a subject and an expiry in every token.',
  ),
  AUTH_KEY_UNKNOWN: unauthenticated(
    "The token's key id (`kid`) matches no key in the issuer's JWKS.",
    'The issuer may have rotated keys; get a new token. If it persists, check the configured JWKS.',
  ),
  AUTH_SIGNATURE_INVALID: unauthenticated(
    "The token's signature does not verify with the issuer's key.",
    'The token was altered or forged; get a new token from the issuer.',
  ),
  AUTH_TOKEN_INVALID: unauthenticated(
    'The API token is not one the server issued, or its secret does not match.',
    'Check the token is copied whole; an admin can issue a new one (it is shown once).',
  ),
  AUTH_TOKEN_REVOKED: unauthenticated(
    'The API token has been revoked.',
    'Ask an admin for a new API token.',
  ),
  OIDC_CONFIG_INVALID: invalid(
    'The OIDC issuer configuration is not valid.',
    'Every bad field is listed; see "Authentication and roles" in docs/registry.md.',
  ),
  REPOSITORY_NAME_INVALID: usage(
    'The repository name is not a valid Cairn repository name.',
    'Use 1–4 lowercase segments of a-z 0-9 joined by . _ - and separated by /, e.g. team/model.',
  ),
  REPOSITORY_NOT_FOUND: notFound(
    'The repository does not exist.',
    'Check the name (`team/model`); an admin creates repositories with POST /v1/repos.',
  ),
  ENVIRONMENT_UNKNOWN: notFound(
    'The environment is not one the server is configured with.',
    'GET /v1/repos/:repo lists the environments; the defaults are staging and production.',
  ),
  ARTIFACT_NOT_FOUND: notFound(
    'No artifact with that digest (or tag) is in the repository environment.',
    'Push it to staging first, or promote it; `cairn tags` lists what each environment holds.',
  ),
  TAG_NOT_FOUND: notFound(
    'The tag does not exist in the repository environment.',
    'List the tags with `cairn tags REPO --env ENV`, or refer to the artifact by digest.',
  ),
  ROUTE_NOT_FOUND: notFound(
    'No such API route.',
    'See GET /openapi.json for the routes this server offers.',
  ),
  ARTIFACT_INVALID: invalid(
    'The artifact pushed is not consistent: a blob is missing or has another size, or a name is unsafe.',
    'Upload every blob before pushing the artifact; each problem is listed in details.issues.',
  ),
  // Verification kind (the CLI refuses pulled bytes with it too); a push answered 422.
  ARTIFACT_DIGEST_MISMATCH: {
    ...denied(
      'The artifact digest recomputed from its resources is not the digest it was named by.',
      'Push (or expect) the digest `cairn digest` reports for the same files and serialization.',
    ),
    http: 422,
  },
  // ── the registry store: repositories, tags, blobs, uploads ─────────────────────────
  REPOSITORY_EXISTS: usageHttp(409)(
    'A repository with that name already exists.',
    'Use the existing repository, or pick another name; repositories are never replaced.',
  ),
  TAG_CONFLICT: usageHttp(409)(
    'The tag does not point where the request expected (compare-and-set failed).',
    'Someone moved the tag meanwhile; read it again (`cairn tags`) and retry with the current digest.',
  ),
  TAG_IMMUTABLE: denied(
    'The repository is protected: its tags, once set, never move.',
    'Use a new tag, or refer to the artifact by digest; every tag of a protected repository is permanent.',
  ),
  BLOB_NOT_FOUND: notFound(
    'No blob with that digest is in the blob store.',
    'Upload the blob first; blobs are addressed by the SHA-256 of their bytes.',
  ),
  BLOB_DIGEST_MISMATCH: invalid(
    'The uploaded bytes do not hash to the digest they were committed under.',
    'The upload was discarded; send the file again and check it was not truncated or changed in transit.',
  ),
  BLOB_UPLOAD_UNKNOWN: notFound(
    'The blob upload does not exist: it never did, was committed, aborted or expired.',
    'Start a new upload.',
  ),
  BLOB_UPLOAD_OFFSET: usageHttp(409)(
    'The chunk does not start where the upload currently ends.',
    'Ask for the upload state (its offset) and resume from there.',
  ),
  BLOB_TOO_LARGE: usageHttp(413)(
    'The blob or chunk is larger than the store accepts.',
    'Send smaller chunks, or ask the operator to raise the blob size limit.',
  ),
  STORE_INPUT_INVALID: invalid(
    'A value handed to the store breaks its contract (malformed digest, range, limit or id).',
    'This is usually a bug in the caller; the details name the field.',
  ),
  // ── malformed signature bundles (exit 2: the input cannot be read as a bundle) ────────
  BUNDLE_MALFORMED: invalid(
    'The signature file is not valid JSON.',
    'Check that the file is an OMS signature (a Sigstore bundle) and was not truncated.',
  ),
  BUNDLE_TOO_LARGE: invalid(
    'The signature file is larger than the limit.',
    'Real OMS bundles are kilobytes to a few megabytes; make sure the right file was given.',
  ),
  BUNDLE_TOO_DEEP: invalid(
    'The signature file nests JSON deeper than the limit.',
    'The file is not an OMS bundle; it may be hostile.',
  ),
  BUNDLE_INVALID: invalid(
    'The signature file does not have the structure of a Sigstore bundle.',
    'Every bad field is listed; regenerate the signature with `cairn sign`.',
  ),
  SCAN_REPORT_INVALID: invalid(
    'A scan report does not have the structure of a Cairn scan report.',
    'Every bad field is listed; produce the report again with `cairn scan --json`.',
  ),
  ATTESTATION_PREDICATE_INVALID: invalid(
    'An attestation predicate, or the JSON given to build one, does not have the structure its predicate type requires.',
    'Every bad field is listed; check the --from-json file or regenerate the attestation with `cairn attest`.',
  ),
  ATTESTATIONS_FILE_INVALID: invalid(
    'The attestations file (model.att.jsonl) has too many lines or a line over the size limit.',
    'The file holds one Sigstore bundle per line; remove what `cairn attest` did not write, or split it.',
  ),
  TRUST_ROOT_MALFORMED: invalid(
    'The trust root file is not a JSON DSSE envelope within the size and nesting limits.',
    'Check that the file is a Cairn trust root (`cairn trust init` writes one) and was not truncated.',
  ),
  TRUST_ROOT_INVALID: invalid(
    'The trust root does not have the structure Cairn requires.',
    'Every bad field is listed; unknown fields, duplicate keys or identities and bad dates are refused.',
  ),
  TRUST_ROOT_STATE_INVALID: invalid(
    'The remembered trust root checkpoint (highest version seen) is not valid.',
    'Every bad field is listed. It may have been tampered with: check it, or remove it and re-pin the trust root out of band.',
  ),
  // ── policies and facts (exit 2: the input cannot be used as written) ─────────────────
  POLICY_INVALID: invalid(
    'A policy document (policy, exception, break-glass grant or test) is not valid.',
    'Every bad field is listed with its file, document and path; see docs/policy.md for the schema.',
  ),
  POLICY_CEL_INVALID: invalid(
    'A policy condition is not a CEL expression Cairn accepts.',
    'Fix the condition: it must parse, type-check to bool and avoid matches() and cel.bind(); see docs/policy.md.',
  ),
  POLICY_CEL_LIMIT: invalid(
    'A policy condition exceeds the limits that keep a gate from hanging.',
    'Shorten the condition or nest fewer macros over large lists; the limits are in docs/policy.md.',
  ),
  POLICY_FACTS_INVALID: invalid(
    'The facts given to the policy engine do not have the required shape or exceed its limits.',
    'Every bad field is listed; the facts format is in docs/policy.md.',
  ),
  POLICY_EMPTY: usage(
    'The policy directory holds no policy documents of the kind the command needs.',
    'Check the directory: policy files are *.yaml, *.yml or *.json with kind ModelPolicy (and PolicyTest for tests).',
  ),
  // ── the registry client: credentials (exit 2) ───────────────────────────────────────
  CREDENTIALS_MISSING: usage(
    'No server or no token is available for a registry command.',
    'Run `cairn login SERVER` (token on stdin or --token-file), or set CAIRN_TOKEN and --server for CI.',
  ),
  AUDIT_TRAIL_INVALID: invalid(
    'An audit trail (exported file or server page) is not a list of audit records.',
    'Export the trail again with `cairn audit export`; each line holds one JSON audit record.',
  ),
  CREDENTIALS_INVALID: invalid(
    'The stored credentials file is not valid.',
    'Every bad field is listed; log in again with `cairn login SERVER` after removing the file.',
  ),
  // ── verification denied (exit 1) ─────────────────────────────────────────────────
  MEDIA_TYPE_UNSUPPORTED: denied(
    'The bundle media type is not one Cairn verifies.',
    'OMS v1.0 signatures use application/vnd.dev.sigstore.bundle.v0.3+json.',
  ),
  PAYLOAD_TYPE_MISMATCH: denied(
    'The DSSE payload type is not the in-toto type.',
    'OMS signatures carry application/vnd.in-toto+json; a different type may be a confusion attack.',
  ),
  SIGNATURE_INVALID: denied(
    'The signature does not verify over the payload.',
    'The payload was changed after signing, or it was signed by another key.',
  ),
  KEY_MISMATCH: denied(
    'The bundle names a different public key than the one given.',
    'Verify with the public key of the signer, or ask who signed this model.',
  ),
  VERIFICATION_MATERIAL_MISMATCH: denied(
    'The bundle carries a different kind of verification material than the mode asked for.',
    'Use --public-key for key bundles, --certificate-chain for certificate bundles and --identity for keyless ones.',
  ),
  ALGORITHM_UNSUPPORTED: denied(
    'The signature algorithm or key type is not allowed.',
    'Cairn accepts ECDSA P-256/P-384/P-521 with their matching hash, and Ed25519.',
  ),
  CERT_CHAIN_INVALID: denied(
    'The signing certificate does not chain to a trusted root.',
    'Pass the root (and any intermediates) that issued the signing certificate with --certificate-chain.',
  ),
  CERT_USAGE_INVALID: denied(
    'The signing certificate is not allowed to sign code or data.',
    'The leaf needs keyUsage digitalSignature or extendedKeyUsage codeSigning.',
  ),
  IDENTITY_MISMATCH: denied(
    'The signing identity is not the expected one.',
    'Check --identity and --identity-provider against who signed the model.',
  ),
  TLOG_INVALID: denied(
    'The transparency-log evidence in the bundle does not verify.',
    'The bundle was altered or was not logged by the trusted log.',
  ),
  STATEMENT_INVALID: denied(
    'The payload is not an in-toto Statement v1.',
    'The signature payload must be an in-toto Statement v1 JSON document.',
  ),
  PREDICATE_TYPE_MISMATCH: denied(
    'The statement predicate type is not an OMS signature.',
    'Expected https://model_signing/signature/v1.0; this may be an attestation, not a signature.',
  ),
  SUBJECT_INVALID: denied(
    'The statement must have exactly one subject with a sha256 digest.',
    'The bundle was not produced by an OMS signer.',
  ),
  SUBJECT_DIGEST_MISMATCH: denied(
    'The subject digest does not match the resources listed in the manifest.',
    'The manifest is inconsistent; the signature cannot be trusted.',
  ),
  MANIFEST_INVALID: denied(
    'The signed manifest contains an unsafe or malformed resource.',
    'Resource names must be relative, `/`-separated, without `..`, backslashes or control characters, and unique.',
  ),
  SERIALIZATION_UNSUPPORTED: denied(
    'The manifest was made with a hashing method Cairn does not know.',
    'Supported: files or shards with sha256, blake2b or blake3.',
  ),
  MODEL_MISMATCH: denied(
    'The model on disk does not match the signed manifest.',
    'Each extra, missing or changed file is listed; restore the approved files or re-sign on purpose.',
  ),
  SCAN_FINDINGS: denied(
    'The model scan found something at or above the --fail-on severity.',
    'Each finding names the file, offset and rule; do not load the model until every one is explained (docs/scan.md).',
  ),
  ATTESTATION_SUBJECT_MISMATCH: denied(
    'The attestation is about another artifact digest than the model being checked.',
    'It may be replayed from another model or stale after a change; attest this digest again with `cairn attest`.',
  ),
  ATTESTATION_PREDICATE_UNKNOWN: denied(
    'The attestation has a predicate type Cairn does not know, so it is listed but never trusted.',
    'Cairn trusts SLSA Provenance v1 and its own versioned predicates (`cairn attest list` names them); anything else is only shown.',
  ),
  ATTESTATION_PREDICATE_TOO_LARGE: denied(
    'The attestation predicate is larger than Cairn accepts.',
    'Predicates are small; the attestation may be hostile. Record large data by digest instead of inline.',
  ),
  ATTESTATION_REQUIRED: denied(
    'A required attestation is absent, does not verify, or is about another digest.',
    'Each missing predicate is listed; create it with `cairn attest` (or `cairn scan --attest`) and sign it with a trusted key.',
  ),
  CHAIN_HOP_UNSIGNED: denied(
    'An artifact on the transformation chain has no signature or transformation attestation of its own.',
    'A derived model never inherits its parent\'s signature ("signed once, trusted forever"): attest how it was made with `cairn attest transform --from PARENT`, or sign it.',
  ),
  CHAIN_HOP_UNTRUSTED: denied(
    'A signature or transformation attestation on the chain is signed by a signer that is not trusted, or not in scope for it.',
    'Each refused bundle is listed with its own code (KEY_MISMATCH, SIGNER_OUT_OF_SCOPE, …); re-sign the hop with a signer trusted for that predicate type.',
  ),
  CHAIN_PARENT_MISSING: denied(
    'A transformation attestation names a parent that the chain store does not hold.',
    "Put the parent's signature (and its attestations) in a `--chain-store` directory (docs/cli.md, `cairn verify --chain`).",
  ),
  CHAIN_DIGEST_MISMATCH: denied(
    'A parent found for a transformation hop is signed for another digest than the one the transformation names.',
    "The materials of a transformation must be the parent's exact digest; the store entry or the transformation is wrong.",
  ),
  CHAIN_CYCLE: denied(
    'Transformation attestations name an artifact as its own ancestor.',
    'Content digests cannot form a cycle honestly; the attestations are hostile or broken.',
  ),
  CHAIN_TOO_LONG: denied(
    'The transformation chain is deeper or wider than Cairn walks.',
    'Cairn walks at most 32 hops and 256 artifacts; a longer chain is refused rather than walked without bound.',
  ),
  PULL_DIGEST_MISMATCH: denied(
    'A file downloaded from the registry does not hash to the digest the artifact lists, or the artifact is not the digest asked for.',
    'Nothing was written to the output directory; the server or the path to it may be tampering. Report it and pull again.',
  ),
  ARTIFACT_UNSIGNED: denied(
    'The artifact has no signature stored with it, so it cannot be verified.',
    'Sign the model (`cairn sign`) and push it again with its model.sig; unsigned artifacts are never pulled.',
  ),
  AUDIT_CHAIN_BROKEN: denied(
    'The audit trail hash chain does not verify: a record was edited, deleted or reordered.',
    'The first broken record is named in the details; treat the trail after it as untrustworthy and investigate.',
  ),
  TRUST_ROOT_SIGNATURE_INVALID: denied(
    'The trust root is not signed by enough distinct root keys.',
    'A trust root needs valid signatures from a threshold of distinct root keys (of the previous version too, when updating).',
  ),
  TRUST_ROOT_ROLLBACK: denied(
    'The trust root version is not higher than the one already trusted.',
    'Versions only go up; an older or equal version may be a rollback attack. Fetch the latest trust root.',
  ),
  SIGNER_UNTRUSTED: denied(
    'The signer is not listed in the trust root.',
    'Ask a trust root administrator to add the signer (`cairn trust add-signer`), or check which key signed.',
  ),
  SIGNER_REVOKED: denied(
    'The signer has been revoked in the trust root.',
    'Signatures by a revoked key fail unless provably older than the compromise; re-sign with a trusted key.',
  ),
  SIGNER_EXPIRED: denied(
    'The signer is outside its validity window (notBefore/notAfter).',
    'Re-sign with the current key (`cairn trust show` lists validity windows).',
  ),
  SIGNER_OUT_OF_SCOPE: denied(
    'The signer is not allowed to sign for this repository, environment or predicate type.',
    'Check --repository/--environment against the signer scopes in `cairn trust show`.',
  ),
  THRESHOLD_NOT_MET: denied(
    'Fewer distinct trusted signers than required.',
    'Each signer counts once however many signatures it made; collect signatures from more signers.',
  ),
  POLICY_DENIED: denied(
    'The policy decision is deny.',
    'The decision names each unmet requirement and what to do; fix them, or ask the policy owner for an exception.',
  ),
  POLICY_TEST_FAILED: denied(
    'One or more policy test cases did not get the decision they expect.',
    'Each failing case is listed with the decision it got and why; fix the policy or the expectation.',
  ),
  ACCESS_DENIED: denied(
    'The authenticated identity does not hold a role that allows this for the repository and environment.',
    'Ask an admin for the role (reader, pusher, signer, promoter, deployer) on this repository and environment.',
  ),
  PUSH_TO_PROTECTED_ENVIRONMENT: denied(
    'The environment accepts artifacts only by promotion; direct pushes are refused for everyone.',
    'Push to staging, then `cairn promote REPO@DIGEST --from staging --to ENV`.',
  ),
  REFERENCE_NOT_PINNED: denied(
    'The environment serves artifacts only by digest; a tag reference was refused.',
    'Resolve the tag first (`cairn tags`) and pull REPO@sha256:… so the digest you approved is the one you get.',
  ),
  // ── environment and infrastructure (exit 3) ──────────────────────────────────────
  TRUST_ROOT_UNAVAILABLE: infra(
    'The trust material needed for this verification is not available offline.',
    'Keyless verification needs the Sigstore trusted root; see docs/errors.md for what works offline.',
  ),
  TRUST_ROOT_STATE_UNAVAILABLE: infra(
    'The trust root checkpoint (highest version seen) cannot be located, read or written.',
    'Give a writable directory with --trust-root-state or CAIRN_STATE_DIR (default $XDG_STATE_HOME/cairn or ~/.local/state/cairn).',
  ),
  PKCS11_MODULE_UNAVAILABLE: infra(
    'The PKCS#11 module could not be loaded or initialised.',
    'Check module-path in the URI (or CAIRN_PKCS11_MODULE); e.g. /usr/lib/softhsm/libsofthsm2.so from softhsm2.',
  ),
  PKCS11_TOKEN_UNAVAILABLE: infra(
    'No token matching the URI is present, or the token went away.',
    'Insert or reconnect the token and check token= in the URI; nothing was written.',
  ),
  PKCS11_OPERATION_FAILED: infra(
    'The PKCS#11 token failed an operation.',
    'Run again; if it persists, check the token with its vendor tools. The CKR code is in the details.',
  ),
  AUTH_JWKS_UNAVAILABLE: infra(
    "An OIDC issuer's JWKS could not be fetched in time, or is not a valid key set.",
    'The token was not accepted (fail closed); check that the jwksUri answers, or configure the JWKS inline or from a file.',
  ),
  STORE_UNAVAILABLE: infra(
    'The metadata database or blob backend is down, unreachable or refused the operation.',
    'Nothing was changed; check the database / blob registry (GET /readyz) and retry.',
  ),
  REGISTRY_UNREACHABLE: infra(
    'The Cairn server could not be reached, or the connection broke or timed out.',
    'Check the server URL and that `cairn serve` is running (GET /healthz); nothing was changed locally.',
  ),
  REGISTRY_RESPONSE_INVALID: infra(
    'The Cairn server sent a response that is too large or not of the expected shape.',
    'Check that --server points at a Cairn server of a compatible version.',
  ),
  REGISTRY_REQUEST_FAILED: infra(
    'The Cairn server refused the request with an error this client does not know.',
    'The HTTP status and the server code are in the details; check the server version and its logs.',
  ),
  WORKER_FAILED: infra(
    'A worker thread (hashing, or verifying a large signature) failed.',
    'Run again; if it persists, report it with the output of --json.',
  ),
  PROMOTION_COPY_FAILED: infra(
    'The policy allowed the promotion, but copying the artifact into the target environment failed.',
    'Nothing was promoted and the failure is in the audit trail; check the metadata store (GET /readyz) and promote again.',
  ),
  SIGNING_UNAVAILABLE: infra(
    'The server holds no signing key, so it cannot sign on request.',
    'Start `cairn serve` with --signing-key FILE or --pkcs11-uri URI to enable central signing.',
  ),
  INTERNAL: entry('internal')(
    'An unexpected internal error.',
    'This is a bug in Cairn; please report it with the command that triggered it.',
  ),
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** Exit codes by kind (DESIGN.md §5). */
export function exitCodeForKind(kind: ErrorKind): 1 | 2 | 3 {
  switch (kind) {
    case 'verification':
      return 1;
    case 'usage':
    case 'validation':
      return 2;
    case 'infra':
    case 'internal':
      return 3;
  }
}

/** The HTTP status of a code: its own when the catalog gives one, else its kind's. */
export function httpStatusForCode(code: ErrorCode): number {
  const e: CatalogEntry = ERROR_CATALOG[code];
  return e.http ?? httpStatusForKind(e.kind);
}

/** HTTP statuses by kind. */
export function httpStatusForKind(kind: ErrorKind): 400 | 403 | 422 | 500 | 503 {
  switch (kind) {
    case 'usage':
      return 400;
    case 'validation':
      return 422;
    case 'verification':
      return 403;
    case 'infra':
      return 503;
    case 'internal':
      return 500;
  }
}

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors/index.js';
import {
  KEY_TYPES,
  fileSigner,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  parseCertificates,
  parsePkcs11Uri,
  pkcs11Signer,
  PKCS11_MODULE_ENV,
  readPkcs11Pin,
  publicKeyHint,
  type KeyType,
  type Pkcs11Signer,
  type Signer,
} from '../keys/index.js';
import {
  MAX_CERT_BYTES,
  MAX_KEY_BYTES,
  inspectSignature,
  readSmallFile,
  resourceChecksBetween,
  signModel,
  verifyModel,
  writeFileAtomic,
  type ModelVerification,
} from '../model/index.js';
import type { SignerFacts } from '../verify/index.js';
import { PASSPHRASE_ENV, readPassphrase } from './inputs.js';
import { JsonArray, note, printJson, progressReporter, say, type Io } from './output.js';
import { hashing, scope, type HashFlags, type ScopeFlags } from './digest.js';

// ── keygen ──────────────────────────────────────────────────────────────────────────────

export interface KeygenFlags {
  readonly type: string;
  readonly out: string;
  readonly encrypt?: boolean;
  readonly passphraseFile?: string;
  readonly force?: boolean;
  readonly json?: boolean;
}

export function keygenCommand(io: Io, flags: KeygenFlags): number {
  if (!(KEY_TYPES as readonly string[]).includes(flags.type)) {
    throw new UsageError(
      'USAGE',
      `--type must be one of ${KEY_TYPES.join(', ')}, got ${JSON.stringify(flags.type)}`,
    );
  }
  const type = flags.type as KeyType;
  const wantsEncryption = flags.encrypt === true || flags.passphraseFile !== undefined;
  const passphrase = wantsEncryption ? readPassphrase(io, flags.passphraseFile) : undefined;
  if (wantsEncryption && passphrase === undefined) {
    throw new UsageError('KEY_PASSPHRASE_REQUIRED', '--encrypt needs a passphrase', {
      hint: `Set ${PASSPHRASE_ENV} or pass --passphrase-file FILE.`,
    });
  }
  const privatePath = resolve(io.cwd, flags.out);
  const publicPath = `${privatePath}.pub`;
  const pair = generateKeyPair(type, passphrase);
  const overwrite = flags.force ?? false;
  if (!overwrite) {
    // Check both before writing either, so a refusal never leaves a mismatched pair behind.
    for (const p of [privatePath, publicPath]) {
      if (existsSync(p)) {
        throw new UsageError('OUTPUT_EXISTS', `Refusing to overwrite ${p}`, {
          hint: 'Choose another --out or pass --force to replace the key pair.',
          details: { path: p },
        });
      }
    }
  }
  // Public key first: if it cannot be written, no private key is left without its public half.
  writeFileAtomic(publicPath, Buffer.from(pair.publicKeyPem), { overwrite, mode: 0o644 });
  writeFileAtomic(privatePath, Buffer.from(pair.privateKeyPem), { overwrite, mode: 0o600 });
  const hint = publicKeyHint(loadPublicKey(pair.publicKeyPem));
  if (flags.json) {
    printJson(io, {
      ok: true,
      type,
      privateKey: privatePath,
      publicKey: publicPath,
      encrypted: passphrase !== undefined,
      hint,
    });
  } else {
    say(
      io,
      `Wrote ${type} private key ${privatePath}${passphrase === undefined ? ' (unencrypted)' : ' (encrypted)'}`,
    );
    say(io, `Wrote public key ${publicPath} (hint ${hint})`);
    if (passphrase === undefined) {
      note(
        io,
        `warning: the private key is not encrypted; use --encrypt with ${PASSPHRASE_ENV} or --passphrase-file to protect it at rest`,
      );
    }
  }
  return 0;
}

// ── sign ────────────────────────────────────────────────────────────────────────────────

export interface SignFlags extends ScopeFlags, HashFlags {
  readonly privateKey?: string;
  readonly pkcs11Uri?: string;
  readonly signature?: string;
  readonly certificate?: string;
  readonly certificateChain?: string[];
  readonly passphraseFile?: string;
  readonly allowUnencryptedKey?: boolean;
  readonly force?: boolean;
}

export async function signCommand(io: Io, model: string, flags: SignFlags): Promise<number> {
  const signer = loadSigner(io, flags);
  const progress = progressReporter(io, !flags.json, 'hashing');
  try {
    const result = await signModel(resolve(io.cwd, model), {
      signer,
      ...scope(io, model, flags),
      ...hashing(flags),
      ...(flags.signature === undefined ? {} : { signaturePath: resolve(io.cwd, flags.signature) }),
      overwrite: flags.force ?? false,
      ...(progress.onProgress === undefined ? {} : { onProgress: progress.onProgress }),
    });
    progress.stop();
    if (flags.json) {
      printJson(io, {
        ok: true,
        digest: result.digest,
        signature: result.signaturePath,
        modelName: result.manifest.modelName,
        resourceCount: result.manifest.resources.length,
        signer: signerSummary(signer),
      });
    } else {
      const count = result.manifest.resources.length;
      say(io, `Signed ${count} resource${count === 1 ? '' : 's'}: ${result.digest}`);
      say(io, `Signature written to ${result.signaturePath}`);
    }
    return 0;
  } finally {
    progress.stop();
    if ('close' in signer) signer.close();
  }
}

/**
 * Opens a PKCS#11 signer for the CLI: the PIN from the URI's pin-source file or CAIRN_PKCS11_PIN,
 * the module from module-path or CAIRN_PKCS11_MODULE. The caller closes it.
 */
export function openPkcs11Signer(io: Io, uriText: string): Pkcs11Signer {
  const uri = parsePkcs11Uri(uriText);
  const pin = readPkcs11Pin(uri, io.env);
  const modulePath = io.env[PKCS11_MODULE_ENV];
  return pkcs11Signer(uri, {
    pin,
    ...(modulePath === undefined || modulePath === '' ? {} : { defaultModulePath: modulePath }),
  });
}

export function loadSigner(io: Io, flags: SignFlags): Signer | Pkcs11Signer {
  if (flags.pkcs11Uri !== undefined) {
    if (flags.privateKey !== undefined || flags.certificate !== undefined) {
      throw new UsageError(
        'USAGE',
        '--pkcs11-uri replaces --private-key (certificate mode with a token is not supported yet)',
      );
    }
    return openPkcs11Signer(io, flags.pkcs11Uri);
  }
  if (flags.privateKey === undefined) {
    throw new UsageError('USAGE', 'Give --private-key PEM or --pkcs11-uri URI');
  }
  const keyPath = resolve(io.cwd, flags.privateKey);
  const pem = readSmallFile(keyPath, MAX_KEY_BYTES, 'Private key').toString('utf8');
  const passphrase = readPassphrase(io, flags.passphraseFile);
  const key = loadPrivateKey(pem, passphrase);
  if (!key.encrypted && flags.allowUnencryptedKey !== true) {
    // A warning, not a refusal: the reference and most CI set-ups use plain PEM keys today.
    note(
      io,
      `warning: ${flags.privateKey} is not encrypted at rest; protect it with \`cairn keygen --encrypt\` or pass --allow-unencrypted-key to silence this`,
    );
  }
  if (flags.certificateChain !== undefined && flags.certificate === undefined) {
    throw new UsageError(
      'USAGE',
      '--certificate-chain needs --certificate (the signing certificate)',
    );
  }
  if (flags.certificate === undefined) return fileSigner(key);
  const leaf = readCertificates(io, [flags.certificate]);
  const chain = readCertificates(io, flags.certificateChain ?? []);
  return fileSigner(key, { certificateChain: [...leaf, ...chain] });
}

function signerSummary(signer: Signer): Record<string, unknown> {
  const leaf = signer.certificateChain?.[0];
  return leaf === undefined
    ? { kind: 'key', keyType: signer.keyType, hint: publicKeyHint(signer.publicKey) }
    : { kind: 'certificate', keyType: signer.keyType, subject: leaf.subject, issuer: leaf.issuer };
}

function readCertificates(io: Io, paths: readonly string[]) {
  return paths.flatMap((p) =>
    parseCertificates(readSmallFile(resolve(io.cwd, p), MAX_CERT_BYTES, 'Certificate file')),
  );
}

// ── verify ──────────────────────────────────────────────────────────────────────────────

export interface VerifyFlags extends ScopeFlags {
  readonly trustRoot?: string;
  readonly repository?: string;
  readonly environment?: string;
  /** Repeatable; more than one only with --trust-root (threshold verification). */
  readonly signature?: string[];
  /** With --trust-root: distinct trust root signers required. */
  readonly threshold?: string;
  /** With --trust-root: where the highest trust root version seen is remembered. */
  readonly trustRootState?: string;
  readonly publicKey?: string;
  readonly certificateChain?: string[];
  readonly identity?: string;
  readonly identityProvider?: string;
  readonly ignoreUnsignedFiles?: boolean;
  readonly policy?: string;
  /** With --policy: signatures of a derived model's parents (transformation continuity). */
  readonly parentSignature?: string[];
  /** `--require provenance,scan`: attestations that must verify for the signed digest. */
  readonly require?: string;
  /** `--chain`: verify through transformation attestations back to signed roots. */
  readonly chain?: boolean;
  /** With --chain: directories of ancestors' signatures and attestations. */
  readonly chainStore?: string[];
}

export async function verifyCommand(io: Io, model: string, flags: VerifyFlags): Promise<number> {
  // With --policy (and no --chain), --chain-store feeds the lineage to the policy's continuity.
  if (flags.chain === true || (flags.chainStore !== undefined && flags.policy === undefined)) {
    return (await import('./lineage.js')).verifyChainCommand(io, model, flags);
  }
  if (flags.trustRoot !== undefined) {
    if (
      flags.publicKey !== undefined ||
      flags.identity !== undefined ||
      flags.identityProvider !== undefined
    ) {
      throw new UsageError('USAGE', '--trust-root replaces --public-key and --identity');
    }
    if (flags.policy !== undefined) {
      // The trust root's verified signers and scoped attestations feed the policy engine.
      return (await import('./policy.js')).trustRootPolicyCommand(io, model, {
        ...flags,
        trustRoot: flags.trustRoot,
        policy: flags.policy,
      });
    }
    if (flags.require !== undefined) {
      // Each attestation's signer must be in the trust root and scoped to its predicate type.
      return (await import('./attest-require.js')).trustRootRequireCommand(io, model, {
        ...flags,
        trustRoot: flags.trustRoot,
        require: flags.require,
      });
    }
    return (await import('./trust.js')).trustRootVerifyCommand(io, model, {
      ...flags,
      trustRoot: flags.trustRoot,
    });
  }
  if (
    flags.policy === undefined &&
    (flags.repository !== undefined || flags.environment !== undefined)
  ) {
    throw new UsageError('USAGE', '--repository and --environment need --trust-root or --policy');
  }
  if (flags.policy === undefined && flags.parentSignature !== undefined) {
    throw new UsageError('USAGE', '--parent-signature needs --policy');
  }
  if (
    (flags.signature?.length ?? 0) > 1 ||
    flags.threshold !== undefined ||
    flags.trustRootState !== undefined
  ) {
    throw new UsageError(
      'USAGE',
      'Several --signature, --threshold and --trust-root-state need --trust-root',
    );
  }
  const signature = flags.signature?.[0];
  const trust = (await import('./trust-flags.js')).trustFrom(io, flags);
  // Load the policy before hashing: a bad policy file should not cost a multi-GB re-hash.
  const policyCli = flags.policy === undefined ? undefined : await import('./policy.js');
  const policies =
    flags.policy === undefined ? undefined : policyCli?.loadPolicyDirectory(io, flags.policy);
  const required = flags.require === undefined ? undefined : await import('./attest-require.js');
  const progress = progressReporter(io, !flags.json, 'verifying');
  try {
    const result = await verifyModel(resolve(io.cwd, model), {
      trust,
      ...scope(io, model, flags),
      ...(signature === undefined ? {} : { signaturePath: resolve(io.cwd, signature) }),
      ignoreUnsignedFiles: flags.ignoreUnsignedFiles ?? false,
      ...(progress.onProgress === undefined ? {} : { onProgress: progress.onProgress }),
    });
    progress.stop();
    const attestations =
      flags.require === undefined
        ? undefined
        : required?.requireAttestations(
            resolve(io.cwd, model),
            trust,
            result.digest,
            flags.require,
          );
    if (policies !== undefined && policyCli !== undefined) {
      const { modelFacts, printDecision, signedModel } = policyCli;
      const { verifierForTrust } = await import('../attest/index.js');
      const { evaluate } = await import('../policy/index.js');
      const { listedJson } = await import('./attest-require.js');
      // The same engine as `cairn policy eval`: verified facts in, a decision with reasons out.
      // Its facts: the signature and every stored attestation that verifies for this digest.
      const modelPath = resolve(io.cwd, model);
      const evidence = modelFacts(io, modelPath, signedModel(result), verifierForTrust(trust), {
        ...flags,
        action: 'verify',
      });
      const facts = evidence.facts;
      const decision = evaluate(
        facts,
        policies.policies,
        policies.exceptions,
        policies.grants,
        new Date(),
      );
      if (flags.json) {
        printJson(io, {
          ok: decision.allowed,
          ...verificationJson(result),
          attestations: attestations ?? evidence.attestations.map(listedJson),
          policy: decision,
        });
      } else {
        say(io, `Signature verified: ${result.digest} (${describeSigner(result.signer)})`);
        printDecision(io, decision, false, evidence.attestations);
      }
      return decision.allowed ? 0 : 1;
    }
    if (flags.json) {
      printJson(io, { ok: true, ...verificationJson(result), attestations });
    } else {
      for (const w of result.warnings) note(io, `warning: ${w}`);
      say(io, 'Verification succeeded');
      say(io, `  digest:    ${result.digest}`);
      say(io, `  signer:    ${describeSigner(result.signer)}`);
      say(
        io,
        `  resources: ${result.resourcesChecked} checked (${result.serialization.method}/${result.serialization.hashType})`,
      );
      if (attestations !== undefined) {
        say(io, `  attested:  ${flags.require} (${attestations.length} attestation(s) found)`);
      }
    }
    return 0;
  } finally {
    progress.stop();
  }
}

function describeSigner(s: SignerFacts): string {
  switch (s.kind) {
    case 'key':
      return `${s.keyType} key ${s.hint}`;
    case 'certificate':
      return `certificate ${s.subject} (issuer ${s.issuer})`;
    case 'keyless':
      return `${s.identity} via ${s.issuer}${s.integratedTime === undefined ? '' : ` (logged ${s.integratedTime})`}`;
  }
}

// ── inspect ─────────────────────────────────────────────────────────────────────────────

export async function inspectCommand(
  io: Io,
  signature: string,
  flags: { json?: boolean },
): Promise<number> {
  const claims = await inspectSignature(resolve(io.cwd, signature));
  if (flags.json) {
    printJson(io, { ok: true, ...claims });
    return 0;
  }
  say(io, 'UNVERIFIED — what this bundle claims; nothing below has been checked:');
  say(io, `  media type:     ${claims.mediaType}`);
  say(io, `  payload type:   ${claims.payloadType}`);
  say(io, `  predicate:      ${claims.predicateType ?? '(none)'}`);
  say(
    io,
    `  subject:        ${claims.subjectName ?? '(none)'} ${claims.subjectDigest === undefined ? '' : `sha256:${claims.subjectDigest}`}`,
  );
  say(io, `  serialization:  ${JSON.stringify(claims.serialization)}`);
  say(io, `  resources:      ${claims.resourceCount ?? '(unknown)'}`);
  const s = claims.signer;
  switch (s.kind) {
    case 'key':
      say(io, `  signer:         public key, hint ${s.hint ?? '(none)'}`);
      break;
    case 'certificate':
    case 'keyless':
      say(
        io,
        `  signer:         ${s.kind} ${s.subject} (issuer ${s.issuer})${s.subjectAlternativeName === undefined ? '' : ` SAN ${s.subjectAlternativeName}`}`,
      );
      break;
  }
  say(io, 'Run `cairn verify` to check any of it.');
  return 0;
}

/**
 * A verification for `--json`, its resources written a slice at a time by `printJson` rather
 * than built whole (an object per file: megabytes on a model of many files). Same keys, same
 * order, same JSON.
 */
function verificationJson(result: ModelVerification): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(result) as (keyof ModelVerification)[]) {
    out[key] =
      key === 'resources'
        ? new JsonArray(result.resourcesChecked, (from, to) =>
            resourceChecksBetween(result, from, to),
          )
        : result[key];
  }
  return out;
}

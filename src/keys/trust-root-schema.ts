import { z } from 'zod';
import {
  MAX_CA_ROOTS,
  MAX_PATTERNS,
  MAX_ROOT_KEYS,
  MAX_SIGNATURES,
  MAX_SIGNERS,
  TRUST_ROOT_CHECKPOINT_MEDIA_TYPE,
  TRUST_ROOT_PAYLOAD_TYPE,
} from './trust-root-limits.js';

/**
 * The zod schemas of trust-root.ts, in a module of their own so that loading the keys domain
 * (every `cairn sign`) does not load zod (~75 ms here); trust-root.ts requires this module the
 * first time it parses something.
 */

// ── document schema ─────────────────────────────────────────────────────────────────────

const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;
const time = z
  .string()
  .refine(
    (s) => TIME.test(s) && !Number.isNaN(Date.parse(s)),
    'must be an RFC 3339 UTC time like 2026-01-31T12:00:00Z',
  );
const id = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/, 'must be 1-128 of A-Z a-z 0-9 . _ @ : -');
const pem = z
  .string()
  .max(16 * 1024)
  .regex(
    /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?$/,
    'must be an SPKI PEM public key',
  );
const keyid = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
/** Repository/environment globs: `*` within one path segment, `**` across segments, anchored. */
const glob = z
  .string()
  .max(256)
  .regex(/^[A-Za-z0-9._*/-]+$/, 'may only hold A-Z a-z 0-9 . _ - / and * wildcards')
  .refine((s) => !/\*{3,}/.test(s), 'has more than two * in a row');
const text = z.string().min(1).max(1024);
const certificatePem = z
  .string()
  .max(16 * 1024)
  .regex(
    /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?$/,
    'must be one PEM certificate',
  );

export const rootKeySchema = z.strictObject({ keyid, publicKey: pem });

const identitySchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('key'), keyid, publicKey: pem }),
  z.strictObject({
    kind: z.literal('certificate'),
    subject: text,
    issuer: text,
    /** CA roots the certificate chain must lead to; else the verifier supplies them. */
    roots: z.optional(z.array(certificatePem).min(1).max(MAX_CA_ROOTS)),
  }),
  z.strictObject({ kind: z.literal('keyless'), identity: text, issuer: text }),
]);

const scopesSchema = z.strictObject({
  repositories: z.array(glob).min(1).max(MAX_PATTERNS),
  environments: z.array(glob).min(1).max(MAX_PATTERNS),
  predicateTypes: z.array(text).min(1).max(MAX_PATTERNS),
});

const revocationSchema = z.strictObject({
  reason: text,
  compromisedSince: time,
  revokedAt: time,
});

const signerSchema = z.strictObject({
  id,
  identity: identitySchema,
  scopes: scopesSchema,
  notBefore: time,
  notAfter: z.optional(time),
  status: z.enum(['active', 'revoked']),
  revocation: z.optional(revocationSchema),
  /** The signer this one took over from (`cairn trust rotate`): both count as one signer. */
  replaces: z.optional(id),
});

export const documentSchema = z.strictObject({
  mediaType: z.literal(TRUST_ROOT_PAYLOAD_TYPE),
  version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  issuedAt: time,
  root: z.strictObject({
    threshold: z.number().int().min(1).max(MAX_ROOT_KEYS),
    keys: z.array(rootKeySchema).min(1).max(MAX_ROOT_KEYS),
  }),
  signers: z.array(signerSchema).max(MAX_SIGNERS),
});

export const envelopeSchema = z.strictObject({
  payloadType: z.literal(TRUST_ROOT_PAYLOAD_TYPE),
  payload: z.string().min(1),
  signatures: z
    .array(z.strictObject({ keyid, sig: z.string().min(1).max(1024) }))
    .min(1)
    .max(MAX_SIGNATURES),
});

export const checkpointSchema = z.strictObject({
  mediaType: z.literal(TRUST_ROOT_CHECKPOINT_MEDIA_TYPE),
  /** Where the trust root was read from (the file's absolute path): one checkpoint per place. */
  location: z.string().min(1).max(4096),
  version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  payloadSha256: keyid,
  root: z.strictObject({
    threshold: z.number().int().min(1).max(MAX_ROOT_KEYS),
    keys: z.array(rootKeySchema).min(1).max(MAX_ROOT_KEYS),
  }),
  recordedAt: time,
});

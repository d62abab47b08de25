import { z } from 'zod';
import { decodeBase64Strict } from './base64.js';
import { MAX_CHAIN_CERTIFICATES, MAX_DSSE_SIGNATURES, MAX_TLOG_ENTRIES } from './constants.js';

/**
 * The zod schema of bundle.ts, in a module of its own so that signing (which only writes
 * bundles) does not load zod (~75 ms here); bundle.ts requires this module the first time it
 * parses a bundle.
 */

const base64Bytes = z.string().transform((text, ctx) => {
  const bytes = decodeBase64Strict(text);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: 'not strict standard base64 (with padding)' });
    return z.NEVER;
  }
  return bytes;
});

const nonEmptyBase64Bytes = base64Bytes.refine((b) => b.length > 0, 'must not be empty');

const hexHint = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');

const publicKeySchema = z.strictObject({
  hint: z.optional(z.nullable(hexHint)),
  rawBytes: z.optional(nonEmptyBase64Bytes),
  keyDetails: z.optional(z.string()),
});

const certificateSchema = z.strictObject({ rawBytes: nonEmptyBase64Bytes });

const verificationMaterialSchema = z
  .strictObject({
    publicKey: z.optional(publicKeySchema),
    x509CertificateChain: z.optional(
      z.strictObject({
        certificates: z.array(certificateSchema).min(1).max(MAX_CHAIN_CERTIFICATES),
      }),
    ),
    certificate: z.optional(certificateSchema),
    tlogEntries: z.optional(z.array(z.looseObject({})).max(MAX_TLOG_ENTRIES)),
    timestampVerificationData: z.optional(z.looseObject({})),
  })
  .superRefine((vm, ctx) => {
    const present = (['publicKey', 'x509CertificateChain', 'certificate'] as const).filter(
      (k) => vm[k] !== undefined,
    );
    if (present.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          present.length === 0
            ? 'needs one of publicKey, x509CertificateChain, certificate'
            : `has more than one of ${present.join(', ')}`,
      });
    }
  });

const dsseEnvelopeSchema = z.strictObject({
  payload: base64Bytes,
  payloadType: z.string(),
  signatures: z
    .array(
      z.strictObject({
        sig: nonEmptyBase64Bytes,
        keyid: z.optional(z.nullable(z.string())),
      }),
    )
    .min(1)
    .max(MAX_DSSE_SIGNATURES),
});

export const bundleSchema = z.strictObject({
  mediaType: z.string(),
  verificationMaterial: verificationMaterialSchema,
  dsseEnvelope: z.optional(dsseEnvelopeSchema),
  // Known to Sigstore, never an OMS signature: recognised so the error can say so.
  messageSignature: z.optional(z.unknown()),
});

import { createPublicKey, X509Certificate } from 'node:crypto';
import { z } from 'zod';

/**
 * The zod schemas of sigstore-trust.ts, in a module of their own so that loading the keys domain
 * (every `cairn sign`) does not load zod (~75 ms here); sigstore-trust.ts requires this module
 * the first time it parses something.
 */

export const TRUSTED_ROOT_MEDIA_TYPES = [
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  'application/vnd.dev.sigstore.trustedroot.v0.2+json',
] as const;

export const base64Bytes = z.base64();
const rfc3339 = z.iso.datetime({ offset: true });
export const timeRange = z.object({ start: rfc3339, end: rfc3339.optional() });
const logId = z.object({ keyId: base64Bytes });
export const transparencyLog = z.object({
  baseUrl: z.url(),
  hashAlgorithm: z.string().min(1),
  publicKey: z.object({
    rawBytes: base64Bytes,
    keyDetails: z.string().min(1),
    validFor: timeRange,
  }),
  logId,
  checkpointKeyId: logId.optional(),
  operator: z.string().optional(),
});
export const certificateAuthority = z.object({
  subject: z
    .object({ organization: z.string().optional(), commonName: z.string().optional() })
    .optional(),
  uri: z.string(),
  certChain: z.object({ certificates: z.array(z.object({ rawBytes: base64Bytes })).min(1) }),
  validFor: timeRange,
  operator: z.string().optional(),
});

export type TimeRangeJSON = z.infer<typeof timeRange>;

export const trustedRootSchema = z
  .object({
    mediaType: z.enum(TRUSTED_ROOT_MEDIA_TYPES),
    // Keyless verification needs at least one Rekor log and one Fulcio CA; CT logs and TSAs may be
    // absent from a private deployment's root, and the verifier then fails on its thresholds.
    tlogs: z.array(transparencyLog).min(1),
    certificateAuthorities: z.array(certificateAuthority).min(1),
    ctlogs: z.array(transparencyLog),
    timestampAuthorities: z.array(certificateAuthority).optional(),
  })
  .superRefine((root, ctx) => {
    // The shape alone does not make usable trust material: keys and certificates must parse, log
    // IDs must be SHA-256 sized (that is how bundles name them) and windows must not be inverted.
    const checkRange = (range: TimeRangeJSON, at: PropertyKey[]): void => {
      if (range.end !== undefined && Date.parse(range.end) < Date.parse(range.start)) {
        ctx.addIssue({ code: 'custom', path: [...at, 'end'], message: 'ends before it starts' });
      }
    };
    const checkLogs = (logs: readonly z.infer<typeof transparencyLog>[], key: string): void => {
      logs.forEach((log, i) => {
        const at = [key, i];
        const der = Buffer.from(log.publicKey.rawBytes, 'base64');
        const type = log.publicKey.keyDetails.startsWith('PKCS1_') ? 'pkcs1' : 'spki';
        try {
          createPublicKey({ key: der, format: 'der', type });
        } catch {
          ctx.addIssue({
            code: 'custom',
            path: [...at, 'publicKey', 'rawBytes'],
            message: `not a DER ${type} public key`,
          });
        }
        checkRange(log.publicKey.validFor, [...at, 'publicKey', 'validFor']);
        for (const idKey of ['logId', 'checkpointKeyId'] as const) {
          const id = log[idKey];
          if (id !== undefined && Buffer.from(id.keyId, 'base64').length !== 32) {
            ctx.addIssue({
              code: 'custom',
              path: [...at, idKey, 'keyId'],
              message: 'a log ID is 32 bytes',
            });
          }
        }
      });
    };
    const checkAuthorities = (
      cas: readonly z.infer<typeof certificateAuthority>[],
      key: string,
    ): void => {
      cas.forEach((ca, i) => {
        ca.certChain.certificates.forEach((cert, j) => {
          try {
            new X509Certificate(Buffer.from(cert.rawBytes, 'base64'));
          } catch {
            ctx.addIssue({
              code: 'custom',
              path: [key, i, 'certChain', 'certificates', j, 'rawBytes'],
              message: 'not a DER X.509 certificate',
            });
          }
        });
        checkRange(ca.validFor, [key, i, 'validFor']);
      });
    };
    checkLogs(root.tlogs, 'tlogs');
    checkLogs(root.ctlogs, 'ctlogs');
    checkAuthorities(root.certificateAuthorities, 'certificateAuthorities');
    checkAuthorities(root.timestampAuthorities ?? [], 'timestampAuthorities');
  });

export const seedsSchema = z.record(
  z.string(),
  z.object({ 'root.json': base64Bytes, targets: z.record(z.string(), base64Bytes) }),
);

export const packageVersionSchema = z.object({ version: z.string() });

import { VerificationError, isCairnError } from '../errors/index.js';
import { withApi } from './login.js';
import { note, printError, printJson, say, type Io } from './output.js';
import { parseReference } from './reference.js';
import { decisionSchema, type DecisionView } from './registry-client.js';

export interface PromoteFlags {
  readonly from: string;
  readonly to: string;
  readonly tag?: string;
  readonly server?: string;
  readonly json?: boolean;
}

const MARK = { satisfied: '✓', violated: '✗', waived: '~', 'not-applicable': '-' } as const;

/**
 * `cairn promote REPO@DIGEST --from staging --to production`: the server evaluates the policy and
 * copies by digest on allow. The decision is printed either way; on deny every violated
 * requirement with its remediation, exit 1.
 */
export async function promoteCommand(
  io: Io,
  reference: string,
  flags: PromoteFlags,
): Promise<number> {
  const ref = parseReference(reference);
  if (ref.kind !== 'digest') {
    throw new VerificationError(
      'REFERENCE_NOT_PINNED',
      `Promote by digest, not by tag: ${reference}`,
      { hint: 'Resolve the tag with `cairn tags REPO` and promote REPO@sha256:… .' },
    );
  }
  return withApi(io, flags.server, async (api) => {
    try {
      const res = await api.promote(ref.repository, {
        digest: ref.digest,
        from: flags.from,
        to: flags.to,
        ...(flags.tag === undefined ? {} : { tag: flags.tag }),
      });
      if (flags.json) {
        printJson(io, { ok: true, decision: res.decision, promotion: res.promotion });
      } else {
        printPromotionDecision(io, res.decision);
        const p = res.promotion;
        say(io, `Promoted ${ref.repository}@${p.digest} from ${p.from} to ${p.to}`);
        if (p.tag !== undefined) say(io, `  tag:         ${p.tag.tag} → ${p.tag.digest}`);
        say(io, `  audit seq:   ${p.auditSeq}`);
        say(
          io,
          `  attestation: ${p.attestation === null ? 'none (the server holds no signing key)' : `${p.attestation.predicateType} ${p.attestation.id}`}`,
        );
      }
      return 0;
    } catch (err) {
      if (!isCairnError(err) || err.code !== 'POLICY_DENIED') throw err;
      const parsed = decisionSchema.safeParse(err.details?.['decision']);
      if (!parsed.success) throw err;
      const denied = new VerificationError('POLICY_DENIED', parsed.data.reason, {
        hint: parsed.data.remediation,
      });
      if (flags.json) {
        printJson(io, { ok: false, decision: parsed.data, error: denied.toJSON() });
      } else {
        printPromotionDecision(io, parsed.data);
        printError(io, denied);
      }
      return denied.exitCode;
    }
  });
}

/** The decision for a person: the verdict, why, what to do, then each requirement. */
export function printPromotionDecision(io: Io, d: DecisionView): void {
  const a = d.artifact;
  say(
    io,
    `${d.outcome.toUpperCase()}  ${a.reference}  into ${a.environment}${a.identity === undefined ? '' : `  (by ${a.identity})`}`,
  );
  say(io, d.reason);
  if (!d.allowed) say(io, `What to do: ${d.remediation}`);
  for (const p of d.policies) {
    say(io, `policy ${p.name} (${p.mode})`);
    for (const r of p.requirements) {
      say(io, `  ${MARK[r.status]}  ${r.requirement.padEnd(24)} ${r.reason}`);
      if (r.status === 'violated' && r.remediation !== undefined) {
        say(io, `        fix: ${r.remediation}`);
      }
      if (r.status === 'waived' && r.waivedBy !== undefined) {
        say(io, `        waived by exception ${r.waivedBy}`);
      }
    }
  }
  if (d.breakGlass.length > 0) {
    note(io, 'warning: allowed by break-glass; the incident is flagged for post-incident review');
  }
  for (const n of d.notes) note(io, `note: ${n}`);
}

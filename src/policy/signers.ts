import type { SignerFacts } from '../verify/index.js';
import type { RequesterIdentity } from './facts.js';
import { matchPattern } from './glob.js';
import type { IdentityMatcher, NameMatcher, SignerMatcher } from './model.js';

/** A verified signer, with what thresholds count it by. */
export interface SignerView {
  readonly facts: SignerFacts;
  readonly trustRootSigner?: string;
  /** The first id of the trust-root signer's rotation line, when it differs. */
  readonly trustRootPrincipal?: string;
}

/**
 * The key a signer is counted distinct by (STYLE.md §5): its trust-root name when it has one
 * (one person, several keys, counts once); else the key hint, the certificate subject under its
 * root (a renewed certificate is the same signer), or the keyless identity under its issuer.
 */
export function distinctSignerKey(signer: SignerView): string {
  if (signer.trustRootSigner !== undefined) {
    return `trust-root:${signer.trustRootPrincipal ?? signer.trustRootSigner}`;
  }
  const f = signer.facts;
  switch (f.kind) {
    case 'key':
      return `key:${f.hint}`;
    case 'certificate':
      return `certificate:${f.chainFingerprints.at(-1) ?? ''}:${f.subject}`;
    case 'keyless':
      return `keyless:${f.issuer} ${f.identity}`;
  }
}

const signerNames = new WeakMap<SignerFacts, string>();
const matcherNames = new WeakMap<SignerMatcher, string>();

/** How a signer reads in a reason: `key 3f5a…c1`, `alice@acme.com (https://accounts.google.com)`. */
export function describeSigner(signer: SignerView): string {
  if (signer.trustRootSigner !== undefined) return describeSignerUncached(signer);
  let name = signerNames.get(signer.facts);
  if (name === undefined) {
    name = describeSignerUncached(signer);
    signerNames.set(signer.facts, name);
  }
  return name;
}

function describeSignerUncached(signer: SignerView): string {
  const f = signer.facts;
  const name = signer.trustRootSigner === undefined ? '' : ` [${signer.trustRootSigner}]`;
  switch (f.kind) {
    case 'key':
      return `key ${shortHex(f.hint)}${name}`;
    case 'certificate':
      return `certificate "${f.subject}"${name}`;
    case 'keyless':
      return `${f.identity} (${f.issuer})${name}`;
  }
}

export function describeSignerMatcher(m: SignerMatcher): string {
  let name = matcherNames.get(m);
  if (name === undefined) {
    name = describeSignerMatcherUncached(m);
    matcherNames.set(m, name);
  }
  return name;
}

function describeSignerMatcherUncached(m: SignerMatcher): string {
  switch (m.kind) {
    case 'key':
      return `key ${shortHex(m.hint)}`;
    case 'certificate': {
      const parts = [
        m.subject === undefined ? undefined : `"${m.subject}"`,
        m.fingerprint === undefined ? undefined : `fingerprint ${shortHex(m.fingerprint)}`,
        m.root === undefined ? undefined : `under root ${shortHex(m.root)}`,
      ].filter((p) => p !== undefined);
      return `certificate ${parts.join(' ')}`;
    }
    case 'keyless':
      return `${describeNameMatcher(m.identity)} (${m.issuer})`;
    case 'trust-root':
      return `trust-root signer ${m.name}`;
  }
}

export function describeNameMatcher(m: NameMatcher): string {
  switch (m.kind) {
    case 'exact':
      return m.value;
    case 'pattern':
      return `pattern ${m.pattern.source}`;
  }
}

function shortHex(hex: string): string {
  return hex.length > 16 ? `${hex.slice(0, 8)}…${hex.slice(-4)}` : hex;
}

export function matchName(m: NameMatcher, value: string): boolean {
  switch (m.kind) {
    case 'exact':
      return m.value === value;
    case 'pattern':
      return matchPattern(m.pattern, value);
  }
}

export function matchSigner(m: SignerMatcher, signer: SignerView): boolean {
  const f = signer.facts;
  switch (m.kind) {
    case 'key':
      return f.kind === 'key' && f.hint === m.hint;
    case 'certificate':
      return (
        f.kind === 'certificate' &&
        (m.fingerprint === undefined || f.chainFingerprints[0] === m.fingerprint) &&
        (m.subject === undefined || f.subject === m.subject) &&
        (m.root === undefined || f.chainFingerprints.at(-1) === m.root)
      );
    case 'keyless':
      return f.kind === 'keyless' && f.issuer === m.issuer && matchName(m.identity, f.identity);
    case 'trust-root':
      return (
        signer.trustRootSigner !== undefined &&
        (signer.trustRootSigner === m.name || signer.trustRootPrincipal === m.name)
      );
  }
}

export function matchIdentity(m: IdentityMatcher, who: RequesterIdentity): boolean {
  return (m.issuer === undefined || m.issuer === who.issuer) && matchName(m.identity, who.subject);
}

export function describeIdentityMatcher(m: IdentityMatcher): string {
  const name = describeNameMatcher(m.identity);
  return m.issuer === undefined ? name : `${name} (${m.issuer})`;
}

/**
 * The largest number of matchers that can each be given a different signer (bipartite matching
 * by augmenting paths; lists are small). `allOf` holds when every matcher gets its own signer, so
 * one signer matching two entries does not satisfy both.
 */
export function assignDistinctSigners(
  matchers: readonly SignerMatcher[],
  signers: readonly { readonly key: string; readonly view: SignerView }[],
): { readonly assigned: number; readonly unassigned: readonly number[] } {
  const owner = new Map<string, number>();
  const tryAssign = (i: number, seen: Set<string>): boolean => {
    for (const s of signers) {
      if (seen.has(s.key) || !matchSigner(matchers[i]!, s.view)) continue;
      seen.add(s.key);
      const current = owner.get(s.key);
      if (current === undefined || tryAssign(current, seen)) {
        owner.set(s.key, i);
        return true;
      }
    }
    return false;
  };
  const unassigned: number[] = [];
  for (let i = 0; i < matchers.length; i++) {
    if (!tryAssign(i, new Set())) unassigned.push(i);
  }
  return { assigned: matchers.length - unassigned.length, unassigned };
}

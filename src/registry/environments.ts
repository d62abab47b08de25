import { UsageError } from '../errors/index.js';
import { isEnvironmentName } from './names.js';

/** How an environment may be written and read. */
export interface EnvironmentConfig {
  readonly name: string;
  /** Artifacts enter only by promotion: direct pushes are refused for everyone. */
  readonly promotionOnly: boolean;
  /**
   * Retrieval needs an allowed identity and the digest; the server re-verifies signatures and
   * the policy before serving, and fails closed.
   */
  readonly protected: boolean;
}

/** `staging` takes pushes; `production` takes only promotions and is protected. */
export const DEFAULT_ENVIRONMENTS: readonly EnvironmentConfig[] = [
  { name: 'staging', promotionOnly: false, protected: false },
  { name: 'production', promotionOnly: true, protected: true },
];

/** Checks a configured environment list: valid, unique names, at least one. */
export function checkEnvironments(
  environments: readonly EnvironmentConfig[],
): readonly EnvironmentConfig[] {
  const names = environments.map((e) => e.name);
  const bad = names.filter((n) => !isEnvironmentName(n));
  const dup = names.filter((n, i) => names.indexOf(n) !== i);
  if (environments.length === 0 || bad.length > 0 || dup.length > 0) {
    throw new UsageError('USAGE', 'The environment configuration is not valid', {
      details: { invalid: bad, duplicates: dup },
      hint: 'Give at least one environment; names are lowercase a-z0-9-, start with a letter, unique.',
    });
  }
  return environments;
}

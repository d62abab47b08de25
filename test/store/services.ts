import type { TestContext } from 'node:test';

/**
 * A test that needs a service (PostgreSQL, docker-registry) that is not installed: under CI=true
 * that is a failure (CI installs them, see .ci/run); locally the test is skipped, loudly.
 */
export function requireService(t: TestContext, service: string, install: string): void {
  if (process.env['CI'] === 'true') {
    throw new Error(`${service} is not available; CI must have it (${install})`);
  }
  console.warn(`\n*** SKIPPING ${t.name}: ${service} is not available (${install}) ***\n`);
  t.skip(`${service} not available`);
}

/**
 * A real, throwaway OCI distribution registry for the tests: Debian's `docker-registry` with a
 * minimal config (filesystem storage in a temporary directory, 127.0.0.1 on a free port, no auth),
 * stopped and removed afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './postgres-server.js';
import { requireService } from './services.js';

export const DOCKER_REGISTRY = '/usr/bin/docker-registry';

export interface RegistryServer {
  /** `oci://127.0.0.1:<port>/cairn/blobs` */
  readonly url: string;
  readonly port: number;
  /** The registry's storage root (its files, for tampering tests). */
  readonly dataDir: string;
  /** Stops the registry (the data stays); `start` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startRegistry(t: TestContext): Promise<RegistryServer | undefined> {
  if (!existsSync(DOCKER_REGISTRY)) {
    requireService(t, `docker-registry (${DOCKER_REGISTRY})`, 'apt-get install docker-registry');
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'cairn-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      // A fixed secret keeps upload state valid across a restart of the registry.
      `  secret: ${randomBytes(16).toString('hex')}`,
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    const proc = spawn(DOCKER_REGISTRY, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    });
    child = proc;
    for (let i = 0; i < 100; i++) {
      if (proc.exitCode !== null) break;
      const up = await fetch(`http://127.0.0.1:${port}/v2/`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (up) return;
      await sleep(100);
    }
    throw new Error(`docker-registry did not start: ${log}`);
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  };
  t.after(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await start();
  return {
    url: `oci://127.0.0.1:${port}/cairn/blobs`,
    port,
    dataDir: join(dir, 'data'),
    stop,
    start,
  };
}

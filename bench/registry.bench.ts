/**
 * Registry benchmark (issue 6).
 *
 * 1. Verified retrieval throughput: `cairn pull` of a large one-file artifact and of an artifact
 *    of many small files (every file hashed while it streams, the signature and root digest
 *    verified again, the directory renamed into place), against the same bytes served by Debian's
 *    `docker-registry` (distribution 2.8, filesystem storage, on loopback) and fetched with the
 *    same HTTP client, each blob SHA-256-checked while it streams and written to disk the same way.
 *    Target: Cairn ≥ 0.8× the docker-registry throughput.
 * 2. Promotion decision latency under concurrent load: POST /promotions from staging to
 *    production of PROMOTIONS distinct signed artifacts (signature verified against the trust
 *    root, policy evaluated, artifact copied by digest, verification summary signed, decision
 *    audited), CONCURRENCY requests in flight; p50 and p99.
 *
 * Both servers run as separate processes (`node bin/cairn.js serve`, `docker-registry serve`);
 * the client runs in this process. Sizes:
 *
 *   node dist/bench/registry.bench.js [--large-mib=N] [--small-count=N] [--small-kib=N]
 *                                     [--promotions=N] [--concurrency=N] [--rounds=N]
 *
 * (or BENCH_LARGE_MIB, BENCH_SMALL_COUNT, BENCH_SMALL_KIB, BENCH_PROMOTIONS, BENCH_CONCURRENCY,
 * BENCH_ROUNDS). Defaults — 256 MiB, 500 × 64 KiB, 200 promotions at 8 — run in about a minute;
 * the figures use --large-mib=1024 --small-count=2000. Writes bench/out/registry.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { loadavg, tmpdir, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { main } from '../src/cli/index.js';
import { RegistryApi, RegistryClient } from '../src/cli/registry-client.js';
import { runPool } from '../src/cli/transfer.js';
import { POLICY_API_VERSION } from '../src/policy/index.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(REPO, 'bin', 'cairn.js');
const DOCKER_REGISTRY = '/usr/bin/docker-registry';

function setting(name: string, env: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const raw = arg?.slice(name.length + 3) ?? process.env[env];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
}

const LARGE_MIB = setting('large-mib', 'BENCH_LARGE_MIB', 256);
const SMALL_COUNT = setting('small-count', 'BENCH_SMALL_COUNT', 500);
const SMALL_KIB = setting('small-kib', 'BENCH_SMALL_KIB', 64);
const PROMOTIONS = setting('promotions', 'BENCH_PROMOTIONS', 200);
const CONCURRENCY = setting('concurrency', 'BENCH_CONCURRENCY', 8);
const ROUNDS = setting('rounds', 'BENCH_ROUNDS', 3);
/** `--serve-cpu-prof=DIR`: write a V8 CPU profile of `cairn serve` there (profile the client with `node --cpu-prof`). */
const SERVE_CPU_PROF = process.argv
  .find((a) => a.startsWith('--serve-cpu-prof='))
  ?.slice('--serve-cpu-prof='.length);

const work = mkdtempSync(join(tmpdir(), 'cairn-registry-bench-'));
const children: ChildProcess[] = [];

function cleanup(): void {
  for (const c of children) c.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });
}

/** Runs the CLI in this process; returns stdout parsed as JSON (throws on a non-zero exit). */
async function cairn(args: string[], env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  const errs: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  err.on('data', (c: Buffer) => errs.push(c));
  const code = await main(['node', 'cairn', ...args, '--json'], {
    stdout: out,
    stderr: err,
    env,
    cwd: work,
  });
  const text = Buffer.concat(chunks).toString('utf8');
  if (code !== 0) {
    throw new Error(`cairn ${args[0]} exited ${code}: ${text}${Buffer.concat(errs).toString()}`);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/** Writes `bytes` of random data (not compressible, not dedup-able) in 8 MiB pieces. */
function randomFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  const buf = Buffer.alloc(Math.min(bytes, 8 * 1024 * 1024));
  for (let done = 0; done < bytes;) {
    const n = Math.min(buf.length, bytes - done);
    randomFillSync(buf, 0, n);
    writeSync(fd, buf, 0, n);
    done += n;
  }
  closeSync(fd);
}

/** Resolves with the first JSON object `cairn serve --json` prints (pretty-printed, several lines). */
function serveStartup(child: ChildProcess): Promise<{ url: string; bootstrapAdminToken: string }> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (c: Buffer) => {
      seen += c.toString();
      const end = seen.indexOf('\n}\n');
      if (end === -1) return;
      try {
        const info = JSON.parse(seen.slice(seen.indexOf('{'), end + 2)) as {
          url: string;
          bootstrapAdminToken: string;
        };
        if (typeof info.url !== 'string') throw new Error(`cairn serve: ${JSON.stringify(info)}`);
        resolve(info);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    child.stderr?.on('data', (c: Buffer) => (seen += c.toString()));
    child.once('exit', (code) => reject(new Error(`cairn serve exited ${code}: ${seen}`)));
    setTimeout(() => reject(new Error(`cairn serve did not start: ${seen}`)), 30_000).unref();
  });
}

/** CPU seconds (user + system) a child process has used so far, from /proc (Linux). */
function processCpu(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

/** CPU seconds this process has used so far. */
function ownCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function startDockerRegistry(): Promise<{ url: string; pid: number | undefined }> {
  const dir = join(work, 'docker-registry');
  mkdirSync(dir);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
`,
  );
  const child = spawn(DOCKER_REGISTRY, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`${url}/v2/`);
      if (res.ok) return { url, pid: child.pid };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('docker-registry did not start');
}

/** Monolithic OCI upload (POST then PUT ?digest=). */
async function dockerPut(client: RegistryClient, name: string, file: string, digest: string) {
  const post = await client.request('POST', `/v2/${name}/blobs/uploads/`);
  post.body.resume();
  const location = post.headers.location;
  if (post.status !== 202 || location === undefined) throw new Error(`upload: ${post.status}`);
  const url = new URL(location, client.server);
  url.searchParams.set('digest', digest);
  const put = await client.request('PUT', `${url.pathname}${url.search}`, {
    headers: { 'content-type': 'application/octet-stream' },
    body: readFileSync(file),
  });
  put.body.resume();
  if (put.status !== 201) throw new Error(`upload commit: ${put.status}`);
}

interface Artifact {
  readonly name: string;
  readonly model: string;
  readonly digest: string;
  readonly files: { name: string; blob: string; size: number }[];
  readonly bytes: number;
}

/** Fetch every blob of `a` from docker-registry into a fresh directory, checked as it streams. */
async function dockerFetch(client: RegistryClient, a: Artifact, out: string): Promise<void> {
  for (const f of a.files) mkdirSync(dirname(join(out, f.name)), { recursive: true });
  await runPool(a.files, 8, async (f) => {
    const res = await client.request('GET', `/v2/bench/${a.name}/blobs/${f.blob}`, {
      headers: { accept: 'application/octet-stream' },
    });
    if (res.status !== 200) throw new Error(`GET blob: ${res.status}`);
    const got = await client.downloadTo(res, join(out, f.name), f.size);
    if (got.digest !== f.blob || got.size !== f.size) throw new Error('docker blob mismatch');
  });
}

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

async function main2(): Promise<void> {
  const started = new Date().toISOString();
  const loadBefore = loadavg();
  const home = join(work, 'home');
  mkdirSync(home);
  const baseEnv: NodeJS.ProcessEnv = { XDG_CONFIG_HOME: home, HOME: home, CAIRN_STATE_DIR: home };

  // ── keys, trust root, policy ──
  const keyPath = join(work, 'signer.pem');
  await cairn(['keygen', '--out', keyPath], baseEnv);
  const rootKey = join(work, 'root.pem');
  await cairn(['keygen', '--out', rootKey], baseEnv);
  const trustRoot = join(work, 'trust-root.json');
  const rootFlags = ['--root-key', rootKey, '--allow-unencrypted-key'];
  await cairn(['trust', 'init', trustRoot, '--threshold', '1', ...rootFlags], baseEnv);
  await cairn(
    [
      'trust',
      'add-signer',
      trustRoot,
      ...rootFlags,
      '--id',
      'ci',
      '--public-key',
      `${keyPath}.pub`,
      '--repository',
      '**',
      '--environment',
      '**',
    ],
    baseEnv,
  );
  const policyDir = join(work, 'policies');
  mkdirSync(policyDir);
  writeFileSync(
    join(policyDir, 'production.yaml'),
    `apiVersion: ${POLICY_API_VERSION}
kind: ModelPolicy
metadata:
  name: production
spec:
  match:
    repositories: ["bench/*"]
    environments: [production]
  mode: enforce
  requireDigest: true
  signatures:
    - name: ci
      anyOf: [{trustRoot: ci}]
`,
  );

  // ── models ──
  const large = join(work, 'large');
  mkdirSync(large);
  randomFile(join(large, 'weights.bin'), LARGE_MIB * 1024 * 1024);
  const small = join(work, 'small');
  mkdirSync(small);
  for (let i = 0; i < SMALL_COUNT; i++) {
    const dir = join(small, `shard-${String(Math.floor(i / 100)).padStart(3, '0')}`);
    if (i % 100 === 0) mkdirSync(dir);
    randomFile(join(dir, `part-${String(i).padStart(5, '0')}.bin`), SMALL_KIB * 1024);
  }
  for (const m of [large, small]) {
    await cairn(['sign', m, '--private-key', keyPath, '--allow-unencrypted-key'], baseEnv);
  }

  // ── servers ──
  const serve = spawn(
    process.execPath,
    [
      ...(SERVE_CPU_PROF === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${SERVE_CPU_PROF}`]),
      CLI,
      'serve',
      '--data-dir',
      join(work, 'cairn-data'),
      '--port',
      '0',
      '--trust-root',
      trustRoot,
      '--policy',
      policyDir,
      '--signing-key',
      keyPath,
      '--json',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...baseEnv, CAIRN_LOG_LEVEL: 'error' },
    },
  );
  children.push(serve);
  const started2 = await serveStartup(serve);
  const startup = { url: started2.url, token: started2.bootstrapAdminToken };
  const env = { ...baseEnv, CAIRN_TOKEN: startup.token, CAIRN_SERVER: startup.url };
  const dockerRegistry = await startDockerRegistry();
  const docker = new RegistryClient({ server: dockerRegistry.url });
  const api = new RegistryApi(new RegistryClient({ server: startup.url, token: startup.token }));
  await api.client.json('POST', '/v1/repos', z.unknown(), {
    json: { name: 'bench/large' },
  });
  await api.client.json('POST', '/v1/repos', z.unknown(), {
    json: { name: 'bench/small' },
  });

  const artifacts: Artifact[] = [];
  for (const [name, model] of [
    ['large', large],
    ['small', small],
  ] as const) {
    const pushed = await cairn(['push', model, `bench/${name}`], env);
    const digest = pushed['digest'] as string;
    const got = await api.getArtifact(`bench/${name}`, 'staging', digest);
    const files = got.artifact.resources.map((r) => ({ ...r }));
    for (const f of files) await dockerPut(docker, `bench/${name}`, join(model, f.name), f.blob);
    artifacts.push({
      name,
      model,
      digest,
      files,
      bytes: files.reduce((n, f) => n + f.size, 0),
    });
  }

  // ── retrieval: alternate docker-registry and cairn pull, ROUNDS each ──
  const retrieval = [];
  for (const a of artifacts) {
    const cairnTimes: number[] = [];
    const dockerTimes: number[] = [];
    // CPU seconds per fetch, [server, client]: load-independent, unlike the wall-clock rates.
    const cairnCpu: [number, number][] = [];
    const dockerCpu: [number, number][] = [];
    let verification: unknown;
    for (let round = 0; round < ROUNDS; round++) {
      const dOut = join(work, `docker-${a.name}-${round}`);
      let cpu = [processCpu(dockerRegistry.pid), ownCpu()] as const;
      let t0 = process.hrtime.bigint();
      await dockerFetch(docker, a, dOut);
      dockerTimes.push(seconds(t0));
      dockerCpu.push([processCpu(dockerRegistry.pid) - cpu[0], ownCpu() - cpu[1]]);
      rmSync(dOut, { recursive: true, force: true });

      const cOut = join(work, `cairn-${a.name}-${round}`);
      cpu = [processCpu(serve.pid), ownCpu()];
      t0 = process.hrtime.bigint();
      const pulled = await cairn(
        ['pull', `bench/${a.name}@${a.digest}`, '--out', cOut, '--trust-root', trustRoot],
        env,
      );
      cairnTimes.push(seconds(t0));
      cairnCpu.push([processCpu(serve.pid) - cpu[0], ownCpu() - cpu[1]]);
      verification = pulled['verification'];
      rmSync(cOut, { recursive: true, force: true });
    }
    const cpuMedian = (xs: [number, number][]) => ({
      serverS: Math.round(median(xs.map((x) => x[0])) * 100) / 100,
      clientS: Math.round(median(xs.map((x) => x[1])) * 100) / 100,
    });
    const mib = a.bytes / 1048576;
    const cairnMiBs = mib / median(cairnTimes);
    const dockerMiBs = mib / median(dockerTimes);
    retrieval.push({
      artifact: a.name,
      files: a.files.length,
      bytes: a.bytes,
      cairnPullS: median(cairnTimes),
      dockerRegistryS: median(dockerTimes),
      cairnMiBs: Math.round(cairnMiBs * 10) / 10,
      dockerRegistryMiBs: Math.round(dockerMiBs * 10) / 10,
      ratio: Math.round((cairnMiBs / dockerMiBs) * 100) / 100,
      cairnCpu: cpuMedian(cairnCpu),
      dockerRegistryCpu: cpuMedian(dockerCpu),
      verification,
    });
  }

  // ── promotion latency under concurrent load ──
  // Each request promotes a different signed artifact: promoting one digest again and again
  // would pile up its promotion attestations, which every later decision re-verifies.
  await api.client.json('POST', '/v1/repos', z.unknown(), { json: { name: 'bench/promo' } });
  const promoDigests: `sha256:${string}`[] = [];
  for (let i = 0; i < PROMOTIONS; i++) {
    const m = join(work, `promo-${i}`);
    mkdirSync(m);
    writeFileSync(join(m, 'config.json'), JSON.stringify({ model: i }));
    randomFile(join(m, 'weights.bin'), 64 * 1024);
    await cairn(['sign', m, '--private-key', keyPath, '--allow-unencrypted-key'], baseEnv);
    promoDigests.push(
      (await cairn(['push', m, 'bench/promo'], env))['digest'] as `sha256:${string}`,
    );
  }
  const latencies: number[] = [];
  const outcomes = new Map<string, number>();
  const t0 = process.hrtime.bigint();
  await runPool(promoDigests, CONCURRENCY, async (digest) => {
    const t = process.hrtime.bigint();
    const res = await api.promote('bench/promo', { digest, from: 'staging', to: 'production' });
    latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    outcomes.set(res.decision.outcome, (outcomes.get(res.decision.outcome) ?? 0) + 1);
  });
  const wall = seconds(t0);
  latencies.sort((a, b) => a - b);
  const promotion = {
    requests: PROMOTIONS,
    concurrency: CONCURRENCY,
    outcomes: Object.fromEntries(outcomes),
    p50Ms: Math.round(quantile(latencies, 0.5) * 10) / 10,
    p99Ms: Math.round(quantile(latencies, 0.99) * 10) / 10,
    maxMs: Math.round(latencies.at(-1)! * 10) / 10,
    perSecond: Math.round((PROMOTIONS / wall) * 10) / 10,
  };

  api.client.close();
  docker.close();
  const result = {
    started,
    host: { cpus: cpus().length, loadBefore, loadAfter: loadavg() },
    settings: {
      largeMiB: LARGE_MIB,
      smallCount: SMALL_COUNT,
      smallKiB: SMALL_KIB,
      rounds: ROUNDS,
      promotions: PROMOTIONS,
      concurrency: CONCURRENCY,
    },
    retrieval,
    promotion,
  };
  for (const r of retrieval) {
    console.log(
      `${r.artifact.padEnd(6)} ${String(r.files).padStart(5)} files ${(r.bytes / 1048576).toFixed(0).padStart(5)} MiB  cairn pull ${r.cairnMiBs} MiB/s  docker-registry ${r.dockerRegistryMiBs} MiB/s  ratio ${r.ratio}× (target ≥ 0.8×)  CPU s server+client: cairn ${r.cairnCpu.serverS}+${r.cairnCpu.clientS} (${String(r.verification)}) docker-registry ${r.dockerRegistryCpu.serverS}+${r.dockerRegistryCpu.clientS}`,
    );
  }
  console.log(
    `promotion decisions: ${PROMOTIONS} at concurrency ${CONCURRENCY}: p50 ${promotion.p50Ms} ms, p99 ${promotion.p99Ms} ms, ${promotion.perSecond}/s`,
  );
  const outDir = join(REPO, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'registry.json'), `${JSON.stringify(result, null, 2)}\n`);
}

try {
  await main2();
} finally {
  // The servers' pipes would keep this process alive.
  cleanup();
}

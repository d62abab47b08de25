/**
 * `npm run bench`: Cairn's model hashing against the ceilings the issue sets.
 *
 * Generates synthetic models once under BENCH_DIR (reused while the sizes match), then times, as
 * subprocesses, the built CLI (or the library stand-in while the CLI cannot run) against
 * `openssl dgst -sha256` / `b3sum` over the same files with `xargs -P$(nproc)`, and an uncached
 * verify against `dd iflag=direct` reads of the same files. Prints a table and writes
 * bench/out/hashing.json. See docs/performance.md.
 *
 * Sizes: BENCH_LARGE_FILES (3) × BENCH_LARGE_GIB (2) plus BENCH_LARGE_SMALL (200) small files;
 * BENCH_SMALL_FILES (20000) nested small files of up to BENCH_SMALL_MAX_KIB (256) KiB;
 * BENCH_MANY_FILES (72000) files of 64 bytes, about as many as one signature can list (memory);
 * BENCH_REPS (3) timed runs per measurement, the median is reported. Flags `--large-files=N`
 * etc. override the variables; `--only=large,small,shard,uncached,startup,many` picks scenarios.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NPROC = availableParallelism();
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function setting(name: string, flagName: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${flagName}=`));
  const raw = arg?.slice(flagName.length + 3) ?? process.env[name];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}/--${flagName}: bad value ${raw}`);
  return n;
}

const config = {
  dir: process.env['BENCH_DIR'] ?? join(tmpdir(), 'cairn-bench'),
  largeFiles: setting('BENCH_LARGE_FILES', 'large-files', 3),
  largeGiB: setting('BENCH_LARGE_GIB', 'large-gib', 2),
  largeSmall: setting('BENCH_LARGE_SMALL', 'large-small', 200),
  smallFiles: setting('BENCH_SMALL_FILES', 'small-files', 20000),
  smallMaxKiB: setting('BENCH_SMALL_MAX_KIB', 'small-max-kib', 256),
  manyFiles: setting('BENCH_MANY_FILES', 'many-files', 72000),
  reps: Math.max(1, setting('BENCH_REPS', 'reps', 3)),
};
const onlyArg = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const only = new Set((onlyArg ?? 'large,small,shard,uncached,startup,many').split(','));

// ── data generation ──────────────────────────────────────────────────────────────────────

/** Incompressible, deterministic bytes: AES-128-CTR keystream seeded by `seed`. */
function writeRandomFile(path: string, size: number, seed: string): void {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  const zeros = Buffer.alloc(Math.min(8 * MiB, Math.max(size, 1)));
  const fd = openSync(path, 'w');
  try {
    for (let left = size; left > 0;) {
      const n = Math.min(left, zeros.length);
      const block = cipher.update(zeros.subarray(0, n));
      writeSync(fd, block);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Small-file size for index i: log-uniform from 512 B to the max, deterministic. */
function smallSize(i: number, maxKiB: number): number {
  const u = createHash('sha256').update(`size:${i}`).digest().readUInt32BE(0) / 2 ** 32;
  return Math.round(512 * Math.pow((maxKiB * 1024) / 512, u));
}

interface Model {
  readonly dir: string;
  readonly files: number;
  readonly bytes: number;
}

function ensureModel(name: string, spec: object, build: (dir: string) => void): Model {
  const dir = join(config.dir, name);
  const stamp = join(config.dir, `${name}.json`);
  const want = JSON.stringify(spec);
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
    console.error(`generating ${dir} …`);
    rmSync(dir, { recursive: true, force: true });
    rmSync(stamp, { force: true });
    mkdirSync(dir, { recursive: true });
    build(dir);
    execFileSync('sync');
    writeFileSync(stamp, want);
  }
  const list = listFiles(dir);
  return { dir, files: list.length, bytes: list.reduce((a, f) => a + f.size, 0) };
}

function listFiles(dir: string): { path: string; size: number }[] {
  const out: { path: string; size: number }[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push({ path: p, size: statSync(p).size });
    }
  };
  walk(dir);
  return out;
}

function largeModel(): Model {
  const spec = { v: 1, files: config.largeFiles, gib: config.largeGiB, small: config.largeSmall };
  return ensureModel('large', spec, (dir) => {
    for (let i = 0; i < config.largeFiles; i++) {
      const name = `model-${String(i + 1).padStart(5, '0')}-of-${String(config.largeFiles).padStart(5, '0')}.safetensors`;
      writeRandomFile(join(dir, name), Math.round(config.largeGiB * GiB), `large:${i}`);
    }
    for (let i = 0; i < config.largeSmall; i++) {
      const sub = join(dir, i % 4 === 0 ? 'tokenizer' : i % 4 === 1 ? 'configs' : 'extra');
      mkdirSync(sub, { recursive: true });
      writeRandomFile(join(sub, `file-${i}.json`), smallSize(i, 64), `ls:${i}`);
    }
    writeFileSync(join(dir, 'config.json'), '{"architectures": ["Bench"]}\n');
  });
}

function smallModel(): Model {
  const spec = { v: 1, files: config.smallFiles, maxKiB: config.smallMaxKiB };
  return ensureModel('small', spec, (dir) => {
    for (let i = 0; i < config.smallFiles; i++) {
      const sub = join(dir, `d${i % 20}`, `e${Math.floor(i / 20) % 10}`);
      if (i < 200) mkdirSync(sub, { recursive: true });
      writeRandomFile(join(sub, `f${i}.bin`), smallSize(i, config.smallMaxKiB), `s:${i}`);
    }
  });
}

/**
 * Files of 64 bytes, 1,000 per folder (`d7/file-00123.json`): with names like these, 72,000 make a
 * 16.5 MB signature, just under the 16 MiB a signature may have — the most files one signature
 * can list, so the peak memory of signing and verifying any model Cairn can sign.
 */
function manyModel(): Model {
  const spec = { v: 1, files: config.manyFiles };
  return ensureModel('many', spec, (dir) => {
    for (let i = 0; i < config.manyFiles; i++) {
      const sub = join(dir, `d${Math.floor(i / 1000)}`);
      if (i % 1000 === 0) mkdirSync(sub, { recursive: true });
      const name = `file-${String(i % 1000).padStart(5, '0')}.json`;
      writeFileSync(join(sub, name), createHash('sha256').update(`many:${i}`).digest('hex'));
    }
  });
}

// ── measuring ────────────────────────────────────────────────────────────────────────────

interface Run {
  readonly wall: number;
  readonly cpu: number;
  readonly maxRssKiB: number | undefined;
  readonly stdout: string;
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Runs a command, timing it; with /usr/bin/time also its CPU time and peak RSS. */
async function run(cmd: string, args: readonly string[], shell = false): Promise<Run> {
  const timeOut = join(config.dir, '.time');
  const argv = shell ? ['bash', '-c', cmd] : [cmd, ...args];
  const full = TIME === undefined ? argv : [TIME, '-f', '%U %S %M', '-o', timeOut, ...argv];
  const t0 = process.hrtime.bigint();
  const { code, stdout, stderr } = await new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
  }>((resolve, reject) => {
    const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < 1e6) out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 1e5) err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) {
    throw new Error(`${argv.join(' ').slice(0, 300)} exited ${code}: ${stderr.slice(0, 2000)}`);
  }
  let cpu = Number.NaN;
  let maxRssKiB: number | undefined;
  if (TIME !== undefined) {
    const [u, s, m] = readFileSync(timeOut, 'utf8').trim().split(/\s+/).slice(-3).map(Number);
    cpu = u! + s!;
    maxRssKiB = m;
  }
  return { wall, cpu, maxRssKiB, stdout };
}

/** A measurement that could not be made (the command failed); recorded, not fatal. */
interface Failure {
  readonly failed: string;
}

async function median(label: string, f: () => Promise<Run>): Promise<Run | Failure> {
  const runs: Run[] = [];
  try {
    for (let i = 0; i < config.reps; i++) runs.push(await f());
  } catch (err) {
    const failed = (err as Error).message.split('\n').slice(0, 3).join(' ').slice(0, 400);
    console.error(`  ${label}: FAILED ${failed}`);
    return { failed };
  }
  runs.sort((a, b) => a.wall - b.wall);
  const m = runs[Math.floor(runs.length / 2)]!;
  const rss = Math.max(...runs.map((r) => r.maxRssKiB ?? 0));
  const rssList = runs.map((r) =>
    r.maxRssKiB === undefined ? '?' : Math.round(r.maxRssKiB / 1024),
  );
  console.error(
    `  ${label}: ${runs.map((r) => r.wall.toFixed(2)).join(' ')} s (median ${m.wall.toFixed(2)}), peak RSS ${rssList.join(' ')} MiB`,
  );
  return { ...m, maxRssKiB: rss === 0 ? undefined : rss };
}

/** Drops the page cache of exactly these files (posix_fadvise DONTNEED via GNU dd). */
function evict(files: readonly string[]): void {
  execFileSync('sync');
  for (const f of files) {
    spawnSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0'], { stdio: 'ignore' });
  }
}

/** Reads the files once so the page cache holds them (one `xargs cat`, not a spawn per file). */
function warm(files: readonly string[]): void {
  spawnSync('xargs', ['-0', 'cat'], {
    input: files.map((f) => f + '\0').join(''),
    stdio: ['pipe', 'ignore', 'ignore'],
    maxBuffer: 1 << 30,
  });
}

function q(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/** `find | xargs -P$(nproc)` over the same files, biggest first so the parallelism is fair. */
function xargsCommand(model: Model, tool: string): string {
  const list = join(config.dir, `${relative(config.dir, model.dir)}.files0`);
  if (!existsSync(list)) {
    const files = listFiles(model.dir).sort((a, b) => b.size - a.size);
    writeFileSync(list, files.map((f) => f.path + '\0').join(''));
  }
  const perCall = model.files < 1000 ? 1 : 500;
  return `xargs -0 -P${NPROC} -n ${perCall} ${tool} < ${q(list)} > /dev/null`;
}

// ── Cairn: the built CLI, or the library stand-in ───────────────────────────────────────

/**
 * Run as users run `cairn`: the launcher itself (a `/bin/sh` line that execs node with the main
 * thread's young generation capped), not `node bin/cairn.js`, which skips that line.
 */
const CLI = join(REPO, 'bin', 'cairn.js');
const LIB = join(REPO, 'dist', 'bench', 'lib-runner.js');
const CEILING = join(REPO, 'dist', 'bench', 'node-ceiling.js');
const VECTOR = join(REPO, 'test', 'fixtures', 'oms-keyed', 'model');
const VECTOR_DIGEST = 'sha256:6dbeb2c77258be99a913ec8794367ac31055ba1793c62674942e95c9d323ca3a';

function cliWorks(): boolean {
  const help = spawnSync(CLI, ['--help'], { encoding: 'utf8' });
  if (help.status !== 0) return false;
  const d = spawnSync(CLI, ['digest', VECTOR, '--json'], { encoding: 'utf8' });
  try {
    return d.status === 0 && (JSON.parse(d.stdout) as { digest?: string }).digest === VECTOR_DIGEST;
  } catch {
    return false;
  }
}

interface Cairn {
  readonly via: 'cli' | 'library';
  digest(model: string, extra: readonly string[]): Promise<Run>;
  /** Prepares whatever verify needs (a signature, or the expected digest), once per model. */
  prepareVerify(model: string, extra: readonly string[]): Promise<void>;
  verify(model: string, extra: readonly string[]): Promise<Run>;
  /** Signs a model with the benchmark key (CLI only), replacing its previous signature. */
  sign(model: string): Promise<Run>;
}

function cairnRunner(): Cairn {
  const useCli = cliWorks();
  const key = join(config.dir, 'bench-key.pem');
  const prepared = new Map<string, string>();
  const id = (model: string, extra: readonly string[]) =>
    [model, ...extra].join(' ').replace(/[^A-Za-z0-9]+/g, '_');
  const ensureKey = async () => {
    if (!existsSync(key)) await run(CLI, ['keygen', '--out', key, '--force']);
  };
  if (useCli) {
    return {
      via: 'cli',
      async sign(model) {
        await ensureKey();
        return run(CLI, [
          'sign',
          model,
          '--private-key',
          key,
          '--allow-unencrypted-key',
          '--signature',
          join(config.dir, `${id(model, [])}.sign.sig`),
          '--force',
        ]);
      },
      digest: (model, extra) => run(CLI, ['digest', model, '--json', ...extra]),
      async prepareVerify(model, extra) {
        await ensureKey();
        const sig = join(config.dir, `${id(model, extra)}.sig`);
        await run(CLI, [
          'sign',
          model,
          '--private-key',
          key,
          '--signature',
          sig,
          '--force',
          ...extra,
        ]);
        prepared.set(id(model, extra), sig);
      },
      verify: (model, extra) =>
        run(CLI, [
          'verify',
          model,
          '--signature',
          prepared.get(id(model, extra))!,
          '--public-key',
          `${key}.pub`,
          '--json',
        ]),
    };
  }
  return {
    via: 'library',
    sign: () => Promise.reject(new Error('signing is only measured through the CLI')),
    digest: (model, extra) => run(process.execPath, [LIB, 'digest', model, ...extra]),
    async prepareVerify(model, extra) {
      const r = await run(process.execPath, [LIB, 'digest', model, ...extra]);
      prepared.set(id(model, extra), (JSON.parse(r.stdout) as { digest: string }).digest);
    },
    verify: (model, extra) =>
      run(process.execPath, [
        LIB,
        'verify',
        model,
        '--expect',
        prepared.get(id(model, extra))!,
        ...extra,
      ]),
  };
}

// ── scenarios ────────────────────────────────────────────────────────────────────────────

interface Row {
  scenario: string;
  /** Why the row has no figures (a command failed). */
  failed?: string;
  reference: string;
  referenceSeconds: number;
  cairnSeconds: number;
  /** reference time / Cairn time: 1.0 = as fast as the reference; higher is better. */
  speedRatio: number;
  target: string;
  pass: boolean;
  cairnPeakRssMiB: number | undefined;
  cairnCpuSeconds: number;
  gbPerSecond: number;
}

const rows: Row[] = [];

function record(
  scenario: string,
  reference: string,
  ref: Run | Failure,
  cairn: Run | Failure,
  bytes: number,
  target: { minRatio: number; text: string; check?: (cairn: Run) => boolean },
): void {
  if ('failed' in ref || 'failed' in cairn) {
    const failed =
      'failed' in cairn ? `cairn: ${cairn.failed}` : `reference: ${(ref as Failure).failed}`;
    rows.push({
      scenario,
      failed,
      reference,
      referenceSeconds: Number.NaN,
      cairnSeconds: Number.NaN,
      speedRatio: Number.NaN,
      target: target.text,
      pass: false,
      cairnPeakRssMiB: undefined,
      cairnCpuSeconds: Number.NaN,
      gbPerSecond: Number.NaN,
    });
    return;
  }
  const refSeconds = ref.wall;
  const rssMiB = cairn.maxRssKiB === undefined ? undefined : cairn.maxRssKiB / 1024;
  const ratio = refSeconds / cairn.wall;
  rows.push({
    scenario,
    reference,
    referenceSeconds: round(refSeconds),
    cairnSeconds: round(cairn.wall),
    speedRatio: round(ratio),
    target: target.text,
    pass:
      (target.check === undefined ? ratio >= target.minRatio : target.check(cairn)) &&
      (rssMiB === undefined || rssMiB < 128),
    cairnPeakRssMiB: rssMiB === undefined ? undefined : round(rssMiB, 1),
    cairnCpuSeconds: round(cairn.cpu),
    gbPerSecond: round(bytes / cairn.wall / 1e9),
  });
}

/** Times bench/node-ceiling.ts over `model` and records it against the reference tool's run. */
async function ceilingRow(
  model: Model,
  files: readonly string[],
  hash: 'sha256' | 'blake3',
  reference: string,
  ref: Run | Failure,
  tool: string,
): Promise<Run | Failure> {
  warm(files);
  const ceiling = await median(`node ceiling ${hash}`, () =>
    run(process.execPath, [CEILING, model.dir, hash]),
  );
  record(`small: node ceiling ${hash}, warm`, reference, ref, ceiling, model.bytes, {
    minRatio: 0,
    text: `context: bench/node-ceiling.ts vs ${tool}`,
  });
  return ceiling;
}

function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

async function main(): Promise<void> {
  mkdirSync(config.dir, { recursive: true });
  const cairn = cairnRunner();
  /** Signs (or digests) once for verify; a failure there is recorded like a failed run. */
  const prepared = async (
    dir: string,
    measure: () => Promise<Run | Failure>,
  ): Promise<Run | Failure> => {
    try {
      await cairn.prepareVerify(dir, []);
    } catch (err) {
      return { failed: `preparing verify: ${(err as Error).message.slice(0, 300)}` };
    }
    return measure();
  };
  console.error(
    `cairn via ${cairn.via}; ${NPROC} CPUs (${cpus()[0]?.model ?? '?'}), ${round(totalmem() / GiB, 1)} GiB RAM; data in ${config.dir}`,
  );
  const haveB3 = spawnSync('b3sum', ['--version']).status === 0;
  if (!haveB3) console.error('b3sum not found (apt-get install b3sum): blake3 rows skipped');

  const large =
    only.has('large') || only.has('shard') || only.has('uncached') ? largeModel() : undefined;
  const small = only.has('small') ? smallModel() : undefined;

  for (const [name, model] of [
    ['large', large],
    ['small', small],
  ] as const) {
    if (model === undefined || !only.has(name)) continue;
    const files = listFiles(model.dir).map((f) => f.path);
    const label = `${name} (${model.files} files, ${round(model.bytes / GiB, 2)} GiB)`;
    console.error(`${label}, page cache warm:`);
    // The page cache is warmed before every group of runs: this VM's memory reclaim (DAMON)
    // evicts pages that sit unused for a few seconds.
    warm(files);
    const ossl = xargsCommand(model, 'openssl dgst -sha256');
    const refSha = await median('openssl', () => run(ossl, [], true));
    warm(files);
    const dig = await median('cairn digest', () => cairn.digest(model.dir, []));
    record(`${name}: digest sha256, warm`, ossl, refSha, dig, model.bytes, {
      minRatio: 0.9,
      text: '≥ 0.9× openssl',
    });
    if (name === 'small') {
      // How close any Node.js program gets: bench/node-ceiling.ts, no checks, no manifest.
      const ceiling = await ceilingRow(model, files, 'sha256', ossl, refSha, 'openssl');
      record('small: digest sha256 vs node ceiling', CEILING, ceiling, dig, model.bytes, {
        minRatio: 0,
        text: "context: Cairn's own overhead",
      });
    }
    const ver = await prepared(model.dir, () => {
      warm(files);
      return median('cairn verify', () => cairn.verify(model.dir, []));
    });
    record(`${name}: verify sha256, warm`, ossl, refSha, ver, model.bytes, {
      minRatio: 0.9,
      text: '≥ 0.9× openssl',
    });
    if (haveB3) {
      const b3 = xargsCommand(model, 'b3sum');
      warm(files);
      const refB3 = await median('b3sum', () => run(b3, [], true));
      warm(files);
      const dig3 = await median('cairn digest blake3', () =>
        cairn.digest(model.dir, ['--hash', 'blake3']),
      );
      record(`${name}: digest blake3, warm`, b3, refB3, dig3, model.bytes, {
        minRatio: 0.7,
        text: '≥ 0.7× b3sum',
      });
      if (name === 'small') await ceilingRow(model, files, 'blake3', b3, refB3, 'b3sum');
    }
  }

  if (large !== undefined && only.has('shard')) {
    // One huge file as a single-file model, in shard mode: all cores should be busy.
    const file = listFiles(large.dir).sort((a, b) => b.size - a.size)[0]!;
    console.error(`shard mode, one ${round(file.size / GiB, 2)} GiB file, warm:`);
    warm([file.path]);
    const one = `openssl dgst -sha256 ${q(file.path)} > /dev/null`;
    const ref = await median('openssl (one process)', () => run(one, [], true));
    for (const shard of ['1000000000', String(256 * MiB)]) {
      warm([file.path]);
      const r = await median(`cairn digest --shard-size ${shard}`, () =>
        cairn.digest(file.path, ['--shard-size', shard]),
      );
      const busy = 'failed' in r ? '?' : round(r.cpu / r.wall, 2);
      // "Uses every core": CPU time / wall time close to the number of CPUs.
      record(`one file, shards of ${shard} B (cores busy ${busy})`, one, ref, r, file.size, {
        minRatio: 0,
        text: `all cores busy (CPU/wall ≥ ${0.8 * NPROC})`,
        check: (c) => c.cpu / c.wall >= 0.8 * NPROC,
      });
    }
  }

  if (large !== undefined && only.has('uncached')) {
    const files = listFiles(large.dir).map((f) => f.path);
    console.error('large, page cache evicted for the model files:');
    const ddCmd = files
      .map((f) => `dd if=${q(f)} iflag=direct bs=8M of=/dev/null status=none`)
      .join(' && ');
    const dd = await median('dd iflag=direct bs=8M (sequential)', async () => {
      evict(files);
      return run(ddCmd, [], true);
    });
    const ver = await prepared(large.dir, () =>
      median('cairn verify (uncached)', async () => {
        evict(files);
        return cairn.verify(large.dir, []);
      }),
    );
    record(
      'large: verify sha256, uncached',
      'dd iflag=direct bs=8M over each file',
      dd,
      ver,
      large.bytes,
      {
        minRatio: 1 / 1.25,
        text: '≤ 1.25× dd O_DIRECT time',
      },
    );
    const ossl = xargsCommand(large, 'openssl dgst -sha256');
    const refU = await median('openssl (uncached, context only)', async () => {
      evict(files);
      return run(ossl, [], true);
    });
    record('large: verify vs openssl, both uncached', ossl, refU, ver, large.bytes, {
      minRatio: 0.9,
      text: 'context',
    });
  }

  if (only.has('many')) {
    const model = manyModel();
    const files = listFiles(model.dir).map((f) => f.path);
    console.error(`many (${model.files} files of 64 bytes), page cache warm:`);
    warm(files);
    const ossl = xargsCommand(model, 'openssl dgst -sha256');
    const ref = await median('openssl', () => run(ossl, [], true));
    const target = { minRatio: 0, text: 'peak RSS < 128 MiB (speed: context)' };
    warm(files);
    const dig = await median('cairn digest', () => cairn.digest(model.dir, []));
    record('many files: digest', ossl, ref, dig, model.bytes, target);
    if (cairn.via === 'cli') {
      warm(files);
      const sign = await median('cairn sign', () => cairn.sign(model.dir));
      record('many files: sign', ossl, ref, sign, model.bytes, target);
    }
    const ver = await prepared(model.dir, () => {
      warm(files);
      return median('cairn verify', () => cairn.verify(model.dir, []));
    });
    record('many files: verify --json', ossl, ref, ver, model.bytes, target);
  }

  if (only.has('startup')) {
    const tiny = join(config.dir, 'tiny.safetensors');
    if (!existsSync(tiny)) writeRandomFile(tiny, 4096, 'tiny');
    console.error('one-file model (4 KiB):');
    const node = await median('node -e 0', () => run(process.execPath, ['-e', '0']));
    const r = await median('cairn digest', () => cairn.digest(tiny, []));
    record('one-file model: start-up', 'node -e 0', node, r, 4096, {
      minRatio: 0,
      text: 'no worker pool (report only)',
    });
    if (cairn.via === 'cli') {
      const sign = await median('cairn sign', () => cairn.sign(tiny));
      record('one-file model: sign', 'node -e 0', node, sign, 4096, {
        minRatio: 0,
        text: 'well under 0.5 s (≤ 0.25 s)',
        check: (c) => c.wall <= 0.25,
      });
    }
    const ver = await prepared(tiny, () => median('cairn verify', () => cairn.verify(tiny, [])));
    record('one-file model: verify', 'node -e 0', node, ver, 4096, {
      minRatio: 0,
      text: 'report only',
    });
  }

  const outDir = join(REPO, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: NPROC, model: cpus()[0]?.model, memGiB: round(totalmem() / GiB, 1) },
    node: process.version,
    cairnVia: cairn.via,
    config,
    rows,
  };
  writeFileSync(join(outDir, 'hashing.json'), JSON.stringify(result, null, 2) + '\n');
  printTable(rows);
  console.log(`\nwritten: ${relative(process.cwd(), join(outDir, 'hashing.json'))}`);
}

function printTable(table: readonly Row[]): void {
  const head = [
    'scenario',
    'ref s',
    'cairn s',
    'ratio',
    'GB/s',
    'cpu s',
    'RSS MiB',
    'target',
    'ok',
  ];
  const body = table.map((r) => [
    r.failed === undefined ? r.scenario : `${r.scenario} — FAILED`,
    r.referenceSeconds.toFixed(2),
    r.cairnSeconds.toFixed(2),
    r.speedRatio.toFixed(2),
    r.gbPerSecond.toFixed(2),
    r.cairnCpuSeconds.toFixed(2),
    r.cairnPeakRssMiB === undefined ? '?' : r.cairnPeakRssMiB.toFixed(0),
    r.target,
    r.pass ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 || i === 7 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
  for (const r of table) if (r.failed !== undefined) console.log(`\n${r.scenario}: ${r.failed}`);
  console.log('\nratio = reference time / Cairn time (higher is better; uncached target: ≥ 0.8).');
}

await main();

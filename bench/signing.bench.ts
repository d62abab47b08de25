/**
 * Signing latency: a file key (in-memory, @noble/curves RFC 6979) against a key inside a SoftHSM2
 * PKCS#11 token, for ECDSA P-256, P-384 and Ed25519. Each signer signs the DSSE PAE of a
 * realistic OMS payload BENCH_SIGNATURES (100) times after one warm-up signature; the median,
 * p90 and minimum are reported, plus the one-off cost of opening the token session.
 *
 * Second figure: time to revoke a signer and have the next verification refuse it — `cairn trust
 * revoke` then `cairn verify --trust-root` as two separate `bin/cairn.js` processes (what an
 * operator runs), two encrypted P-256 root keys, threshold 2, a 1 MiB model; median of
 * BENCH_REVOCATIONS (5) fresh workspaces.
 *
 * Run: `npx tsc -p . && node dist/bench/signing.bench.js` (needs `apt-get install softhsm2`).
 * The token lives in a temporary SOFTHSM2_CONF directory, removed afterwards. Writes
 * bench/out/signing.json. Single-threaded and short (a few seconds): safe beside other work.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pae } from '../src/envelope/index.js';
import {
  fileSigner,
  pkcs11GenerateKeyPair,
  pkcs11Signer,
  verifySignature,
  type KeyType,
  type Signer,
} from '../src/keys/index.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const COUNT = Number(process.env['BENCH_SIGNATURES'] ?? 100);
const PIN = '123456';
const REVOCATIONS = Number(process.env['BENCH_REVOCATIONS'] ?? 5);
const CLI = join(REPO, 'bin', 'cairn.js');

interface Row {
  readonly keyType: KeyType;
  readonly signer: 'file' | 'softhsm2';
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly minMs: number;
  readonly openMs?: number;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function measure(signer: Signer, data: Uint8Array): Promise<number[]> {
  const first = await signer.sign(data);
  if (!verifySignature(signer.publicKey, data, first)) throw new Error('warm-up signature invalid');
  const times: number[] = [];
  for (let i = 0; i < COUNT; i++) {
    const t0 = process.hrtime.bigint();
    await signer.sign(data);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

function row(keyType: KeyType, kind: Row['signer'], times: number[], openMs?: number): Row {
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    keyType,
    signer: kind,
    medianMs: round(quantile(times, 0.5)),
    p90Ms: round(quantile(times, 0.9)),
    minMs: round(times[0]!),
    ...(openMs === undefined ? {} : { openMs: round(openMs) }),
  };
}

interface RevocationTiming {
  readonly revokeS: number;
  readonly verifyS: number;
  readonly totalS: number;
}

/** One workspace: root keys, a trust root with one signer, a signed model that verifies. */
function revocationOnce(): RevocationTiming {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-revoke-'));
  const env = {
    ...process.env,
    CAIRN_KEY_PASSPHRASE: 'bench passphrase',
    CAIRN_STATE_DIR: join(dir, 'state'),
  };
  const cairn = (args: string[], expect = 0): number => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, env, encoding: 'utf8' });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== expect) {
      throw new Error(`cairn ${args.join(' ')}: exit ${r.status}, wanted ${expect}\n${r.stderr}`);
    }
    if (expect === 1 && !r.stderr.includes('SIGNER_REVOKED')) throw new Error(r.stderr);
    return s;
  };
  try {
    for (const k of ['root1', 'root2', 'release'])
      cairn(['keygen', '--out', `${k}.pem`, '--encrypt']);
    mkdirSync(join(dir, 'model'));
    writeFileSync(join(dir, 'model', 'weights.bin'), Buffer.alloc(1 << 20, 7));
    const roots = ['--root-key', 'root1.pem', '--root-key', 'root2.pem'];
    cairn(['trust', 'init', 'root.json', '--threshold', '2', ...roots]);
    cairn([
      'trust',
      'add-signer',
      'root.json',
      '--id',
      'release',
      '--public-key',
      'release.pem.pub',
      '--repository',
      'team/*',
      '--environment',
      'production',
      ...roots,
    ]);
    cairn(['sign', 'model', '--private-key', 'release.pem']);
    const verify = [
      'verify',
      'model',
      '--trust-root',
      'root.json',
      '--repository',
      'team/llm',
      '--environment',
      'production',
    ];
    cairn(verify);
    const revokeS = cairn([
      'trust',
      'revoke',
      'root.json',
      'release',
      '--reason',
      'key leaked',
      '--compromised-since',
      '2026-01-01T00:00:00Z',
      ...roots,
    ]);
    const verifyS = cairn(verify, 1);
    return { revokeS, verifyS, totalS: revokeS + verifyS };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!existsSync(MODULE)) {
    console.error(`SoftHSM2 is not installed (${MODULE}): apt-get install -y softhsm2`);
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-hsm-'));
  try {
    mkdirSync(join(dir, 'tokens'));
    writeFileSync(
      join(dir, 'softhsm2.conf'),
      `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
    );
    process.env['SOFTHSM2_CONF'] = join(dir, 'softhsm2.conf');
    execFileSync(
      'softhsm2-util',
      ['--init-token', '--free', '--label', 'bench', '--pin', PIN, '--so-pin', '654321'],
      {
        stdio: 'ignore',
      },
    );
    // A DSSE PAE over an OMS-sized payload (a few KB): what `cairn sign` actually signs.
    const data = pae('application/vnd.in-toto+json', Buffer.alloc(4096, 0x61));
    const rows: Row[] = [];
    const curves = { 'ecdsa-p256': 'P-256', 'ecdsa-p384': 'P-384' } as const;
    for (const keyType of ['ecdsa-p256', 'ecdsa-p384', 'ed25519'] as const) {
      const { privateKey } =
        keyType === 'ed25519'
          ? generateKeyPairSync('ed25519')
          : generateKeyPairSync('ec', { namedCurve: curves[keyType] });
      rows.push(row(keyType, 'file', await measure(fileSigner(privateKey), data)));

      const uri = `pkcs11:token=bench;object=${keyType}?module-path=${MODULE}`;
      pkcs11GenerateKeyPair(uri, { pin: PIN, keyType });
      const t0 = process.hrtime.bigint();
      const token = pkcs11Signer(uri, { pin: PIN });
      const openMs = Number(process.hrtime.bigint() - t0) / 1e6;
      try {
        rows.push(row(keyType, 'softhsm2', await measure(token, data), openMs));
      } finally {
        token.close();
      }
    }
    console.log(`signing latency, ${COUNT} signatures each (ms)`);
    console.log('key type     signer     median     p90      min    open session');
    for (const r of rows) {
      console.log(
        `${r.keyType.padEnd(12)} ${r.signer.padEnd(9)} ${r.medianMs.toFixed(3).padStart(7)} ${r.p90Ms.toFixed(3).padStart(8)} ${r.minMs.toFixed(3).padStart(8)} ${r.openMs === undefined ? '' : r.openMs.toFixed(1).padStart(10)}`,
      );
    }
    const runs: RevocationTiming[] = [];
    for (let i = 0; i < REVOCATIONS; i++) runs.push(revocationOnce());
    const median = (pick: (r: RevocationTiming) => number) =>
      Math.round(
        quantile(
          runs.map(pick).sort((a, b) => a - b),
          0.5,
        ) * 1000,
      ) / 1000;
    const revocation = {
      runs: REVOCATIONS,
      revokeS: median((r) => r.revokeS),
      verifyS: median((r) => r.verifyS),
      totalS: median((r) => r.totalS),
    };
    console.log(
      `revoke → next verification refuses (separate processes, median of ${REVOCATIONS}): revoke ${revocation.revokeS.toFixed(2)} s + verify ${revocation.verifyS.toFixed(2)} s = ${revocation.totalS.toFixed(2)} s`,
    );
    mkdirSync(join(REPO, 'bench', 'out'), { recursive: true });
    writeFileSync(
      join(REPO, 'bench', 'out', 'signing.json'),
      `${JSON.stringify({ count: COUNT, node: process.version, rows, revocation }, null, 2)}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

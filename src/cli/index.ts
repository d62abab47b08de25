import { Command, CommanderError, Option } from 'commander';
import { UsageError, toCairnError } from '../errors/index.js';
import {
  digestCommand,
  inspectCommand,
  keygenCommand,
  signCommand,
  verifyCommand,
  type DigestFlags,
  type KeygenFlags,
  type SignFlags,
  type VerifyFlags,
} from './commands.js';
import { registerAttestCommands } from './attest.js';
import { demoCommand } from './demo.js';
import { registerLineageCommands } from './lineage.js';
import { registerPolicyCommands } from './policy.js';
import { registerRegistryCommands } from './registry-commands.js';
import { registerScanCommands } from './scan.js';
import { registerTrustCommands } from './trust.js';
import { addTrustOptions } from './trust-flags.js';
import { collect } from './inputs.js';
import { defaultServeDependencies, registerServeCommand } from './serve.js';
import { printError, printJson, processIo, type Io } from './output.js';

export const VERSION = '0.1.0';

/** The reference accepts `--private_key` for `--private-key`; so do we (flag names only). */
function normaliseFlags(args: readonly string[]): string[] {
  const end = args.indexOf('--');
  return args.map((a, i) => {
    if (!a.startsWith('--') || (end !== -1 && i >= end)) return a;
    const eq = a.indexOf('=');
    return eq === -1
      ? a.replaceAll('_', '-')
      : `${a.slice(0, eq).replaceAll('_', '-')}${a.slice(eq)}`;
  });
}

function addScopeOptions(cmd: Command): Command {
  return cmd
    .option(
      '--ignore-paths <path>',
      'exclude a path (repeatable; relative to the model root or the current directory)',
      collect,
    )
    .option(
      '--ignore-git-paths',
      'exclude .git, .gitattributes, .github, .gitignore at the model root (default)',
      true,
    )
    .option('--no-ignore-git-paths', 'hash git files too')
    .option(
      '--allow-symlinks',
      'hash symlinks to files inside the model (never followed outside it)',
    )
    .option('--json', 'machine-readable output on stdout');
}

function addHashOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--hash <algorithm>', 'hash algorithm')
        .choices(['sha256', 'blake2b', 'blake3'])
        .default('sha256'),
    )
    .option('--shard-size <bytes>', 'hash files in shards of this many bytes (shard mode)');
}

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('cairn')
    .description(
      'Sign, verify and inspect ML model artifacts (OpenSSF Model Signing v1.0 compatible).',
    )
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });

  program
    .command('keygen')
    .description(
      'generate a signing key pair: PKCS#8 private key at --out, SPKI public key at --out.pub',
    )
    .addOption(
      new Option('--type <type>', 'key type')
        .choices(['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'ed25519'])
        .default('ecdsa-p256'),
    )
    .requiredOption('--out <path>', 'private key path (public key goes to <path>.pub)')
    .option(
      '--encrypt',
      'encrypt the private key with the passphrase from CAIRN_KEY_PASSPHRASE or --passphrase-file',
    )
    .option('--passphrase-file <file>', 'read the passphrase from this file (implies --encrypt)')
    .option('--force', 'overwrite existing key files')
    .option('--json', 'machine-readable output on stdout')
    .action((opts: KeygenFlags) => setExit(keygenCommand(io, opts)));

  addHashOptions(
    addScopeOptions(
      program
        .command('digest')
        .description(
          'print the model root digest (sha256:<hex>), the same value as `model_signing digest`',
        )
        .argument('<model>', 'model directory or file')
        .option('--manifest', 'also list every resource with its digest, size and role'),
    ),
  ).action(async (model: string, opts: DigestFlags) =>
    setExit(await digestCommand(io, model, opts)),
  );

  addHashOptions(
    addScopeOptions(
      program
        .command('sign')
        .description(
          'sign a model: writes an OMS v1.0 Sigstore bundle (default model.sig inside the model)',
        )
        .argument('<model>', 'model directory or file')
        .option(
          '--pkcs11-uri <uri>',
          'sign with a key in a PKCS#11 token (RFC 7512 URI; PIN from CAIRN_PKCS11_PIN or pin-source)',
        )
        .option(
          '--private-key <pem>',
          'PKCS#8 or SEC1 PEM private key (passphrase from CAIRN_KEY_PASSPHRASE or --passphrase-file)',
        )
        .option(
          '--signature <path>',
          'where to write the bundle (default: <model>/model.sig, or <file>.sig)',
        )
        .option('--certificate <pem>', 'signing certificate for certificate mode')
        .addOption(
          new Option(
            '--signing-certificate <pem>',
            'alias of --certificate (reference name)',
          ).hideHelp(),
        )
        .option(
          '--certificate-chain <pem>',
          'intermediate certificates to include (repeatable)',
          collect,
        )
        .option('--passphrase-file <file>', 'file holding the private key passphrase')
        .option('--allow-unencrypted-key', 'do not warn about a private key that is not encrypted')
        .option('--force', 'overwrite an existing signature file'),
    ),
  ).action(async (model: string, opts: SignFlags & { signingCertificate?: string }) => {
    const flags: SignFlags =
      opts.certificate === undefined && opts.signingCertificate !== undefined
        ? { ...opts, certificate: opts.signingCertificate }
        : opts;
    setExit(await signCommand(io, model, flags));
  });

  addScopeOptions(
    addTrustOptions(
      program
        .command('verify')
        .description(
          'verify a model against its signature; names every extra, missing and changed file',
        )
        .argument('<model>', 'model directory or file')
        .option(
          '--signature <path>',
          'the bundle (default: <model>/model.sig, or <file>.sig); repeatable with --trust-root',
          collect,
        ),
    )
      .option('--ignore-unsigned-files', 'tolerate files the signature does not name')
      .option(
        '--require <predicates>',
        'attestations that must verify for the signed digest: provenance, scan, transform, training, license, vsa (comma-separated)',
      )
      .option(
        '--policy <dir>',
        'evaluate the policies in DIR against the verified facts (with --repository, --environment)',
      )
      .option('--trust-root <file>', 'trust-root mode: the signer must be listed, in scope, valid')
      .option(
        '--threshold <n>',
        'with --trust-root: distinct trusted signers required among the --signature bundles',
      )
      .option(
        '--trust-root-state <dir>',
        'with --trust-root: where the highest trust root version seen is remembered (default CAIRN_STATE_DIR, else ~/.local/state/cairn)',
      )
      .option('--repository <name>', 'with --trust-root or --policy: the repository verified for')
      .option('--environment <name>', 'with --trust-root or --policy: the environment verified for')
      .option(
        '--parent-signature <bundle>',
        "with --policy: a derived model's parent signature, for transformation continuity (repeatable)",
        collect,
      )
      .option(
        '--chain',
        'verify through transformation attestations back to signed roots (each hop vouched for)',
      )
      .option(
        '--chain-store <dir>',
        "with --chain: directory of ancestors' signatures and attestations (repeatable)",
        collect,
      ),
  ).action(async (model: string, opts: VerifyFlags) =>
    setExit(await verifyCommand(io, model, opts)),
  );

  program
    .command('inspect')
    .description('show what a signature bundle claims, WITHOUT verifying it')
    .argument('<signature>', 'the bundle file')
    .option('--json', 'machine-readable output on stdout')
    .action((sig: string, opts: { json?: boolean }) => setExit(inspectCommand(io, sig, opts)));

  program
    .command('demo')
    .description('build a small model, sign it, verify it, tamper with it and show the refusal')
    .option('--keep', 'keep the temporary directory')
    .option('--json', 'machine-readable output on stdout')
    .action(async (opts: { json?: boolean; keep?: boolean }) =>
      setExit(await demoCommand(io, opts)),
    );

  registerScanCommands(program, io, setExit);
  registerPolicyCommands(program, io, setExit);
  registerTrustCommands(program, io, setExit);
  registerAttestCommands(program, io, setExit);
  registerLineageCommands(program, io, setExit);
  registerRegistryCommands(program, io, setExit);
  registerServeCommand(program, io, setExit, defaultServeDependencies);

  return program;
}

/**
 * Runs the CLI and returns the exit code (DESIGN.md §5). The one place errors become output:
 * human text on stderr, or a JSON error object on stdout under --json.
 */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const args = normaliseFlags(argv.slice(2));
  const json = args.includes('--json');
  let exit = 0;
  const program = buildProgram(io, (code) => {
    exit = code;
  });
  try {
    await program.parseAsync(args, { from: 'user' });
    return exit;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      if (err.exitCode === 0) return 0;
      const usage = new UsageError('USAGE', err.message.replace(/^error: /, ''));
      if (json) printJson(io, { ok: false, error: usage.toJSON() });
      return usage.exitCode;
    }
    const e = toCairnError(err);
    if (json) printJson(io, { ok: false, error: e.toJSON() });
    else printError(io, e);
    if (e.code === 'INTERNAL' && io.env['CAIRN_DEBUG'] === '1' && err instanceof Error) {
      io.stderr.write(`${err.stack ?? ''}\n`);
    }
    return e.exitCode;
  }
}

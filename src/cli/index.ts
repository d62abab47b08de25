import { Option, type Command } from 'commander';
import type { KeygenFlags, SignFlags, VerifyFlags } from './commands.js';
import { registerAttestCommands } from './attest-register.js';
import { registerLineageCommands } from './lineage-register.js';
import { registerPolicyCommands } from './policy-register.js';
import { registerRegistryCommands } from './registry-commands.js';
import { registerScanCommands } from './scan-register.js';
import { registerTrustCommands } from './trust-register.js';
import { addTrustOptions } from './options.js';
import { collect } from './inputs.js';
import { registerServeCommand } from './serve-register.js';
import { processIo, type Io } from './output.js';
import { addHashOptions, addScopeOptions, registerDigestCommand } from './digest.js';
import { newProgram, normaliseFlags, runProgram } from './run.js';

export { VERSION } from './run.js';

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = newProgram(io);

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
    .action(async (opts: KeygenFlags) =>
      setExit((await import('./commands.js')).keygenCommand(io, opts)),
    );

  registerDigestCommand(program, io, setExit);

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
    setExit(await (await import('./commands.js')).signCommand(io, model, flags));
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
    setExit(await (await import('./commands.js')).verifyCommand(io, model, opts)),
  );

  program
    .command('inspect')
    .description('show what a signature bundle claims, WITHOUT verifying it')
    .argument('<signature>', 'the bundle file')
    .option('--json', 'machine-readable output on stdout')
    .action(async (sig: string, opts: { json?: boolean }) =>
      setExit(await (await import('./commands.js')).inspectCommand(io, sig, opts)),
    );

  program
    .command('demo')
    .description('build a small model, sign it, verify it, tamper with it and show the refusal')
    .option('--keep', 'keep the temporary directory')
    .option('--json', 'machine-readable output on stdout')
    .action(async (opts: { json?: boolean; keep?: boolean }) =>
      setExit(await (await import('./demo.js')).demoCommand(io, opts)),
    );

  registerScanCommands(program, io, setExit);
  registerPolicyCommands(program, io, setExit);
  registerTrustCommands(program, io, setExit);
  registerAttestCommands(program, io, setExit);
  registerLineageCommands(program, io, setExit);
  registerRegistryCommands(program, io, setExit);
  registerServeCommand(program, io, setExit);

  return program;
}

/**
 * Runs the full CLI and returns the exit code (DESIGN.md §5); `runProgram` turns errors into
 * output. The `cairn` binary enters through `./main.ts`, which serves `digest` without this
 * module's imports.
 */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const args = normaliseFlags(argv.slice(2));
  let exit = 0;
  const program = buildProgram(io, (code) => {
    exit = code;
  });
  return runProgram(program, args, io, () => exit);
}

import { Option, type Command } from 'commander';
import type { KeygenFlags, SignFlags } from './commands.js';
import { addHashOptions, addScopeOptions } from './digest.js';
import { collect } from './inputs.js';
import type { Io } from './output.js';

/**
 * `cairn keygen` and `cairn sign`, registered by the full program (`./index.ts`) and, alone, by
 * the light entry in `./main.ts`: a `cairn sign` process loads neither the other commands'
 * declarations nor their code.
 */
export function registerKeygenCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
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
}

export function registerSignCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
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
}

import type { Command } from 'commander';
import { PASSPHRASE_ENV, collect } from './inputs.js';
import type { Io } from './output.js';
import type { AddSignerFlags, RevokeFlags, RotateFlags, TrustInitFlags } from './trust.js';

function addRootKeyOptions(cmd: Command): Command {
  return cmd
    .option('--root-key <pem>', 'a root private key that signs this version (repeatable)', collect)
    .option(
      '--root-pkcs11-uri <uri>',
      'a root key in a PKCS#11 token (repeatable; PIN from CAIRN_PKCS11_PIN or pin-source)',
      collect,
    )
    .option(
      '--passphrase-file <file>',
      `passphrase for encrypted root keys (else ${PASSPHRASE_ENV})`,
    )
    .option('--allow-unencrypted-key', 'do not warn about root keys not encrypted at rest')
    .option('--json', 'machine-readable output on stdout');
}

/** `cairn trust init|add-signer|rotate|revoke|show|verify`. */
export function registerTrustCommands(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  const trust = program
    .command('trust')
    .description('manage the trust root: who may sign what, signed by a threshold of root keys');

  addRootKeyOptions(
    trust
      .command('init')
      .description('create trust root v1 with the given root keys and threshold')
      .argument('<root>', 'trust root file to write')
      .requiredOption('--threshold <n>', 'distinct root signatures needed for every version')
      .option(
        '--root-public-key <pem>',
        'an extra root key that does not sign v1 (repeatable)',
        collect,
      )
      .option('--force', 'replace an existing file'),
  ).action(async (root: string, opts: TrustInitFlags) =>
    setExit(await (await import('./trust.js')).trustInitCommand(io, root, opts)),
  );

  addRootKeyOptions(
    trust
      .command('add-signer')
      .description(
        'grant a key or identity the right to sign for some repositories and environments',
      )
      .argument('<root>', 'trust root file (replaced atomically)')
      .requiredOption('--id <id>', 'signer id')
      .option('--public-key <pem>', 'the signer public key (SPKI PEM)')
      .option('--certificate-subject <dn>', 'certificate identity: exact subject')
      .option('--certificate-issuer <dn>', 'certificate identity: exact issuer')
      .option(
        '--certificate-root <pem>',
        'certificate identity: CA root certificates its chain must lead to (repeatable)',
        collect,
      )
      .option('--identity <san>', 'keyless identity: exact SAN (email or URI)')
      .option('--identity-provider <url>', 'keyless identity: exact OIDC issuer')
      .option(
        '--repository <glob>',
        'repositories it may sign for (repeatable; * within a segment, ** across)',
        collect,
      )
      .option('--environment <glob>', 'environments it may sign for (repeatable)', collect)
      .option(
        '--predicate-type <uri>',
        'predicate types it may sign (repeatable; default the OMS signature)',
        collect,
      )
      .option('--not-before <time>', 'start of validity (RFC 3339; default now)')
      .option('--not-after <time>', 'end of validity (RFC 3339)'),
  ).action(async (root: string, opts: AddSignerFlags) =>
    setExit(await (await import('./trust.js')).trustAddSignerCommand(io, root, opts)),
  );

  addRootKeyOptions(
    trust
      .command('rotate')
      .description(
        "rotate a signer (new key, same scopes, old key's validity ends) or the root keys and threshold",
      )
      .argument('<root>', 'trust root file (replaced atomically)')
      .option('--signer <id>', 'the signer being rotated')
      .option('--new-id <id>', 'id for the new key')
      .option('--public-key <pem>', 'the new public key (SPKI PEM)')
      .option('--old-not-after <time>', 'when the old key stops being valid (default now)')
      .option('--not-after <time>', 'end of validity of the new key')
      .option(
        '--add-root-key <pem>',
        'root rotation: a public key to add as a root key (repeatable)',
        collect,
      )
      .option(
        '--remove-root-key <keyid>',
        'root rotation: a root key id to remove (repeatable)',
        collect,
      )
      .option('--root-threshold <n>', 'root rotation: the new threshold'),
  ).action(async (root: string, opts: RotateFlags) =>
    setExit(await (await import('./trust.js')).trustRotateCommand(io, root, opts)),
  );

  addRootKeyOptions(
    trust
      .command('revoke')
      .description('revoke a signer: every signature by it fails verification from now on')
      .argument('<root>', 'trust root file (replaced atomically)')
      .argument('<signer>', 'signer id')
      .requiredOption('--reason <text>', 'why (recorded in the trust root)')
      .requiredOption(
        '--compromised-since <time>',
        'earliest time the key may have been misused (RFC 3339)',
      ),
  ).action(async (root: string, signer: string, opts: RevokeFlags) =>
    setExit(await (await import('./trust.js')).trustRevokeCommand(io, root, signer, opts)),
  );

  trust
    .command('show')
    .description('verify a trust root and list its root keys and signers')
    .argument('<root>', 'trust root file')
    .option('--json', 'machine-readable output on stdout')
    .action(async (root: string, opts: { json?: boolean }) =>
      setExit((await import('./trust.js')).trustShowCommand(io, root, opts)),
    );

  trust
    .command('verify')
    .description('verify a trust root, and with --previous that it is a valid update of it')
    .argument('<root>', 'trust root file')
    .option(
      '--previous <file>',
      'the version already trusted: the new one must be newer and signed by its threshold',
    )
    .option('--json', 'machine-readable output on stdout')
    .action(async (root: string, opts: { previous?: string; json?: boolean }) =>
      setExit((await import('./trust.js')).trustVerifyCommand(io, root, opts)),
    );
}

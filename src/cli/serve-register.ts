import type { Command } from 'commander';
import type { Io } from './output.js';
import type { ServeDependencies, ServeFlags } from './serve.js';

export const DEFAULT_PORT = 8470;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_DATA_DIR = '.cairn-data';

export function registerServeCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
  deps?: ServeDependencies,
): void {
  program
    .command('serve')
    .description(
      'run the Cairn registry server (SQLite + filesystem blobs under --data-dir by default)',
    )
    .option(
      '--data-dir <dir>',
      `where the embedded database and blobs live (default ./${DEFAULT_DATA_DIR})`,
    )
    .option('--host <host>', `address to bind (default ${DEFAULT_HOST})`)
    .option('--port <port>', `port to listen on (default ${DEFAULT_PORT})`)
    .option('--database <url>', 'PostgreSQL metadata store (postgres://…) instead of SQLite')
    .option(
      '--blobs <url>',
      'OCI distribution registry for blobs (oci://host/prefix) instead of files',
    )
    .option('--trust-root <file>', 'the trust root signatures are verified against')
    .option('--policy <dir>', 'policy directory for promotion and protected retrieval')
    .option('--signing-key <pem>', 'central signing: the server signs with this private key')
    .option('--pkcs11-uri <uri>', 'central signing with a key in a PKCS#11 token')
    .option('--passphrase-file <file>', 'passphrase of --signing-key (or CAIRN_KEY_PASSPHRASE)')
    .option('--json', 'print the startup information as JSON on stdout')
    .action(async (flags: ServeFlags) => {
      const serve = await import('./serve.js');
      setExit(await serve.serveCommand(io, flags, deps ?? serve.defaultServeDependencies));
    });
}

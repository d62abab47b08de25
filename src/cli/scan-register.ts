import { Option, type Command } from 'commander';
import { SEVERITIES } from '../scan/constants.js';
import { collect } from './inputs.js';
import type { Io } from './output.js';
import type { ScanFlags } from './scan.js';

/** Adds `cairn scan` to the program. */
export function registerScanCommands(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  program
    .command('scan')
    .description(
      'scan model files without loading them: pickle imports (also inside PyTorch zips), safetensors, GGUF and ONNX headers',
    )
    .argument('<model>', 'model directory or file')
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 when a finding is at least this severe')
        .choices([...SEVERITIES])
        .default('high'),
    )
    .option(
      '--max-file-bytes <n>',
      'most bytes read from one file (headers, pickle streams, archive directories)',
    )
    .option('--max-inflate-bytes <n>', 'most bytes one decompression may produce')
    .option(
      '--allow-global <module.name>',
      'treat this exact pickle global as safe (repeatable; never overrides the deny list)',
      collect,
    )
    .addOption(
      new Option('--unscanned-severity <severity>', 'severity of "could not scan" findings')
        .choices([...SEVERITIES])
        .default('high'),
    )
    .option(
      '--ignore-paths <path>',
      'skip a path (repeatable; relative to the model root)',
      collect,
    )
    .option(
      '--ignore-git-paths',
      'skip .git, .gitattributes, .github, .gitignore at the model root (default)',
      true,
    )
    .option('--no-ignore-git-paths', 'scan git files too')
    .option('--allow-symlinks', 'scan symlinks to files inside the model (never outside it)')
    .option('--json', 'machine-readable output on stdout')
    .option(
      '--attest',
      'sign the report as a scan attestation appended to model.att.jsonl (needs --private-key or --pkcs11-uri)',
    )
    .option('--private-key <pem>', 'with --attest: PKCS#8 or SEC1 PEM private key')
    .option('--pkcs11-uri <uri>', 'with --attest: sign with a key in a PKCS#11 token')
    .option('--passphrase-file <file>', 'with --attest: file holding the private key passphrase')
    .option('--allow-unencrypted-key', 'with --attest: do not warn about an unencrypted key')
    .action(async (model: string, opts: ScanFlags) =>
      setExit(await (await import('./scan.js')).scanCommand(io, model, opts)),
    );
}

import { Option, type Command } from 'commander';
import type { AuditVerifyFlags } from './audit.js';
import type { Io } from './output.js';
import type { PromoteFlags } from './promote.js';
import type { PullFlags } from './pull.js';
import type { PushFlags } from './push.js';
import { registerAdminCommands } from './registry-admin-register.js';
import type { TagsFlags } from './tags.js';
import { addTrustOptions } from './options.js';

function serverOptions(cmd: Command): Command {
  return cmd
    .option(
      '--server <url>',
      'the Cairn server (default: CAIRN_SERVER, else the last `cairn login`); token from CAIRN_TOKEN or the stored login',
    )
    .option('--json', 'machine-readable output on stdout');
}

function environmentOption(cmd: Command, what: string): Command {
  return cmd.addOption(new Option('--environment <name>', what).default('staging'));
}

/**
 * Adds the registry client commands: login, logout, whoami, push, pull, promote, tags, audit, and
 * the administrator's repo, token, role, exception and break-glass commands.
 */
export function registerRegistryCommands(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  program
    .command('login')
    .description(
      'store a token for a Cairn server after checking it (token from stdin, --token-file or CAIRN_TOKEN; never argv)',
    )
    .argument('<server>', 'server URL, e.g. http://127.0.0.1:8470')
    .option('--token-file <file>', 'read the token from this file instead of stdin')
    .option('--json', 'machine-readable output on stdout')
    .action(async (server: string, opts: { tokenFile?: string; json?: boolean }) =>
      setExit(await (await import('./login.js')).loginCommand(io, server, opts)),
    );

  program
    .command('logout')
    .description('forget the stored token for a server (default: the last one logged in to)')
    .argument('[server]', 'server URL')
    .option('--json', 'machine-readable output on stdout')
    .action(async (server: string | undefined, opts: { json?: boolean }) =>
      setExit((await import('./login.js')).logoutCommand(io, server, opts)),
    );

  serverOptions(
    program.command('whoami').description('show the identity and roles the server sees for you'),
  ).action(async (opts: { server?: string; json?: boolean }) =>
    setExit(await (await import('./login.js')).whoamiCommand(io, opts)),
  );

  serverOptions(
    environmentOption(
      program
        .command('push')
        .description(
          'upload a signed model: blobs the server lacks (resumable), then the artifact with model.sig and model.att.jsonl',
        )
        .argument('<model>', 'model directory')
        .argument('<repository>', 'REPO or REPO:TAG (e.g. team/model:rc1)'),
      'the environment to push to (promotion-only environments refuse pushes)',
    )
      .option('--signature <path>', 'the signature bundle (default: <model>/model.sig)')
      .option('--attestations <path>', 'the attestations file (default: <model>/model.att.jsonl)')
      .option('--concurrency <n>', 'blobs checked and uploaded at once (default 4)')
      .option('--chunk-size <bytes>', 'bytes per upload request (default 64 MiB)'),
  ).action(async (model: string, repository: string, opts: PushFlags) =>
    setExit(await (await import('./push.js')).pushCommand(io, model, repository, opts)),
  );

  serverOptions(
    environmentOption(
      addTrustOptions(
        program
          .command('pull')
          .description(
            'download an artifact by digest, verify every file and the signature here, and move it into place atomically',
          )
          .argument(
            '<reference>',
            'REPO@sha256:<hex> (a REPO:TAG only where the environment is not protected)',
          )
          .requiredOption('--out <dir>', 'directory to create (must not exist)'),
      )
        .option('--trust-root <file>', 'verify against a trust root instead of --public-key')
        .option('--concurrency <n>', 'files downloaded at once (default 8)'),
      'the environment to pull from',
    ),
  ).action(async (reference: string, opts: PullFlags) =>
    setExit(await (await import('./pull.js')).pullCommand(io, reference, opts)),
  );

  serverOptions(
    program
      .command('promote')
      .description(
        'ask the server to promote an artifact by digest through the policy; prints the decision (exit 1 on deny)',
      )
      .argument('<reference>', 'REPO@sha256:<hex>')
      .requiredOption('--from <environment>', 'where the artifact is now (e.g. staging)')
      .requiredOption('--to <environment>', 'where it should go (e.g. production)')
      .option('--tag <tag>', 'point this tag in the target environment at the digest'),
  ).action(async (reference: string, opts: PromoteFlags) =>
    setExit(await (await import('./promote.js')).promoteCommand(io, reference, opts)),
  );

  serverOptions(
    environmentOption(
      program
        .command('tags')
        .description('list the tags of a repository environment, or the history of their moves')
        .argument('<repository>', 'REPO (e.g. team/model)')
        .option('--history [tag]', 'show the append-only tag history (of one tag, or of all)')
        .option('--at <time>', 'with --history: only moves at or before this RFC 3339 time'),
      'the environment whose tags to show',
    ),
  ).action(async (repository: string, opts: TagsFlags) =>
    setExit(await (await import('./tags.js')).tagsCommand(io, repository, opts)),
  );

  const audit = program
    .command('audit')
    .description('read and verify the hash-chained audit trail');
  serverOptions(
    audit
      .command('list')
      .description('list audit records, oldest first (admin)')
      .option('--after <seq>', 'records after this sequence number (default 0)')
      .option('--limit <n>', 'at most this many records (default 100, at most 1000)'),
  ).action(async (opts: { after?: string; limit?: string; server?: string; json?: boolean }) =>
    setExit(await (await import('./audit.js')).auditListCommand(io, opts)),
  );
  serverOptions(
    audit
      .command('export')
      .description('write the whole trail as JSON Lines (admin)')
      .option('--out <file>', 'file to create (default: stdout)'),
  ).action(async (opts: { out?: string; server?: string; json?: boolean }) =>
    setExit(await (await import('./audit.js')).auditExportCommand(io, opts)),
  );
  serverOptions(
    audit
      .command('verify')
      .description(
        'check the hash chain of the trail (fetched, or an exported file); names the first edited, deleted or reordered record',
      )
      .option('--file <jsonl>', 'verify an exported trail instead of fetching it')
      .option(
        '--head <seq:hash>',
        'the last record you trust: also detects records cut off the end',
      ),
  ).action(async (opts: AuditVerifyFlags) =>
    setExit(await (await import('./audit.js')).auditVerifyCommand(io, opts)),
  );

  registerAdminCommands(program, io, setExit, serverOptions);
}

import type { Command } from 'commander';
import { API_TOKEN_ISSUER } from '../server/constants.js';
import { collect } from './inputs.js';
import type { Io } from './output.js';
import type {
  BreakGlassFlags,
  RoleFlags,
  ServerFlags,
  TokenCreateFlags,
} from './registry-admin.js';

export { API_TOKEN_ISSUER };

/** Adds `cairn repo|token|role|exception|break-glass …`; `serverOptions` adds --server/--json. */
export function registerAdminCommands(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
  serverOptions: (cmd: Command) => Command,
): void {
  const repo = program.command('repo').description('create and inspect repositories');
  serverOptions(
    repo
      .command('create')
      .description('create a repository (admin)')
      .argument('<name>', 'repository name, e.g. acme/llm')
      .option('--protected', 'tags in this repository never move once set'),
  ).action(async (name: string, opts: ServerFlags & { protected?: boolean }) =>
    setExit(await (await import('./registry-admin.js')).repoCreateCommand(io, name, opts)),
  );
  serverOptions(repo.command('list').description('list the repositories you can read')).action(
    async (opts: ServerFlags) =>
      setExit(await (await import('./registry-admin.js')).repoListCommand(io, opts)),
  );
  serverOptions(
    repo
      .command('show')
      .description('a repository and its environments (promotion-only, protected)')
      .argument('<name>', 'repository name'),
  ).action(async (name: string, opts: ServerFlags) =>
    setExit(await (await import('./registry-admin.js')).repoShowCommand(io, name, opts)),
  );

  const token = program.command('token').description('issue, list and revoke API tokens (admin)');
  serverOptions(
    token
      .command('create')
      .description('issue an API token; printed once on stdout, never stored by the server')
      .requiredOption('--subject <subject>', 'the identity the token stands for, e.g. ci-acme')
      .option('--description <text>', 'what the token is for')
      .option('--expires-in <duration>', 'lifetime such as 90d or 12h (default: no expiry)'),
  ).action(async (opts: TokenCreateFlags) =>
    setExit(await (await import('./registry-admin.js')).tokenCreateCommand(io, opts)),
  );
  serverOptions(token.command('list').description('list API tokens (never their secrets)')).action(
    async (opts: ServerFlags) =>
      setExit(await (await import('./registry-admin.js')).tokenListCommand(io, opts)),
  );
  serverOptions(
    token
      .command('revoke')
      .description('revoke an API token by its id')
      .argument('<id>', 'the token id (from `cairn token list`)'),
  ).action(async (id: string, opts: ServerFlags) =>
    setExit(await (await import('./registry-admin.js')).tokenRevokeCommand(io, id, opts)),
  );

  const role = program.command('role').description('grant, revoke and list role bindings (admin)');
  for (const change of ['grant', 'revoke'] as const) {
    serverOptions(
      role
        .command(change)
        .description(
          change === 'grant'
            ? 'grant a role on a repository glob and environment'
            : 'remove a role binding (the same fields as it was granted with)',
        )
        .requiredOption('--subject <subject>', 'the identity, e.g. ci-acme or repo:acme/llm:ref:…')
        .option('--issuer <issuer>', `the identity's issuer (default: ${API_TOKEN_ISSUER})`)
        .requiredOption(
          '--role <role>',
          'reader, pusher, signer, promoter, deployer, admin or break-glass',
        )
        .requiredOption('--repository <glob>', 'repository glob: acme/llm, acme/*, **')
        .requiredOption('--environment <name>', 'environment name or *'),
    ).action(async (opts: RoleFlags) =>
      setExit(await (await import('./registry-admin.js')).roleChangeCommand(io, change, opts)),
    );
  }
  serverOptions(
    role
      .command('list')
      .description('list role bindings, of everyone or of one identity')
      .option('--subject <subject>', 'only this identity')
      .option('--issuer <issuer>', `with --subject: its issuer (default: ${API_TOKEN_ISSUER})`),
  ).action(async (opts: ServerFlags & { subject?: string; issuer?: string }) =>
    setExit(await (await import('./registry-admin.js')).roleListCommand(io, opts)),
  );

  const exception = program
    .command('exception')
    .description('store and list policy exceptions (admin)');
  serverOptions(
    exception
      .command('create')
      .description('store a PolicyException document (checked against the policies in force)')
      .requiredOption('--file <file>', 'the PolicyException document, YAML or JSON'),
  ).action(async (opts: ServerFlags & { file: string }) =>
    setExit(await (await import('./registry-admin.js')).exceptionCreateCommand(io, opts)),
  );
  serverOptions(exception.command('list').description('stored exceptions not yet expired')).action(
    async (opts: ServerFlags) =>
      setExit(await (await import('./registry-admin.js')).exceptionListCommand(io, opts)),
  );

  const glass = program
    .command('break-glass')
    .description('request and list break-glass grants for incidents');
  serverOptions(
    glass
      .command('request')
      .description(
        'ask for a time-limited break-glass grant (needs the break-glass role; admin does not imply it)',
      )
      .requiredOption('--repository <name>', 'the repository, e.g. acme/llm')
      .requiredOption('--environment <name>', 'the environment, e.g. production')
      .requiredOption('--incident <id>', 'the incident id, e.g. INC-1234')
      .requiredOption('--reason <text>', 'why the policy must be bypassed')
      .requiredOption('--ttl <duration>', "lifetime such as 2h (capped by the policy's maxTTL)")
      .option('--digest <sha256:…>', 'only this artifact (repeatable)', collect)
      .option('--name <name>', 'grant name (default: bg-<incident>-<random>)'),
  ).action(async (opts: BreakGlassFlags) =>
    setExit(await (await import('./registry-admin.js')).breakGlassRequestCommand(io, opts)),
  );
  serverOptions(
    glass.command('list').description('break-glass grants not yet expired (admin)'),
  ).action(async (opts: ServerFlags) =>
    setExit(await (await import('./registry-admin.js')).breakGlassListCommand(io, opts)),
  );
}

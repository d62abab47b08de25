import { Option, type Command } from 'commander';
import { POLICY_ACTIONS } from '../policy/constants.js';
import { collect } from './inputs.js';
import { addTrustOptions } from './options.js';
import type { Io } from './output.js';
import type { PolicyEvalFlags } from './policy.js';

/**
 * `cairn policy eval` and `cairn policy test`. Wired into the program by the CLI's composition
 * root: `registerPolicyCommands(program, io, setExit)`.
 */
export function registerPolicyCommands(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  const policy = program
    .command('policy')
    .description('evaluate models against policies, and run a policy directory’s own tests');

  addTrustOptions(
    policy
      .command('eval')
      .description(
        'verify a model (or read facts) and evaluate it against a policy directory; prints the decision',
      )
      .argument('[model]', 'model directory or file to verify (omit with --facts)')
      .requiredOption('--policy <dir>', 'policy directory (or one policy file)')
      .option('--facts <file>', 'evaluate these facts (JSON) instead of verifying a model')
      .option('--repository <name>', 'the repository the model belongs to, e.g. team/model')
      .option('--environment <name>', 'the environment the gate guards, e.g. production')
      .option(
        '--tag <tag>',
        'the model was referenced through this mutable tag (default: by digest)',
      )
      .addOption(
        new Option('--action <action>', 'what is asked')
          .choices([...POLICY_ACTIONS])
          .default('verify'),
      )
      .option('--actor <identity>', 'the authenticated identity asking (OIDC subject)')
      .option('--actor-issuer <url>', 'the OIDC issuer of --actor')
      .option('--now <time>', 'evaluate at this RFC 3339 instant instead of the current time')
      .option('--signature <path>', 'the bundle (default: <model>/model.sig, or <file>.sig)')
      .option(
        '--parent-signature <bundle>',
        "a derived model's parent signature, for transformation continuity (repeatable)",
        collect,
      )
      .option(
        '--chain-store <dir>',
        "directory of ancestors' signatures and attestations: continuity through the whole lineage (repeatable)",
        collect,
      ),
  )
    .option('--json', 'machine-readable output on stdout')
    .action(async (model: string | undefined, opts: PolicyEvalFlags) =>
      setExit(await (await import('./policy.js')).policyEvalCommand(io, model, opts)),
    );

  policy
    .command('test')
    .description('run the PolicyTest cases in a policy directory; exit 1 if any fails')
    .argument('<dir>', 'policy directory')
    .option('--json', 'machine-readable output on stdout')
    .action(async (dir: string, opts: { json?: boolean }) =>
      setExit((await import('./policy.js')).policyTestCommand(io, dir, opts)),
    );
}

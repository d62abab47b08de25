import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { extname, resolve } from 'node:path';
import type * as YamlLib from 'yaml';
import { z } from 'zod';
import { UsageError, ValidationError } from '../errors/index.js';
import { readSmallFile } from '../model/index.js';
import { POLICY_LIMITS, parseDuration, parsePolicyFile } from '../policy/index.js';
import { withApi } from './login.js';
import { note, printJson, say, type Io } from './output.js';
import { whoamiSchema, type RegistryClient, type RequestOptions } from './registry-client.js';

/**
 * The administrator's commands (docs/registry.md, "HTTP API": repositories, tokens and roles,
 * exceptions and break-glass grants) over the same client and credentials as push and pull.
 */

import { API_TOKEN_ISSUER } from './registry-admin-register.js';

export { API_TOKEN_ISSUER };

export interface ServerFlags {
  readonly server?: string;
  readonly json?: boolean;
}

// ── answers (validated before use; unknown extra fields are dropped) ──────────────────────────

const actorSchema = z.object({ issuer: z.string(), subject: z.string() });
const repositoryRecordSchema = z.object({
  name: z.string(),
  protected: z.boolean(),
  createdBy: actorSchema.optional(),
  at: z.string().max(64).optional(),
});
const environmentSchema = z.object({
  name: z.string(),
  promotionOnly: z.boolean(),
  protected: z.boolean(),
});
const tokenRecordSchema = z.object({
  id: z.string().max(256),
  subject: actorSchema,
  description: z.string(),
  createdBy: actorSchema,
  at: z.string().max(64),
  expiresAt: z.string().max(64).nullable(),
  revokedAt: z.string().max(64).nullable(),
});
const policyDataSchema = z.object({
  kind: z.enum(['exception', 'break-glass']),
  id: z.string(),
  document: z.record(z.string(), z.unknown()),
  createdBy: actorSchema,
  at: z.string().max(64),
  expiresAt: z.string().max(64),
});
const bindingsSchema = whoamiSchema.shape.roles;
const okSchema = z.object({ ok: z.literal(true) });
type PolicyDataView = z.infer<typeof policyDataSchema>;

/** A request whose success carries no body (204) or one we do not need. */
async function send(
  client: RegistryClient,
  method: string,
  path: string,
  json?: unknown,
): Promise<void> {
  const options: RequestOptions =
    json === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) };
  const res = await client.request(method, path, options);
  if (res.status < 200 || res.status > 299) throw await client.errorFrom(res);
  res.body.resume();
}

// ── small parsers for flags ──────────────────────────────────────────────────────────────────

/** `30d`, `4h`, `1d12h`, `90s` → seconds (positive). */
export function durationFlag(value: string, flag: string): number {
  const seconds = parseDuration(value);
  if (seconds === undefined || seconds <= 0) {
    throw new UsageError('USAGE', `${flag} must be a duration such as 4h, 30d or 1d12h`, {
      hint: `Got ${JSON.stringify(value)}: use whole numbers of d, h, m and s, largest first.`,
    });
  }
  return seconds;
}

function who(a: { issuer: string; subject: string }): string {
  return `${a.subject} (${a.issuer})`;
}

// ── repositories ─────────────────────────────────────────────────────────────────────────────

function repoPath(name: string): string {
  return `/v1/repos/${encodeURIComponent(name)}`;
}

export async function repoCreateCommand(
  io: Io,
  name: string,
  flags: ServerFlags & { readonly protected?: boolean },
): Promise<number> {
  return withApi(io, flags.server, async ({ client }) => {
    const { repository } = await client.json(
      'POST',
      '/v1/repos',
      okSchema.extend({ repository: repositoryRecordSchema }),
      { json: { name, protected: flags.protected === true } },
    );
    if (flags.json) printJson(io, { ok: true, repository });
    else {
      say(io, `Created repository ${repository.name}${repository.protected ? ' (protected)' : ''}`);
    }
    return 0;
  });
}

export async function repoListCommand(io: Io, flags: ServerFlags): Promise<number> {
  return withApi(io, flags.server, async ({ client }) => {
    const { repositories } = await client.json(
      'GET',
      '/v1/repos',
      okSchema.extend({ repositories: z.array(repositoryRecordSchema).max(1_000_000) }),
      { limit: 64 * 1024 * 1024 },
    );
    if (flags.json) printJson(io, { ok: true, repositories });
    else if (repositories.length === 0) say(io, 'No repositories you can read');
    else {
      for (const r of repositories) {
        say(io, `${r.name.padEnd(40)} ${r.protected ? 'protected' : '         '}  ${r.at ?? ''}`);
      }
    }
    return 0;
  });
}

export async function repoShowCommand(io: Io, name: string, flags: ServerFlags): Promise<number> {
  return withApi(io, flags.server, async ({ client }) => {
    const shown = await client.json(
      'GET',
      repoPath(name),
      okSchema.extend({
        repository: repositoryRecordSchema,
        environments: z.array(environmentSchema).max(1000),
      }),
    );
    if (flags.json) {
      printJson(io, { ok: true, repository: shown.repository, environments: shown.environments });
      return 0;
    }
    const r = shown.repository;
    say(io, `${r.name}${r.protected ? ' (protected: tags never move)' : ''}`);
    if (r.createdBy !== undefined) say(io, `  created by ${who(r.createdBy)} at ${r.at ?? '?'}`);
    for (const e of shown.environments) {
      const traits = [
        e.promotionOnly ? 'promotion-only' : 'direct push',
        e.protected ? 'protected retrieval' : 'open retrieval',
      ];
      say(io, `  ${e.name.padEnd(16)} ${traits.join(', ')}`);
    }
    return 0;
  });
}

// ── tokens ───────────────────────────────────────────────────────────────────────────────────

export interface TokenCreateFlags extends ServerFlags {
  readonly subject: string;
  readonly description?: string;
  readonly expiresIn?: string;
}

/** Prints the new token once (stdout), never to stderr; the warning goes to stderr. */
export async function tokenCreateCommand(io: Io, flags: TokenCreateFlags): Promise<number> {
  const expiresInSeconds =
    flags.expiresIn === undefined ? undefined : durationFlag(flags.expiresIn, '--expires-in');
  return withApi(io, flags.server, async ({ client }) => {
    const created = await client.json(
      'POST',
      '/v1/tokens',
      okSchema.extend({ token: z.string().min(1).max(4096), record: tokenRecordSchema }),
      {
        json: {
          subject: flags.subject,
          description: flags.description ?? '',
          ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }),
        },
      },
    );
    const r = created.record;
    note(
      io,
      `Token ${r.id} for ${who(r.subject)}, ${r.expiresAt === null ? 'does not expire' : `expires ${r.expiresAt}`}.`,
    );
    note(io, 'warning: the token is shown only once; store it now (the server keeps only a hash).');
    if (flags.json) printJson(io, { ok: true, token: created.token, record: r });
    else say(io, created.token);
    return 0;
  });
}

export async function tokenListCommand(io: Io, flags: ServerFlags): Promise<number> {
  return withApi(io, flags.server, async ({ client }) => {
    const { tokens } = await client.json(
      'GET',
      '/v1/tokens',
      okSchema.extend({ tokens: z.array(tokenRecordSchema).max(1_000_000) }),
      { limit: 64 * 1024 * 1024 },
    );
    if (flags.json) printJson(io, { ok: true, tokens });
    else if (tokens.length === 0) say(io, 'No API tokens');
    else {
      for (const t of tokens) {
        const state =
          t.revokedAt !== null
            ? `revoked ${t.revokedAt}`
            : t.expiresAt === null
              ? 'no expiry'
              : `expires ${t.expiresAt}`;
        const description = t.description === '' ? '' : `  "${t.description}"`;
        say(io, `${t.id}  ${t.subject.subject.padEnd(24)} ${state}${description}`);
      }
    }
    return 0;
  });
}

export async function tokenRevokeCommand(io: Io, id: string, flags: ServerFlags): Promise<number> {
  return withApi(io, flags.server, async ({ client }) => {
    await send(client, 'DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
    if (flags.json) printJson(io, { ok: true, revoked: id });
    else say(io, `Revoked token ${id}`);
    return 0;
  });
}

// ── roles ────────────────────────────────────────────────────────────────────────────────────

export interface RoleFlags extends ServerFlags {
  readonly subject: string;
  readonly issuer?: string;
  readonly role: string;
  readonly repository: string;
  readonly environment: string;
}

function roleBody(flags: RoleFlags) {
  return {
    subject: { issuer: flags.issuer ?? API_TOKEN_ISSUER, subject: flags.subject },
    role: flags.role,
    repository: flags.repository,
    environment: flags.environment,
  };
}

export async function roleChangeCommand(
  io: Io,
  change: 'grant' | 'revoke',
  flags: RoleFlags,
): Promise<number> {
  const binding = roleBody(flags);
  return withApi(io, flags.server, async ({ client }) => {
    await send(client, change === 'grant' ? 'POST' : 'DELETE', '/v1/roles', binding);
    if (flags.json)
      printJson(io, { ok: true, [change === 'grant' ? 'granted' : 'revoked']: binding });
    else {
      say(
        io,
        `${change === 'grant' ? 'Granted' : 'Revoked'} ${binding.role} on ${binding.repository} in ${binding.environment} ${change === 'grant' ? 'to' : 'from'} ${who(binding.subject)}`,
      );
    }
    return 0;
  });
}

export async function roleListCommand(
  io: Io,
  flags: ServerFlags & { readonly subject?: string; readonly issuer?: string },
): Promise<number> {
  if (flags.issuer !== undefined && flags.subject === undefined) {
    throw new UsageError('USAGE', '--issuer needs --subject', {
      hint: 'Name one identity with --subject (and --issuer when it is not an API token).',
    });
  }
  const query =
    flags.subject === undefined
      ? {}
      : { issuer: flags.issuer ?? API_TOKEN_ISSUER, subject: flags.subject };
  return withApi(io, flags.server, async ({ client }) => {
    const { bindings } = await client.json(
      'GET',
      '/v1/roles',
      okSchema.extend({ bindings: bindingsSchema }),
      { query, limit: 64 * 1024 * 1024 },
    );
    if (flags.json) printJson(io, { ok: true, bindings });
    else if (bindings.length === 0) say(io, 'No role bindings');
    else {
      for (const b of bindings) {
        say(io, `${b.role.padEnd(11)} ${b.repository} in ${b.environment}  ${who(b.subject)}`);
      }
    }
    return 0;
  });
}

// ── exceptions and break-glass grants ────────────────────────────────────────────────────────

let yamlLib: typeof YamlLib | undefined;
function yaml(): typeof YamlLib {
  yamlLib ??= createRequire(import.meta.url)('yaml') as typeof YamlLib;
  return yamlLib;
}

/**
 * One PolicyException document from a YAML or JSON file, checked here with the policy engine's
 * own reader (size, nesting and alias limits, every bad field) before it is sent; the server
 * checks it again against the policies in force. The raw value is sent, as a policy file holds it.
 */
export function readExceptionDocument(io: Io, file: string): Record<string, unknown> {
  const path = resolve(io.cwd, file);
  const text = readSmallFile(path, POLICY_LIMITS.maxFileBytes, 'Exception file').toString('utf8');
  const parsed = parsePolicyFile({ source: file, text });
  const issues = [...parsed.issues];
  if (issues.length === 0 && parsed.documents.length !== 1) {
    issues.push({
      code: 'POLICY_INVALID',
      source: file,
      path: '(file)',
      message: `must hold exactly one document, found ${parsed.documents.length}`,
    });
  } else if (issues.length === 0 && parsed.documents[0]?.kind !== 'PolicyException') {
    issues.push({
      code: 'POLICY_INVALID',
      source: file,
      path: 'kind',
      message: 'must be PolicyException',
    });
  }
  if (issues.length > 0) {
    throw new ValidationError('POLICY_INVALID', `${file} is not a valid PolicyException`, {
      details: { issues },
    });
  }
  // The text passed the limits above; JSON files are read as JSON, anything else as YAML 1.2 core.
  const value: unknown =
    extname(file).toLowerCase() === '.json'
      ? JSON.parse(text)
      : yaml().parse(text, {
          schema: 'core',
          uniqueKeys: true,
          maxAliasCount: POLICY_LIMITS.maxAliases,
        });
  return value as Record<string, unknown>;
}

function describePolicyData(r: PolicyDataView): string {
  const spec = (r.document['spec'] ?? {}) as Record<string, unknown>;
  const extra =
    r.kind === 'exception'
      ? `policy ${String(spec['policy'])}, ticket ${String(spec['ticket'])}`
      : `incident ${String(spec['incident'])}`;
  return `${r.id.padEnd(32)} ${extra}  by ${who(r.createdBy)}  expires ${r.expiresAt}`;
}

export async function exceptionCreateCommand(
  io: Io,
  flags: ServerFlags & { readonly file: string },
): Promise<number> {
  const document = readExceptionDocument(io, flags.file);
  return withApi(io, flags.server, async ({ client }) => {
    const { exception } = await client.json(
      'POST',
      '/v1/exceptions',
      okSchema.extend({ exception: policyDataSchema }),
      { json: { document } },
    );
    if (flags.json) printJson(io, { ok: true, exception });
    else say(io, `Stored exception ${exception.id}, expires ${exception.expiresAt}`);
    return 0;
  });
}

async function listPolicyData(
  io: Io,
  flags: ServerFlags,
  kind: 'exceptions' | 'grants',
): Promise<number> {
  const path = kind === 'exceptions' ? '/v1/exceptions' : '/v1/break-glass';
  return withApi(io, flags.server, async ({ client }) => {
    const answer = await client.json(
      'GET',
      path,
      okSchema.extend({ [kind]: z.array(policyDataSchema).max(100_000) }),
      { limit: 64 * 1024 * 1024 },
    );
    const records = answer[kind] as PolicyDataView[];
    if (flags.json) printJson(io, { ok: true, [kind]: records });
    else if (records.length === 0) {
      say(io, kind === 'exceptions' ? 'No stored exceptions in force' : 'No break-glass grants');
    } else for (const r of records) say(io, describePolicyData(r));
    return 0;
  });
}

export const exceptionListCommand = (io: Io, flags: ServerFlags) =>
  listPolicyData(io, flags, 'exceptions');
export const breakGlassListCommand = (io: Io, flags: ServerFlags) =>
  listPolicyData(io, flags, 'grants');

export interface BreakGlassFlags extends ServerFlags {
  readonly repository: string;
  readonly environment: string;
  readonly incident: string;
  readonly reason: string;
  readonly ttl: string;
  readonly digest?: string[];
  readonly name?: string;
}

/** `bg-<incident>-<random>`: a policy document name (lowercase, ≤ 63 characters). */
export function breakGlassName(incident: string): string {
  const slug = incident
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return `bg-${slug === '' ? '' : `${slug}-`}${randomBytes(4).toString('hex')}`;
}

export async function breakGlassRequestCommand(io: Io, flags: BreakGlassFlags): Promise<number> {
  const ttlSeconds = durationFlag(flags.ttl, '--ttl');
  const body = {
    name: flags.name ?? breakGlassName(flags.incident),
    repository: flags.repository,
    environment: flags.environment,
    incident: flags.incident,
    reason: flags.reason,
    ttlSeconds,
    ...(flags.digest === undefined || flags.digest.length === 0 ? {} : { digests: flags.digest }),
  };
  return withApi(io, flags.server, async ({ client }) => {
    const { grant } = await client.json(
      'POST',
      '/v1/break-glass',
      okSchema.extend({ grant: policyDataSchema }),
      { json: body },
    );
    if (flags.json) printJson(io, { ok: true, grant });
    else {
      say(io, `Break-glass grant ${grant.id} for ${flags.repository} in ${flags.environment}`);
      say(io, `  expires ${grant.expiresAt} (the policy's maxTTL caps the lifetime asked for)`);
    }
    return 0;
  });
}

// ── registration ─────────────────────────────────────────────────────────────────────────────

export { registerAdminCommands } from './registry-admin-register.js';

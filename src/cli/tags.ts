import { UsageError } from '../errors/index.js';
import { withApi } from './login.js';
import { printJson, say, type Io } from './output.js';

export interface TagsFlags {
  readonly environment: string;
  /** `true` for every tag's history, a string for one tag's. */
  readonly history?: string | boolean;
  readonly at?: string;
  readonly server?: string;
  readonly json?: boolean;
}

function who(a: { issuer: string; subject: string }): string {
  return `${a.subject} (${a.issuer})`;
}

/**
 * `cairn tags REPO`: the tags of one environment, or with --history the append-only record of
 * every move ("what was prod-current on Tuesday": --history --at TIME).
 */
export async function tagsCommand(io: Io, repository: string, flags: TagsFlags): Promise<number> {
  if (flags.at !== undefined) {
    if (flags.history === undefined) throw new UsageError('USAGE', '--at needs --history');
    if (typeof flags.history === 'string') {
      throw new UsageError('USAGE', '--at applies to the history of every tag: drop the tag name');
    }
    if (Number.isNaN(Date.parse(flags.at))) {
      throw new UsageError(
        'USAGE',
        `--at must be an RFC 3339 time, got ${JSON.stringify(flags.at)}`,
      );
    }
  }
  return withApi(io, flags.server, async (api) => {
    if (flags.history === undefined) {
      const tags = await api.tags(repository, flags.environment);
      if (flags.json) printJson(io, { ok: true, repository, environment: flags.environment, tags });
      else if (tags.length === 0) say(io, `No tags in ${repository} ${flags.environment}`);
      else {
        for (const t of tags) {
          say(io, `${t.tag.padEnd(24)} ${t.digest}  ${t.at}  ${who(t.updatedBy)}`);
        }
      }
      return 0;
    }
    const tag = typeof flags.history === 'string' ? flags.history : undefined;
    const at = flags.at === undefined ? undefined : new Date(flags.at).toISOString();
    const history = await api.tagHistory(repository, flags.environment, tag, at);
    if (flags.json) {
      printJson(io, {
        ok: true,
        repository,
        environment: flags.environment,
        ...(tag === undefined ? {} : { tag }),
        ...(at === undefined ? {} : { at }),
        history,
      });
      return 0;
    }
    if (history.length === 0) say(io, 'No tag moves recorded');
    for (const h of history) {
      say(
        io,
        `#${h.seq} ${h.at}  ${h.tag}: ${h.previous ?? '(new)'} → ${h.digest}  by ${who(h.updatedBy)}${h.reason === undefined ? '' : `  (${h.reason})`}`,
      );
    }
    return 0;
  });
}

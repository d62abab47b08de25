import { createRequire } from 'node:module';
import type * as YamlLib from 'yaml';

let yamlLib: typeof YamlLib | undefined;
/** `yaml` loads on first use (~0.07 s), so commands that read no policy do not pay for it. */
function yaml(): typeof YamlLib {
  yamlLib ??= createRequire(import.meta.url)('yaml') as typeof YamlLib;
  return yamlLib;
}
import { POLICY_LIMITS } from './limits.js';
import type { PolicyIssue } from './issues.js';

export interface YamlDocumentValue {
  /** 1-based position of the document in its file. */
  readonly index: number;
  readonly value: unknown;
}

/**
 * Reads untrusted YAML (JSON is YAML too) into plain values: a size limit, then a nesting limit
 * checked on the lexer's token stream (the lexer is iterative; the yaml composer recurses, and a
 * few thousand nested brackets crash the process instead of failing), then the YAML 1.2 core
 * schema (no custom tags, no timestamps, no merge keys), unique keys and an alias cap.
 */
export function readYamlDocuments(
  text: string,
  source: string,
): { readonly documents: readonly YamlDocumentValue[]; readonly issues: readonly PolicyIssue[] } {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > POLICY_LIMITS.maxFileBytes) {
    return fail(source, `the file is ${bytes} bytes; the limit is ${POLICY_LIMITS.maxFileBytes}`);
  }
  const nesting = nestingProblem(text);
  if (nesting !== undefined) return fail(source, nesting);
  const parsed = yaml().parseAllDocuments(text, {
    schema: 'core',
    prettyErrors: false,
    uniqueKeys: true,
  });
  const docs = Array.isArray(parsed) ? parsed : [];
  if (docs.length > POLICY_LIMITS.maxDocumentsPerFile) {
    return fail(
      source,
      `the file holds ${docs.length} documents; the limit is ${POLICY_LIMITS.maxDocumentsPerFile}`,
    );
  }
  const documents: YamlDocumentValue[] = [];
  const issues: PolicyIssue[] = [];
  docs.forEach((doc, i) => {
    const where = `${source}#${i + 1}`;
    const errors = [...doc.errors];
    if (errors.length > 0) {
      for (const e of errors) {
        const pos = e.linePos?.[0];
        issues.push({
          code: 'POLICY_INVALID',
          source: where,
          path: '(document)',
          message: `${pos === undefined ? '' : `line ${pos.line}, column ${pos.col}: `}${e.message.split('\n')[0]!}`,
        });
      }
      return;
    }
    try {
      const value: unknown = doc.toJS({ maxAliasCount: POLICY_LIMITS.maxAliases });
      // An empty document (a trailing `---`) is not an error.
      if (value !== null && value !== undefined) documents.push({ index: i + 1, value });
    } catch (err) {
      issues.push({
        code: 'POLICY_INVALID',
        source: where,
        path: '(document)',
        message: err instanceof Error ? err.message.split('\n')[0]! : String(err),
      });
    }
  });
  return { documents, issues };
}

function fail(source: string, message: string) {
  return {
    documents: [],
    issues: [{ code: 'POLICY_INVALID' as const, source, path: '(file)', message }],
  };
}

/**
 * A conservative bound on nesting: flow depth counted exactly from bracket tokens; block depth
 * on each line bounded by its indentation plus the `-`, `?` and `:` indicators before content.
 */
function nestingProblem(text: string): string | undefined {
  let flow = 0;
  let line = 1;
  let lineDepth = 0;
  let inContent = false;
  const { CST, Lexer } = yaml();
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    // Only nesting and content tokens matter here; every other token type (and null, for
    // scalar text) falls through to the default.
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check
    switch (type) {
      case 'newline':
        line++;
        lineDepth = 0;
        inContent = false;
        break;
      case 'space':
        if (!inContent) lineDepth += token.length;
        break;
      case 'seq-item-ind':
      case 'explicit-key-ind':
      case 'map-value-ind':
        // Inside brackets nesting is counted by `flow`; `{a: 1, b: 2}` is one level.
        if (flow === 0) lineDepth++;
        break;
      case 'flow-seq-start':
      case 'flow-map-start':
        inContent = true;
        if (++flow > POLICY_LIMITS.maxFlowDepth) {
          return `line ${line}: brackets nest deeper than ${POLICY_LIMITS.maxFlowDepth} levels`;
        }
        break;
      case 'flow-seq-end':
      case 'flow-map-end':
        flow = Math.max(0, flow - 1);
        break;
      case 'scalar':
      case 'single-quoted-scalar':
      case 'double-quoted-scalar':
      case 'block-scalar-header':
      case 'alias':
        inContent = true;
        break;
      default:
        // Anchors, tags, comments and markers neither nest nor end the indentation.
        break;
    }
    if (lineDepth > POLICY_LIMITS.maxBlockDepth) {
      return `line ${line}: indentation nests deeper than ${POLICY_LIMITS.maxBlockDepth} levels`;
    }
  }
  return undefined;
}

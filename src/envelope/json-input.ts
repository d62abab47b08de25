/** Why untrusted JSON bytes were refused before or while parsing. */
export type JsonReadFailure =
  | { readonly kind: 'too-large'; readonly size: number; readonly limit: number }
  | { readonly kind: 'too-deep'; readonly offset: number; readonly limit: number }
  | { readonly kind: 'not-utf8' }
  | { readonly kind: 'syntax'; readonly message: string };

export type JsonReadResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly failure: JsonReadFailure };

export interface JsonLimits {
  readonly maxBytes: number;
  readonly maxDepth: number;
}

/**
 * Offset at which `[`/`{` nesting first exceeds `maxDepth`, or -1. Scans raw bytes, skipping
 * string contents (with their escapes), so hostile nesting is refused before `JSON.parse` recurses
 * into it. Unbalanced input is left for the parser to reject.
 */
export function findExcessiveNesting(bytes: Uint8Array, maxDepth: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === 0x5c) i++;
      else if (b === 0x22) inString = false;
      continue;
    }
    if (b === 0x22) inString = true;
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > maxDepth) return i;
    } else if (b === 0x5d || b === 0x7d) depth--;
  }
  return -1;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Reads untrusted JSON: size limit, then nesting limit, then strict UTF-8 (a BOM is kept and so
 * rejected by the parser, as Python's `json.loads` does), then `JSON.parse`.
 */
export function readJsonBytes(bytes: Uint8Array, limits: JsonLimits): JsonReadResult {
  if (bytes.length > limits.maxBytes) {
    return {
      ok: false,
      failure: { kind: 'too-large', size: bytes.length, limit: limits.maxBytes },
    };
  }
  const deep = findExcessiveNesting(bytes, limits.maxDepth);
  if (deep >= 0) {
    return { ok: false, failure: { kind: 'too-deep', offset: deep, limit: limits.maxDepth } };
  }
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return { ok: false, failure: { kind: 'not-utf8' } };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return {
      ok: false,
      failure: { kind: 'syntax', message: err instanceof Error ? err.message : String(err) },
    };
  }
}

/** A JSON-style path for messages: `verificationMaterial.certificates[0].rawBytes`. */
export function formatJsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

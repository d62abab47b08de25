/**
 * `json.dumps(value, indent=2)` with Python's defaults (`ensure_ascii=True`): two-space indent,
 * `", "`-free item separators (`,` + newline), `": "` key separator, no trailing newline, every
 * character outside printable ASCII escaped as `\uXXXX` (astral characters as surrogate pairs).
 * JSON.stringify already matches Python's layout and its escapes for `"`, `\\`, and C0 controls
 * (`\b \f \n \r \t`, else `\u00XX`); only the non-ASCII escaping has to be added. Inside the
 * output, non-ASCII can only occur within strings, so a global pass is safe.
 *
 * Numbers must be safe integers (JSON.stringify would print `1e21`, Python `1e+21`).
 */
export function pythonJsonDumps(value: unknown): string {
  const text = JSON.stringify(value, null, 2);
  return text.replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Instants and durations in policy documents. Instants are RFC 3339 with an explicit offset
 * (`2025-09-01T00:00:00Z`), never a bare date: "the second before enforcement" must mean one
 * instant everywhere. Durations are `<n>d`, `<n>h`, `<n>m`, `<n>s` or a sequence (`1d12h`).
 */

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;

/** The instant, or undefined when `text` is not a valid RFC 3339 timestamp with an offset. */
export function parseInstant(text: string): Date | undefined {
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
  if (
    month! < 1 ||
    month! > 12 ||
    day! < 1 ||
    day! > daysInMonth(year!, month!) ||
    hour! > 23 ||
    minute! > 59 ||
    second! > 59
  ) {
    return undefined;
  }
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

const DURATION = /^(?:(\d{1,6})d)?(?:(\d{1,7})h)?(?:(\d{1,9})m)?(?:(\d{1,10})s)?$/;

/** Seconds, or undefined when `text` is not a duration such as `30d`, `4h` or `1d12h`. */
export function parseDuration(text: string): number | undefined {
  if (text === '') return undefined;
  const m = DURATION.exec(text);
  if (m === null) return undefined;
  const [d, h, min, s] = [m[1], m[2], m[3], m[4]].map((v) => (v === undefined ? 0 : Number(v)));
  return d! * 86400 + h! * 3600 + min! * 60 + s!;
}

const durations = new Map<number, string>();

/** `3d 4h`, `45m`, `12s`: the two largest units, for reasons people read. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  let text = durations.get(s);
  if (text === undefined) {
    text = durationText(s);
    if (durations.size >= 4096) durations.clear();
    durations.set(s, text);
  }
  return text;
}

function durationText(s: number): string {
  const parts: [number, string][] = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, u]) => `${n}${u}`)
    .join(' ');
}

const formatted = new WeakMap<Date, { readonly time: number; readonly text: string }>();

/** RFC 3339 in UTC, second precision unless the instant has milliseconds. */
export function formatInstant(date: Date): string {
  const time = date.getTime();
  const cached = formatted.get(date);
  // Dates are mutable: the cached text holds only while the instant is unchanged.
  if (cached !== undefined && cached.time === time) return cached.text;
  const iso = date.toISOString();
  const text = iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
  formatted.set(date, { time, text });
  return text;
}

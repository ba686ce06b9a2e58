/**
 * `npm start` shows the services' pino JSON lines as `14:03:12 WARN  message  key=value …`, the way
 * one reads them in a terminal. Anything that is not a pino line passes through unchanged. The
 * services still log JSON (for shipping to a log store); HERMES_LOG_FORMAT=json keeps it here too.
 */
const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
/** pino's own fields, shown by position (time, level, message) or not at all. */
const OWN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'service', 'v']);
const VALUE_MAX = 300;

function show(value: unknown): string {
  if (value && typeof value === 'object' && 'stack' in value && 'message' in value)
    return JSON.stringify(value.message); // an error: its message, not its stack
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const quoted = typeof value === 'string' && /[\s"=]/.test(text) ? JSON.stringify(text) : text;
  return quoted.length > VALUE_MAX ? `${quoted.slice(0, VALUE_MAX - 1)}…` : quoted;
}

export function prettyLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof record.level !== 'number' || typeof record.time !== 'number') return line;
  const time = new Date(record.time).toISOString().slice(11, 19);
  const level = (LEVELS[record.level] ?? String(record.level)).padEnd(5);
  const fields = Object.entries(record)
    .filter(([key, value]) => !OWN.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${show(value)}`);
  return [`${time} ${level} ${typeof record.msg === 'string' ? record.msg : ''}`, ...fields].join('  ');
}

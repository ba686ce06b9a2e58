/** Log severities a caller can ask for; a line passes when its rank is at least the level's. */
export type LogLevel = 'error' | 'warn' | 'info' | 'all';

/** Minimum line rank for each requested level. */
const RANK = { error: 3, warn: 2, info: 1, all: 0 } as const satisfies Record<LogLevel, number>;

/** Severity of a log line: JSON `level` (pino numbers or names) or a level word in plain text. */
export function lineRank(line: string): number {
  if (line.startsWith('{')) {
    try {
      const level: unknown = (JSON.parse(line) as { level?: unknown }).level;
      if (typeof level === 'number') return level >= 50 ? 3 : level >= 40 ? 2 : level >= 30 ? 1 : 0;
      if (typeof level === 'string') return wordRank(level);
    } catch {
      // not JSON after all
    }
  }
  const match = /\b(fatal|critical|crit|error|err|panic|warning|warn|info|notice)\b/i.exec(line);
  return match ? wordRank(match[1] as string) : 0;
}

/** Rank of one level word (`ERROR`, `warning`, `notice`…); unknown words rank 0. */
export function wordRank(word: string): number {
  const w = word.toLowerCase();
  if (['fatal', 'critical', 'crit', 'error', 'err', 'panic'].includes(w)) return 3;
  if (w === 'warn' || w === 'warning') return 2;
  if (w === 'info' || w === 'notice') return 1;
  return 0;
}

/** Whether a line is at least as severe as the requested level (`all` keeps every line). */
export function levelAtLeast(line: string, level: LogLevel): boolean {
  return lineRank(line) >= RANK[level];
}

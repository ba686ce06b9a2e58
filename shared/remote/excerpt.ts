/** The last non-empty lines of a command's output, for a one-line reason. */
export function excerpt(text: string, max = 300): string {
  const lines = text.trim().split('\n').filter(Boolean);
  const tail = lines.slice(-3).join(' | ');
  return tail.length > max ? `…${tail.slice(-max)}` : tail;
}

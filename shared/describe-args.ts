const VALUE_MAX = 80;

/** `service=api lines=50`: a tool's arguments as a human types them, each value cut short. */
export function describeArgs(args: unknown): string {
  if (!args || typeof args !== 'object') return '';
  return Object.entries(args as Record<string, unknown>)
    .map(([key, value]) => {
      const shown = typeof value === 'string' ? value : JSON.stringify(value);
      const quoted = /[\s"]/.test(shown ?? '') ? JSON.stringify(shown) : shown;
      return `${key}=${clip(quoted ?? '')}`;
    })
    .join(' ');
}

function clip(value: string): string {
  return value.length > VALUE_MAX ? `${value.slice(0, VALUE_MAX - 1)}…` : value;
}

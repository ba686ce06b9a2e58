import { sha256 } from '../../shared/canonical.js';

/**
 * Builds correlation keys from a spec like `alertname,service|job,instance`: alerts whose values
 * agree on every term (a term `a|b` takes the first label present) belong to one incident.
 */
export function createCorrelator(spec: string) {
  const terms = spec.split(',').map((term) => term.split('|'));
  return (labels: Record<string, string>) => {
    const readable = terms
      .map((names) => {
        const name = names.find((n) => labels[n] !== undefined) ?? names[0];
        return `${name}=${labels[name as string] ?? ''}`;
      })
      .join(',');
    return { readable, hash: sha256(readable).slice(0, 32) };
  };
}

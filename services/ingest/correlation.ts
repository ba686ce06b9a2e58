import { sha256 } from '../../shared/canonical.js';

const HASH_MEMO_SIZE = 10_000;

/**
 * The default grouping. Beyond the alert's name, service and instance: the namespace, workload and
 * container, because one exporter instance (kube-state-metrics, cAdvisor) reports many workloads,
 * and one incident's scope must never hold two of them.
 */
export const DEFAULT_CORRELATION_LABELS =
  'alertname,service|job,instance,namespace,deployment|statefulset|daemonset|pod,container|name';

/**
 * Builds correlation keys from a spec like `alertname,service|job,instance`: alerts whose values
 * agree on every term (a term `a|b` takes the first label present) belong to one incident.
 */
export function createCorrelator(spec: string) {
  const terms = spec.split(',').map((term) => term.split('|'));
  // Alerts of one group share a key: remembering recent hashes spares a digest per alert.
  const hashes = new Map<string, string>();
  return (labels: Record<string, string>) => {
    // A loop rather than map/find/join: this runs for every new alert.
    let readable = '';
    // Length-prefixed, so label values holding `,` or `=` cannot make two groups one.
    let key = '';
    for (let t = 0; t < terms.length; t++) {
      const names = terms[t] as string[];
      let name = names[0] as string;
      for (const candidate of names) {
        if (Object.hasOwn(labels, candidate)) {
          name = candidate;
          break;
        }
      }
      const value = Object.hasOwn(labels, name) ? (labels[name] as string) : '';
      readable += `${t === 0 ? '' : ','}${name}=${value}`;
      key += `${name.length}:${name}${value.length}:${value}`;
    }
    let hash = hashes.get(key);
    if (hash === undefined) {
      hash = sha256(key).slice(0, 32);
      if (hashes.size >= HASH_MEMO_SIZE) hashes.clear();
      hashes.set(key, hash);
    }
    return { readable, hash };
  };
}

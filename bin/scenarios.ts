import type { TestAlertSpec } from './webhook.js';

/** Sample alerts for `hermes fire <scenario>`: the seed's chaos scenarios and a few more. */
export const SCENARIOS: Record<string, TestAlertSpec[]> = {
  disk: [
    {
      alertname: 'DiskSpaceLow',
      severity: 'warning',
      instance: 'app-server-01',
      service: 'app',
      description: '/ disk usage at 89%',
    },
  ],
  crash: [
    {
      alertname: 'ServiceDown',
      severity: 'critical',
      instance: 'api-server-03',
      service: 'api-gateway',
      description: 'api-gateway unresponsive for 5 minutes',
    },
  ],
  'db-corruption': [
    {
      alertname: 'DBCorruption',
      severity: 'critical',
      instance: 'db-primary-01',
      service: 'postgres',
      description: 'Database corruption detected — may need to delete and rebuild',
    },
  ],
  'db-pool': [
    {
      alertname: 'DBConnectionPoolExhausted',
      severity: 'critical',
      instance: 'api-server-01',
      service: 'orders',
      description: 'connection pool 100/100 in use for 5 minutes',
    },
  ],
  backlog: [
    {
      alertname: 'QueueBacklog',
      severity: 'warning',
      instance: 'worker-01',
      service: 'email-consumer',
      description: 'queue depth 25,000 and growing',
    },
  ],
  latency: [
    {
      alertname: 'HighLatency',
      severity: 'warning',
      instance: 'api-server-02',
      service: 'checkout',
      description: 'p99 latency 10 s for 10 minutes',
    },
  ],
  failover: [
    {
      alertname: 'DatabaseFailover',
      severity: 'critical',
      instance: 'db-primary-01',
      service: 'postgres',
      description: 'primary unreachable; replica promotion pending',
    },
  ],
};

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomId } from '../../../shared/ids.js';
import { LearnedRules } from '../../../shared/learned-rules.js';
import { QUEUE } from '../../../shared/queues.js';
import type { ActionJob, ExecutionMode } from '../../../shared/schemas/jobs.js';
import { testPolicy } from '../../../test/support/executor-harness.js';
import { inProcessExecutor } from '../../../test/support/in-process-executor.js';
import { openIncident } from '../../../test/support/incidents.js';
import { openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import { RoundTrips } from '../../../test/support/round-trips.js';

/**
 * Each round trip to Redis is a wait on every decision (issue 33: executor decision latency). A plain
 * agent restart is pinned here: a change that adds one fails, and says where they went.
 */
let t: TestRedis;
let counted: Redis;
let dir: string;
let queues: Queue[];

beforeEach(async () => {
  t = await openTestRedis();
  counted = new Redis(t.url, { maxRetriesPerRequest: null });
  dir = mkdtempSync(join(tmpdir(), 'hermes-round-trips-'));
  queues = [QUEUE.notifications.executor, QUEUE.triage].map(
    (name) => new Queue(name, { connection: t.redis, prefix: t.keys.bullPrefix }),
  );
});
afterEach(async () => {
  await Promise.all(queues.map((queue) => queue.close()));
  counted.disconnect();
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

async function countedRestart(mode: ExecutionMode): Promise<{ decision: string; trips: RoundTrips }> {
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, testPolicy(join(dir, 'runs.log'), join(dir, 'logs')));
  const trips = new RoundTrips(counted);
  const [notifications, triage] = queues as [Queue, Queue];
  const processor = inProcessExecutor({
    redis: counted,
    keys: t.keys,
    policyFile,
    mode,
    notifications,
    triage,
  });
  // Judgement reads the learned rules on every decision: one is in force, for another resource.
  await new LearnedRules(t.redis, t.keys).noteIneffective(
    { alertname: 'ServiceDown', tool: 'restart_service', resource: 'elsewhere' },
    {
      incidentId: 'inc_elsewhere',
      actionId: randomId('act'),
      target: 'test-machine',
      verdict: 'ineffective',
      at: new Date().toISOString(),
    },
    { ineffectiveToConfirm: 1, windowSeconds: 3_600, cooldownSeconds: 3_600 },
  );
  const restart = async (service: string) => {
    const incidentId = await openIncident(t, { alertname: 'ServiceDown', service, level: 1 });
    const job: ActionJob = {
      actionId: randomId('act'),
      incidentId,
      tool: 'restart_service',
      args: { service, host: 'app-server-01', reason: 'crashed' },
      requestedBy: 'agent',
    };
    return processor.handle(job, 'agent');
  };
  // The first decision loads the scripts (NOSCRIPT, then EVAL): not what every decision pays.
  await restart('warm-up');
  trips.reset();
  const outcome = await restart('api');
  return { decision: outcome.decision, trips };
}

describe('round trips to Redis per decision', () => {
  it('decides a plain agent restart in 8 round trips, the run included', async () => {
    const { decision, trips } = await countedRestart('live');
    expect(decision).toBe('executed');
    // The claim with the first reads (level, summary, scope, human stop, kill switch); the fleet hold
    // with judgement's reads and the breaker's state; the change budget (the incident's priority came
    // with the first reads); the limits with the last human-stop check; the breaker's success; the outcome
    // notes; the claim finished; the record on the incident with the audit entry.
    expect(trips.trips, JSON.stringify(trips.byStep(), null, 1)).toBe(8);
  });

  it('decides it in 7 in dry-run: nothing runs, so the breaker hears nothing', async () => {
    const { decision, trips } = await countedRestart('dry-run');
    expect(decision).toBe('dry_run');
    expect(trips.trips, JSON.stringify(trips.byStep(), null, 1)).toBe(7);
  });
});

import { afterEach, beforeEach, expect, it } from 'vitest';
import { IncidentStore } from '../../../shared/incidents.js';
import { createQueue, createQueueEvents, QUEUE } from '../../../shared/queues.js';
import type { ActionJob } from '../../../shared/schemas/jobs.js';
import { openIncident } from '../../../test/support/incidents.js';
import { openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import { ActionClient } from '../actions.js';

let t: TestRedis;
beforeEach(async () => {
  t = await openTestRedis();
});
afterEach(async () => {
  await t.close();
});

it('asks again under the same id when no decision was recorded (triage died first): one job waits, not two', async () => {
  const incidentId = await openIncident(t, { alertname: 'ServiceDown', service: 'api' });
  const queue = createQueue<ActionJob>(QUEUE.agentActions, t.redis, t.keys.bullPrefix);
  const eventsConnection = t.redis.duplicate();
  const events = createQueueEvents(QUEUE.agentActions, eventsConnection, t.keys.bullPrefix);
  await events.waitUntilReady();
  const store = new IncidentStore(t.redis, t.keys);
  // No executor is running: every request times out without a decision.
  const client = new ActionClient(queue, events, 200, store);
  const restart = { incidentId, tool: 'restart_service', args: { service: 'api' } };
  try {
    const first = await client.request(restart);
    expect(first.decision).toBe('unknown_outcome');
    const again = await client.request(restart);
    expect(again.actionId).toBe(first.actionId);
    expect(await queue.getJobCountByTypes('waiting', 'prioritized')).toBe(1);

    // Other arguments are another action.
    const other = await client.request({ ...restart, args: { service: 'web' } });
    expect(other.actionId).not.toBe(first.actionId);

    // Once the executor has decided the first, asking again is a new request with a new id.
    await store.recordAction(incidentId, {
      id: first.actionId,
      tool: 'restart_service',
      args: { service: 'api' },
      requestedBy: 'agent',
      decision: 'executed',
      at: new Date().toISOString(),
    });
    const later = await client.request(restart);
    expect(later.actionId).not.toBe(first.actionId);
    expect(await queue.getJobCountByTypes('waiting', 'prioritized')).toBe(3);
  } finally {
    await events.close();
    await queue.close();
    eventsConnection.disconnect();
  }
});

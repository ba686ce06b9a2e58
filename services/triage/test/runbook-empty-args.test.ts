import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { openIncident } from '../../../test/support/incidents.js';
import { eventually } from '../../../test/support/redis.js';
import { startTestTriage, toolCalls, waitForStatus } from './harness.js';

// The shipped runbooks, against alerts without an instance label (so `{{host}}` renders empty).
let h: ExecutorHarness;
let triage: { close(): Promise<void> };

beforeAll(async () => {
  h = await startExecutorHarness();
  triage = await startTestTriage(h.t, { PLANNER: 'runbook' });
});
afterAll(async () => {
  await triage?.close();
  await h?.close();
});

it('skips a step whose required argument renders empty, and the timeline says why', async () => {
  const id = await openIncident(h.t, { alertname: 'OddThing', service: 'checkout', instance: '' });
  await waitForStatus(h.t, id, ['awaiting_approval']);
  // The status changes when the executor files the question; the runbook's summary comes after.
  const incident = await eventually(async () => {
    const current = await h.incidents.get(id);
    return current?.timeline.some((entry) => entry.outcome === 'awaiting_approval') ? current : null;
  }, 'the runbook summary');
  const calls = toolCalls(incident);
  expect(calls.map((call) => call.tool)).toEqual(['get_service_logs', 'request_human_confirmation']);
  expect(calls.map((call) => call.output).join('\n')).not.toContain('invalid arguments');
  expect(incident.timeline).toContainEqual(
    expect.objectContaining({
      type: 'summary',
      tool: 'check_system_resources',
      message:
        'skipped check_system_resources: it needs a host and the incident names none (no instance label)',
    }),
  );
});

it('leaves out an optional argument that renders empty instead of sending it empty', async () => {
  const id = await openIncident(h.t, { alertname: 'QueueBacklog', service: 'orders', instance: '' });
  const incident = await waitForStatus(h.t, id, ['escalated', 'resolved']);
  const restart = toolCalls(incident).find((call) => call.tool === 'restart_consumers');
  expect(restart?.args).toEqual({
    service: 'orders',
    reason: 'runbook QueueBacklog: QueueBacklog on orders',
  });
  expect(restart?.output).not.toContain('invalid arguments');
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IncidentStore } from '../../shared/incidents.js';
import type { Incident } from '../../shared/schemas/incident.js';
import { call, calls, type FakeOpenAI, startFakeOpenAI, text } from '../support/fake-openai.js';
import { eventually, openTestRedis, type TestRedis } from '../support/redis.js';
import { DemoService, type Stack, startStack, tempDir } from './stack.js';

const SERVICE = 'demo-api';
const RULES = [
  {
    name: 'e2e',
    rules: [
      {
        alert: 'ServiceDown',
        expr: `up{job="${SERVICE}"} == 0`,
        labels: { severity: 'critical', service: SERVICE },
        annotations: { summary: `${SERVICE} is down`, runbook_url: 'https://runbooks.example/service-down' },
      },
    ],
  },
];

let t: TestRedis;
let dir: ReturnType<typeof tempDir>;
let demo: DemoService;
let stack: Stack | undefined;
let model: FakeOpenAI | undefined;

beforeEach(async () => {
  t = await openTestRedis();
  dir = tempDir();
  demo = await DemoService.create(SERVICE, dir.path);
  await demo.start();
});
afterEach(async () => {
  await stack?.stop();
  await model?.close();
  demo.stop();
  dir.remove();
  await t.close();
  stack = undefined;
  model = undefined;
});

async function prometheusSees(up: 0 | 1): Promise<boolean> {
  const res = await fetch(`${stack?.monitoring.prometheusUrl}/api/v1/query?query=up{job="${SERVICE}"}`);
  const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
  return body.data.result[0]?.value[1] === String(up);
}

/** Crash the service and follow the incident until it is resolved; returns it with timings. */
async function crashAndFollow(): Promise<{
  incident: Incident;
  toFixMs: number;
  toResolvedMs: number;
  toAlertMs: number;
}> {
  if (!stack) throw new Error('no stack');
  const store = new IncidentStore(t.redis, t.keys);
  await eventually(() => prometheusSees(1), 'Prometheus to scrape the demo service', 30_000);
  const oldPid = demo.pid();
  const crashedAt = Date.now();
  demo.crash();

  const opened = await eventually(
    async () => (await store.list({ limit: 5 })).incidents[0],
    'the incident',
    60_000,
  );
  const toAlertMs = Date.parse(opened.createdAt) - crashedAt;
  const fixed = await eventually(
    async () =>
      (await store.get(opened.id))?.actions.find(
        (a) => a.tool === 'restart_service' && a.decision === 'executed',
      ),
    'the executor to restart the service',
    60_000,
  );
  const toFixMs = Date.parse(fixed.at) - crashedAt;
  await eventually(
    async () => demo.pid() !== oldPid && (await prometheusSees(1)),
    'the service to be back',
    30_000,
  );
  const resolved = await eventually(
    async () => {
      const incident = await store.get(opened.id);
      return incident?.status === 'resolved' && incident.firingCount === 0 ? incident : null;
    },
    'the alert to resolve',
    90_000,
  );
  const toResolvedMs = Date.parse(resolved.updatedAt) - crashedAt;
  return { incident: resolved, toAlertMs, toFixMs, toResolvedMs };
}

async function assertDelivered(s: Stack, incidentId: string) {
  // The resolve is delivered asynchronously after the incident resolves.
  await eventually(async () => s.pagerduty.alerts.get(incidentId) === 'resolved', 'PagerDuty to be resolved');
  const pages = s.pagerduty.accepted().filter((r) => r.body.dedup_key === incidentId);
  const actions = pages.map((r) => r.body.event_action);
  expect(actions[0]).toBe('trigger');
  expect(actions.at(-1)).toBe('resolve');
  expect(s.pagerduty.alerts.get(incidentId)).toBe('resolved');
  expect(s.slack.posted().length).toBeGreaterThanOrEqual(2);
}

describe('end to end: real Prometheus and Alertmanager, a real failing process', () => {
  it('runbook planner: crash → alert → logs read → restart → verified → alert resolved → incident resolved', async () => {
    stack = await startStack(t, {
      demo,
      dir: dir.path,
      ruleGroups: RULES,
      triageEnv: { PLANNER: 'runbook' },
    });
    const { incident, toAlertMs, toFixMs, toResolvedMs } = await crashAndFollow();
    console.log(
      `[e2e runbook] crash→incident ${toAlertMs} ms, crash→restart ${toFixMs} ms, crash→resolved ${toResolvedMs} ms`,
    );

    expect(incident).toMatchObject({
      level: 1,
      alertname: 'ServiceDown',
      service: SERVICE,
      status: 'resolved',
    });
    const tools = incident.timeline.filter((e) => e.type === 'tool_call').map((e) => e.tool);
    expect(tools).toEqual(expect.arrayContaining(['get_service_logs', 'restart_service']));
    expect(tools.indexOf('get_service_logs')).toBeLessThan(tools.indexOf('restart_service'));
    const restart = incident.actions.find((a) => a.tool === 'restart_service');
    expect(restart).toMatchObject({ decision: 'executed', args: { service: SERVICE, host: '127.0.0.1' } });
    expect(incident.timeline.some((e) => e.type === 'alert' && e.status === 'resolved')).toBe(true);
    await assertDelivered(stack, incident.id);
  });

  it('LLM planner on the fake model: the same crash is diagnosed and fixed through the executor', async () => {
    model = await startFakeOpenAI(async (request, turn) => {
      if (turn === 0) return call('get_service_logs', { service: SERVICE, lines: 50, level: 'all' });
      if (turn === 1)
        return calls([
          'restart_service',
          { service: SERVICE, host: '127.0.0.1', reason: 'process exited; restart it' },
        ]);
      return text(`Restarted ${SERVICE} after it crashed. ${request.messages.length} messages.`);
    });
    stack = await startStack(t, {
      demo,
      dir: dir.path,
      ruleGroups: RULES,
      triageEnv: { PLANNER: 'llm', HERMES_BASE_URL: model.url, HERMES_MODEL: 'fake-hermes' },
    });
    const { incident, toFixMs, toResolvedMs } = await crashAndFollow();
    console.log(`[e2e llm] crash→restart ${toFixMs} ms, crash→resolved ${toResolvedMs} ms`);
    expect(model.requests.length).toBeGreaterThanOrEqual(2);
    expect(incident.actions.find((a) => a.tool === 'restart_service')?.decision).toBe('executed');
    expect(incident.timeline.some((e) => e.type === 'tool_call' && e.tool === 'get_service_logs')).toBe(true);
    await assertDelivered(stack, incident.id);
  });
});

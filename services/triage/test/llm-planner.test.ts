import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IncidentStore } from '../../../shared/incidents.js';
import { createMetrics, type Metrics } from '../../../shared/metrics.js';
import {
  byAlert,
  call,
  calls,
  delayed,
  type FakeOpenAI,
  hermesText,
  httpError,
  script,
  startFakeOpenAI,
  text,
} from '../../../test/support/fake-openai.js';
import { type FakePrometheus, startFakePrometheus } from '../../../test/support/fake-prometheus.js';
import { openIncident } from '../../../test/support/incidents.js';
import { eventually, openTestRedis, type TestRedis } from '../../../test/support/redis.js';
import {
  calledTools,
  logDir,
  notificationsFor,
  startTestTriage,
  toolCalls,
  waitForStatus,
  writeFile,
} from './harness.js';

/** Read-only runbooks, so these tests need no executor. */
const READ_ONLY_RUNBOOKS = `runbooks: {}
default:
  steps:
    - tool: check_system_resources
      args: { host: '{{host}}', check_types: [disk] }
    - tool: get_service_logs
      args: { service: '{{service}}', level: error }
`;

let t: TestRedis;
let model: FakeOpenAI;
let prometheus: FakePrometheus;
let closers: (() => Promise<void>)[];

beforeEach(async () => {
  t = await openTestRedis();
  model = await startFakeOpenAI(script([text('Done.')]));
  prometheus = await startFakePrometheus((query) =>
    query.includes('node_filesystem')
      ? [{ metric: { instance: 'app-server-01:9100', mountpoint: '/' }, value: 89 }]
      : [],
  );
  closers = [];
});
afterEach(async () => {
  for (const close of closers.reverse()) await close();
  await model.close();
  await prometheus.close();
  await t.close();
});

async function start(env: Record<string, string> = {}, metrics?: Metrics) {
  const triage = await startTestTriage(
    t,
    {
      HERMES_BASE_URL: model.url,
      PROMETHEUS_URL: prometheus.url,
      PLANNER: 'llm',
      LOG_DIR: logDir({
        api: ['INFO started', 'ERROR connection refused to db:5432', 'WARN slow request'],
      }),
      RUNBOOKS_FILE: writeFile('runbooks.yaml', READ_ONLY_RUNBOOKS),
      ...env,
    },
    metrics,
  );
  closers.push(() => triage.close());
  return triage;
}

describe('llm planner', () => {
  it('runs the seed loop: temperature 0.1, tools, alert as marked data; read-only tools recorded on the timeline', async () => {
    model.behaviour = script([
      calls(
        ['check_system_resources', { host: 'app-server-01', check_types: ['disk'] }],
        ['get_service_logs', { service: 'api' }],
      ),
      text('Root cause: disk almost full. No safe fix without a human.'),
    ]);
    await start();
    const id = await openIncident(t, { alertname: 'MysteryAlert', service: 'api' });
    const incident = await waitForStatus(t, id, ['escalated']);

    const first = model.requests[0];
    expect(first?.temperature).toBe(0.1);
    expect(first?.tools?.map((tool) => tool.function.name)).toContain('request_human_confirmation');
    expect(first?.messages[0]?.role).toBe('system');
    expect(String(first?.messages[1]?.content)).toContain('<alert_data>');

    const [resources, logs] = toolCalls(incident);
    expect(resources).toMatchObject({ tool: 'check_system_resources', by: 'triage', ok: true });
    expect(String(resources?.output)).toContain('"percent":89');
    expect(logs).toMatchObject({
      tool: 'get_service_logs',
      args: { service: 'api', lines: 100, level: 'error' },
    });
    expect(String(logs?.output)).toContain('connection refused');
    expect(String(logs?.output)).not.toContain('slow request');
    // The tool results went back to the model with the matching ids.
    const toolMessages = model.requests[1]?.messages.filter((m) => m.role === 'tool') ?? [];
    expect(toolMessages).toHaveLength(2);
    expect(incident.summary).toContain('disk almost full');
    const events = (await notificationsFor(t, id)).map((n) => n.event);
    expect(events).toEqual(expect.arrayContaining(['diagnosis', 'escalated']));
    expect(await t.redis.sismember(t.keys.triageBacklog, id)).toBe(0);
  });

  it('send_notification queues a message on the chosen channel; model requests and tokens are counted', async () => {
    model.behaviour = script([
      call('send_notification', {
        channel: 'slack',
        severity: 'warning',
        message: 'Investigating disk usage',
      }),
      text('Told the team.'),
    ]);
    const metrics = createMetrics('triage-test');
    await start({}, metrics);
    const id = await openIncident(t, { alertname: 'MysteryAlert' });
    await waitForStatus(t, id, ['escalated']);
    const message = (await notificationsFor(t, id)).find((n) => n.event === 'message');
    expect(message).toMatchObject({
      channels: ['slack'],
      severity: 'warning',
      text: 'Investigating disk usage',
    });
    const requests = await metrics.llmRequests.get();
    expect(requests.values.find((v) => v.labels.result === 'ok')?.value).toBe(2);
    const tokens = await metrics.llmTokens.get();
    expect(tokens.values.find((v) => v.labels.kind === 'prompt')?.value).toBeGreaterThan(0);
  });

  it('survives malformed, unknown, invalid and Hermes-text tool calls and hands the errors back', async () => {
    model.behaviour = script([
      hermesText('get_service_logs', { service: 'api', level: 'all' }),
      call('get_metrics', '{"query": "up", '),
      call('launch_missiles', { target: 'prod' }),
      call('check_system_resources', { host: 42 }),
      text('<tool_call>{not json at all}</tool_call>'),
      text('I could not finish; a human should look.'),
    ]);
    await start();
    const id = await openIncident(t, { alertname: 'MysteryAlert', service: 'api' });
    const incident = await waitForStatus(t, id, ['escalated']);

    const entries = toolCalls(incident);
    expect(entries.map((e) => [e.tool, e.ok])).toEqual([
      ['get_service_logs', true],
      ['get_metrics', false],
      ['launch_missiles', false],
      ['check_system_resources', false],
      ['(unparsed)', false],
    ]);
    expect(String(entries[0]?.output)).toContain('slow request');
    // The prose around a Hermes-text call is the model's reasoning: kept on the timeline, block removed.
    const reasoning = incident.timeline.filter((e) => e.type === 'summary' && e.kind === 'reasoning');
    expect(reasoning[0]?.message).toBe('Let me check.');
    const errors = model.requests.slice(2, 6).map((r) => String(r.messages.at(-1)?.content));
    expect(errors[0]).toContain('not valid JSON');
    expect(errors[1]).toContain('unknown tool');
    expect(errors[2]).toContain('invalid arguments for check_system_resources');
    expect(errors[3]).toContain('not valid JSON');
    expect(model.requests).toHaveLength(6);
  });

  it('an answer that is only a diagnosis block still tells the human the root cause', async () => {
    model.behaviour = script([
      text(
        '<diagnosis>{"entity": "db:5432", "category": "dependency-down", "evidence": "connection refused"}</diagnosis>',
      ),
    ]);
    await start();
    const id = await openIncident(t, { alertname: 'MysteryAlert', service: 'api' });
    const incident = await waitForStatus(t, id, ['escalated']);
    expect(incident.summary).toContain('Root cause: db:5432 (dependency-down): connection refused');
  });

  it('cuts off repeated identical calls', async () => {
    model.behaviour = () => call('get_metrics', { query: 'rate(http_requests_total[5m])' });
    await start();
    const id = await openIncident(t, { alertname: 'MysteryAlert' });
    const incident = await waitForStatus(t, id, ['escalated']);
    expect(prometheus.queries.filter((q) => q.startsWith('rate('))).toHaveLength(2);
    expect(toolCalls(incident).filter((e) => e.ok === false)).toHaveLength(3);
    expect(incident.summary).toContain('repeating identical tool calls');
  });

  it('stops at the iteration and token budgets', async () => {
    let n = 0;
    model.behaviour = () => call('get_metrics', { query: `up{n="${n++}"}` });
    await start({ LLM_MAX_ITERATIONS: '3' });
    const id = await openIncident(t, { alertname: 'MysteryAlert' });
    const incident = await waitForStatus(t, id, ['escalated']);
    expect(model.requests).toHaveLength(3);
    expect(incident.summary).toContain('no conclusion after 3 iterations');

    await closers.pop()?.();
    model.requests.length = 0;
    await start({ LLM_TOKEN_BUDGET: '1' });
    const tokens = await openIncident(t, { alertname: 'OtherAlert' });
    const spent = await waitForStatus(t, tokens, ['escalated']);
    expect(model.requests).toHaveLength(1);
    expect(spent.summary).toContain('token budget');
  });

  it('truncates tool output to the budget', async () => {
    const long = Array.from({ length: 200 }, (_, i) => `ERROR line ${i} ${'x'.repeat(80)}`);
    model.behaviour = script([call('get_service_logs', { service: 'big', lines: 500 }), text('done')]);
    await start({ TOOL_OUTPUT_MAX_CHARS: '500', LOG_DIR: logDir({ big: long }) });
    const id = await openIncident(t, { alertname: 'MysteryAlert', service: 'big' });
    const incident = await waitForStatus(t, id, ['escalated']);
    const output = String(toolCalls(incident)[0]?.output);
    expect(output.length).toBeLessThan(600);
    expect(output).toContain('[truncated');
    expect(String(model.requests[1]?.messages.at(-1)?.content)).toBe(output);
  });

  it('falls back to the runbook when the model fails mid-incident, and notes it', async () => {
    model.behaviour = byAlert({
      MysteryAlert: [call('get_metrics', { query: 'up' }), httpError(500)],
    });
    await start();
    const id = await openIncident(t, { alertname: 'MysteryAlert', service: 'api' });
    const incident = await waitForStatus(t, id, ['escalated']);
    expect(calledTools(incident)).toEqual(['get_metrics', 'check_system_resources', 'get_service_logs']);
    const note = incident.timeline.find((e) => e.type === 'error');
    expect(note?.message).toMatch(/model failed mid-incident .*falling back to the runbook/);
  });

  it('treats a model slower than the request timeout as down', async () => {
    model.behaviour = () => delayed(5_000, text('too late'));
    await start({ LLM_REQUEST_TIMEOUT_MS: '200' });
    const id = await openIncident(t, { alertname: 'MysteryAlert', service: 'api' });
    const incident = await waitForStatus(t, id, ['escalated']);
    expect(calledTools(incident)).toEqual(['check_system_resources', 'get_service_logs']);
    expect(incident.timeline.some((e) => e.type === 'error' && /timed out/i.test(e.message ?? ''))).toBe(
      true,
    );
  });

  it('auto mode uses the runbook without calling the model when the endpoint is down', async () => {
    model.down = true;
    await start({ PLANNER: 'auto' });
    const id = await openIncident(t, { alertname: 'MysteryAlert', service: 'api' });
    const incident = await waitForStatus(t, id, ['escalated']);
    expect(model.requests).toHaveLength(0);
    expect(calledTools(incident)).toEqual(['check_system_resources', 'get_service_logs']);
    expect(incident.timeline.some((e) => /not reachable/.test(e.message ?? ''))).toBe(true);
  });

  it('level 3: no planner, read-only context, escalated with a critical notification', async () => {
    model.behaviour = () => call('restart_service', { service: 'db', host: 'db-01', reason: 'why not' });
    await start();
    const id = await openIncident(t, { alertname: 'DatabaseFailover', instance: 'db-01', service: 'api' });
    const incident = await waitForStatus(t, id, ['escalated']);
    expect(incident.level).toBe(3);
    expect(model.requests).toHaveLength(0);
    expect(calledTools(incident)).toEqual(['check_system_resources', 'get_service_logs']);
    const escalated = (await notificationsFor(t, id)).find((n) => n.event === 'escalated');
    expect(escalated?.severity).toBe('critical');
  });

  it('skips incidents that are already resolved', async () => {
    const id = await openIncident(t, { alertname: 'MysteryAlert' });
    const store = new IncidentStore(t.redis, t.keys);
    await store.setStatus(id, 'resolved', 'test');
    await start();
    const other = await openIncident(t, { alertname: 'MysteryAlert', instance: 'other' });
    await waitForStatus(t, other, ['escalated']);
    const incident = await store.get(id);
    expect(incident?.status).toBe('resolved');
    expect(toolCalls(incident as NonNullable<typeof incident>)).toHaveLength(0);
  });
});

describe('worker lifecycle', () => {
  it('close() hands an in-flight investigation back to the queue; the next worker finishes it', async () => {
    model.behaviour = () => delayed(30_000, text('too late'));
    const first = await start({ LLM_REQUEST_TIMEOUT_MS: '60000' });
    const id = await openIncident(t, { alertname: 'MysteryAlert', service: 'api' });
    await eventually(async () => model.requests.length > 0, 'the model to be asked');
    await first.close();
    closers.pop();
    const store = new IncidentStore(t.redis, t.keys);
    expect(await store.getStatus(id)).toBe('diagnosing');

    model.behaviour = script([text('Nothing I can fix safely.')]);
    await start();
    const incident = await waitForStatus(t, id, ['escalated']);
    expect(incident.summary).toContain('Nothing I can fix safely');
    expect(
      incident.timeline.filter((e) => e.type === 'status' && e.status === 'diagnosing').length,
    ).toBeGreaterThan(0);
  });
});

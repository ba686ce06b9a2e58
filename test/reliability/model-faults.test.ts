import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { IncidentStore } from '../../shared/incidents.js';
import { call, delayed, httpError, startFakeOpenAI } from '../support/fake-openai.js';
import { openIncident } from '../support/incidents.js';
import { eventually, openTestRedis } from '../support/redis.js';
import { type Garbage, startGarbageModel } from './garbage-model.js';
import { startLiveServices } from './live-services.js';
import { markerLines, tempDir } from './processes.js';

const REQUEST_TIMEOUT_MS = 500;
/** Every incident must reach an outcome within this, whatever the model does. */
const BOUND_MS = 20_000;
const OUTCOMES = ['resolved', 'escalated', 'awaiting_approval'];

/** `runbook`: the planner falls back and the runbook's restart runs; `escalation`: nothing runs. */
type Fault = {
  name: string;
  endpoint: () => Promise<{ url: string; close(): Promise<void> }>;
  via?: 'runbook' | 'escalation';
};

const fakeModel =
  (answer: Parameters<typeof startFakeOpenAI>[0], down = false) =>
  async () => {
    const fake = await startFakeOpenAI(answer);
    fake.down = down;
    return fake;
  };

const FAULTS: Fault[] = [
  {
    name: 'down (connection refused)',
    endpoint: async () => ({ url: 'http://127.0.0.1:9/v1', close: async () => {} }),
  },
  { name: 'down (503 to everything)', endpoint: fakeModel(() => call('get_metrics'), true) },
  {
    name: `slower than the ${REQUEST_TIMEOUT_MS} ms timeout`,
    endpoint: fakeModel(() => delayed(5_000, call('get_metrics'))),
  },
  { name: 'returning 500s', endpoint: fakeModel(() => httpError(500)) },
  { name: 'returning 429s', endpoint: fakeModel(() => httpError(429, 'rate limited')) },
  // The client must not sleep an hour because the server says so: the budget wins, the runbook takes over.
  {
    name: 'returning 429 with Retry-After: 3600',
    endpoint: fakeModel(() => httpError(429, 'rate limited', { 'retry-after': '3600' })),
  },
  ...(['html', 'truncated-json', 'wrong-shape'] as Garbage[]).map((kind) => ({
    name: `returning garbage (${kind})`,
    endpoint: () => startGarbageModel(kind),
  })),
  // A model that answers but only with unusable calls is not "down": the agent gives up and escalates.
  {
    name: 'returning broken tool calls',
    endpoint: fakeModel(() => call('restart_service', '{"service": "checkout", ')),
    via: 'escalation',
  },
];

const timings: string[] = [];
afterAll(() => {
  console.log(`[reliability] model faults, time to an outcome:\n${timings.join('\n')}`);
});

describe.concurrent('the model endpoint misbehaves: incidents still reach an outcome in bounded time', () => {
  for (const fault of FAULTS) {
    for (const planner of ['llm', 'auto'] as const) {
      it(`${fault.name}, PLANNER=${planner}`, async ({ onTestFinished }) => {
        const t = await openTestRedis();
        const dir = tempDir('model');
        const endpoint = await fault.endpoint();
        const services = await startLiveServices(t, dir, {
          PLANNER: planner,
          HERMES_BASE_URL: endpoint.url,
          HERMES_MODEL: 'fake-hermes',
          LLM_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
          LLM_MAX_RETRIES: '1',
          LLM_PROBE_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
          LLM_WALL_CLOCK_SECONDS: '10',
          VERIFY_WINDOW_SECONDS: '0',
        });
        onTestFinished(async () => {
          await services.close();
          await endpoint.close();
          await t.close();
          rmSync(dir, { recursive: true, force: true });
        });

        const started = Date.now();
        const id = await openIncident(t, { alertname: 'ServiceDown', service: 'checkout' });
        const store = new IncidentStore(t.redis, t.keys);
        const incident = await eventually(
          async () => {
            const found = await store.get(id);
            return found && OUTCOMES.includes(found.status) ? found : undefined;
          },
          `an outcome for ${fault.name}`,
          BOUND_MS,
        );
        timings.push(`  ${fault.name}, ${planner}: ${incident.status} after ${Date.now() - started} ms`);
        const runs = markerLines(services.marker).filter((l) => l.startsWith('start'));
        if (fault.via === 'escalation') {
          expect(incident.actions).toEqual([]);
          expect(runs).toEqual([]);
        } else {
          // The runbook took over and restarted the service, exactly once.
          expect(incident.actions.map((a) => [a.tool, a.decision])).toEqual([
            ['restart_service', 'executed'],
          ]);
          expect(runs).toEqual(['start checkout']);
        }
        // Either way a human is told: the fix was not verified (the alert still fires), or nothing was fixed.
        expect(incident.status).toBe('escalated');
      });
    }
  }
});

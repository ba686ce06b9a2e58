import type { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createQueue, QUEUE } from '../../../shared/queues.js';
import type { ActionJob, IncidentCommand } from '../../../shared/schemas/jobs.js';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import {
  type Behaviour,
  type ChatRequest,
  call,
  type FakeOpenAI,
  script,
  startFakeOpenAI,
  text,
} from '../../../test/support/fake-openai.js';
import { openIncident } from '../../../test/support/incidents.js';
import { eventually } from '../../../test/support/redis.js';
import { startTestTriage } from './harness.js';

/**
 * A human's word stops the agent: a resolve or an acknowledge that lands while triage investigates
 * stops it at its next step, and the executor refuses the agent's change if it already asked.
 */
let h: ExecutorHarness;
let model: FakeOpenAI;
let triage: { close(): Promise<void> };
let agentActions: Queue<ActionJob>;

beforeAll(async () => {
  h = await startExecutorHarness();
  model = await startFakeOpenAI(script([text('Done.')]));
  triage = await startTestTriage(h.t, { HERMES_BASE_URL: model.url, PLANNER: 'llm' });
  agentActions = createQueue<ActionJob>(QUEUE.agentActions, h.t.redis, h.t.keys.bullPrefix);
});
afterAll(async () => {
  await agentActions?.resume();
  await agentActions?.close();
  await triage?.close();
  await model?.close();
  await h?.close();
});

const restart = call('restart_service', { service: 'api', host: 'app-server-01', reason: 'crashed' });

/** A human's command carried out by the real executor, as ingest asks for it. */
async function command(incidentId: string, verb: IncidentCommand, by: string) {
  const job = await h.actions.add('incident_command', { incidentId, command: verb, by });
  await eventually(async () => (await job.getState()) === 'completed', `${verb} carried out`);
}

function incidentOf(request: ChatRequest): string {
  const user = request.messages.find((message) => message.role === 'user');
  const id = /Incident ID: (\S+?)\./.exec(String(user?.content ?? ''))?.[1];
  if (!id) throw new Error('no incident id in the prompt');
  return id;
}

async function restartRequested(incidentId: string) {
  await eventually(
    async () =>
      (await agentActions.getJobs(['waiting', 'paused', 'prioritized'])).some(
        (job) => job.data.incidentId === incidentId && job.data.tool === 'restart_service',
      ),
    'the restart request on the agent-actions queue',
  );
}

async function stoppedEntry(incidentId: string) {
  return eventually(
    async () =>
      (await h.incidents.timeline(incidentId)).find(
        (entry) => entry.by === 'triage' && entry.outcome === 'stopped',
      ),
    "triage's stop on the timeline",
  );
}

/** The model asks for a restart; a human's word lands while the request waits for the executor. */
async function raceTheRestart(verb: IncidentCommand, by: string) {
  model.behaviour = script([restart, text('Restarted api.')]);
  model.requests.length = 0;
  await agentActions.pause();
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
  expect(await h.incidents.getLevel(incidentId)).toBe(1);
  await restartRequested(incidentId);
  await command(incidentId, verb, by);
  await agentActions.resume();
  const action = await eventually(
    async () => (await h.incidents.get(incidentId))?.actions.find((a) => a.tool === 'restart_service'),
    "the executor's decision",
  );
  return { incidentId, action };
}

it('a resolve landing while the restart waits for the executor: blocked, nothing ran, triage stops', async () => {
  const { incidentId, action } = await raceTheRestart('resolve', 'alice');
  expect(action).toMatchObject({
    requestedBy: 'agent',
    decision: 'blocked',
    reason: 'the incident is resolved',
  });
  expect(h.runs()).toEqual([]);
  expect((await stoppedEntry(incidentId))?.message).toBe(
    'stopped investigating: the incident is resolved; no further action is requested',
  );
  // It stopped before asking the model again.
  expect(model.requests).toHaveLength(1);
  expect(await h.incidents.getStatus(incidentId)).toBe('resolved');
});

it('an acknowledge landing while the restart waits: blocked naming the owner, nothing ran, triage stops', async () => {
  const { incidentId, action } = await raceTheRestart('acknowledge', 'alice');
  const owned = await h.incidents.getSummary(incidentId);
  expect(owned).toMatchObject({ status: 'escalated', acknowledgedBy: 'alice' });
  const since = owned?.acknowledgedAt?.slice(11, 16);
  expect(action).toMatchObject({
    decision: 'blocked',
    reason: `the incident is owned by alice since ${since} UTC`,
  });
  expect(h.runs()).toEqual([]);
  await stoppedEntry(incidentId);
  expect(model.requests).toHaveLength(1);
  // Triage does not take the incident back from its owner (no escalation of its own).
  const statuses = (await h.incidents.timeline(incidentId)).filter((entry) => entry.type === 'status');
  expect(statuses.at(-1)).toMatchObject({ by: 'human:alice', status: 'escalated' });
});

it('a resolve during the model call stops triage before the tool call: no action is requested at all', async () => {
  const asked: Behaviour = async (request, turn) => {
    if (turn > 0) return text('Restarted api.');
    await command(incidentOf(request), 'resolve', 'bob');
    return restart;
  };
  model.behaviour = asked;
  model.requests.length = 0;
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api' });
  expect((await stoppedEntry(incidentId))?.message).toBe(
    'stopped investigating: the incident is resolved; no further action is requested',
  );
  const incident = await h.incidents.get(incidentId);
  expect(incident?.actions).toEqual([]);
  expect(incident?.timeline.filter((entry) => entry.type === 'tool_call')).toEqual([]);
  expect(model.requests).toHaveLength(1);
  expect(h.runs()).toEqual([]);
});

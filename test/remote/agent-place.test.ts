import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestTriage, toolCalls, waitForStatus } from '../../services/triage/test/harness.js';
import { startDockerd, type TestDockerd } from '../support/dockerd.js';
import { type ExecutorHarness, startExecutorHarness } from '../support/executor-harness.js';
import { call, type FakeOpenAI, script, startFakeOpenAI, text } from '../support/fake-openai.js';
import { openIncident } from '../support/incidents.js';
import { dockerHostTarget, writeTargetsFile } from '../support/targets.js';

// The agent on a docker target whose alert has no `service` label: it is told the container its
// fixes act on, and a restart_service that leaves host and service out acts on exactly that.

let dockerd: TestDockerd;
let model: FakeOpenAI;
let dir: string;
let h: ExecutorHarness;
let triage: Awaited<ReturnType<typeof startTestTriage>>;

beforeAll(async () => {
  dockerd = await startDockerd();
  model = await startFakeOpenAI(
    script([call('restart_service', { reason: 'the container is down' }), text('Restarted it.')]),
  );
  const targets = writeTargetsFile('agent-place', [dockerHostTarget(dockerd.socketPath)]);
  dir = targets.dir;
  const targetsFile = targets.file;
  h = await startExecutorHarness({ env: { TARGETS_FILE: targetsFile, POLICY_FILE: 'config/policy.yaml' } });
  triage = await startTestTriage(h.t, {
    PLANNER: 'llm',
    HERMES_BASE_URL: model.url,
    TARGETS_FILE: targetsFile,
  });
}, 60_000);

afterAll(async () => {
  await triage?.close();
  await h?.close();
  await model?.close();
  await dockerd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the agent on an incident in one place', () => {
  it('is told the container its fixes act on, and may leave host and service out of restart_service', async () => {
    const id = await dockerd.run('crashy-2', ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait']);
    const before = (await dockerd.docker.getContainer(id).inspect()).State.StartedAt;
    const incidentId = await openIncident(h.t, {
      alertname: 'ServiceDown',
      instance: 'docker-host-1',
      labels: { job: 'cadvisor', container: 'crashy-2' },
    });
    const incident = await waitForStatus(h.t, incidentId, ['resolved', 'escalated', 'failed'], 30_000);

    const prompt = String(model.requests[0]?.messages[1]?.content);
    expect(prompt).toContain('"service": "crashy-2"');
    expect(prompt).toContain('Its fixes act on service "crashy-2" on host "docker-host-1"');
    const restart = toolCalls(incident).find((entry) => entry.tool === 'restart_service');
    expect(restart).toMatchObject({
      args: { service: 'crashy-2', host: 'docker-host-1', reason: 'the container is down' },
      decision: 'executed',
      output: expect.stringContaining('ran: restart container crashy-2 via docker (target docker-host-1)'),
    });
    expect((await dockerd.docker.getContainer(id).inspect()).State.StartedAt).not.toBe(before);
  });
});

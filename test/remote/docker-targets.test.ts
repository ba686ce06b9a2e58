import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, startTestIngest } from '../../services/ingest/test/harness.js';
import { notificationsFor, waitForStatus } from '../../services/triage/test/harness.js';
import { TargetReads } from '../../services/triage/tools/target-reads.js';
import { IncidentStore } from '../../shared/incidents.js';
import { SshPool } from '../../shared/remote/ssh.js';
import type { ScopedPlacement } from '../../shared/targets/drivers/placement.js';
import { locate } from '../../shared/targets/scope.js';
import { loadTargets } from '../../shared/targets/targets.js';
import { startDockerd, type TestDockerd } from '../support/dockerd.js';
import { type ExecutorHarness, startExecutorHarness } from '../support/executor-harness.js';
import { openIncident, webhookBody } from '../support/incidents.js';
import { eventually } from '../support/redis.js';
import { writeShippedPolicy } from '../support/shipped-policy.js';
import { startStillFiringTriage } from '../support/still-firing-triage.js';
import { dockerHostTarget, writeTargetsFile } from '../support/targets.js';

let dockerd: TestDockerd;
let h: ExecutorHarness;
let configDir: string;
let targetsFile: string;

beforeAll(async () => {
  dockerd = await startDockerd();
  ({ dir: configDir, file: targetsFile } = writeTargetsFile('docker-config', [
    dockerHostTarget(dockerd.socketPath),
  ]));
  h = await startExecutorHarness({
    env: { TARGETS_FILE: targetsFile, POLICY_FILE: writeShippedPolicy(configDir) },
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await dockerd?.stop();
  rmSync(configDir, { recursive: true, force: true });
});

/** Stops at once on `docker restart`'s SIGTERM (a bare `sleep` as PID 1 would wait out the grace period). */
const STOPS_ON_TERM = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];

const inspect = async (name: string) => dockerd.docker.getContainer(name).inspect();

/** Triage's read-only view of the incident's one container, as the agent's tools see it. */
async function withContainerReads<T>(
  incidentId: string,
  use: (reads: TargetReads, placement: ScopedPlacement) => Promise<T>,
): Promise<T> {
  const store = new IncidentStore(h.t.redis, h.t.keys);
  const reads = new TargetReads(loadTargets(targetsFile), store, new SshPool(), 10_000);
  try {
    const located = locate(await reads.scope(incidentId), {});
    if (!located.ok) throw new Error(located.reason);
    return await use(reads, located.placement);
  } finally {
    reads.close();
  }
}

describe('a Docker host as a target', () => {
  it('restarts the crash-looping container the alert names; the agent sees its logs and state', async () => {
    await dockerd.run(
      'web-1',
      ['sh', '-c', 'echo "INFO web-1 starting"; echo "ERROR web-1 cannot bind"; sleep 1; exit 3'],
      {
        restart: 'always',
      },
    );
    await dockerd.run('db-1', ['sh', '-c', 'sleep 3600']);
    await eventually(async () => (await inspect('web-1')).RestartCount > 0, 'web-1 to crash-loop', 20_000);
    const incidentId = await openIncident(h.t, {
      alertname: 'ServiceDown',
      instance: 'docker-host-1:9323',
      labels: { container: 'web-1' },
    });

    await withContainerReads(incidentId, async (reads, placement) => {
      const errors = await reads.logs(placement, 'web-1', 10, 'error');
      expect(errors.some((line) => line.includes('ERROR web-1 cannot bind'))).toBe(true);
      expect(errors.some((line) => line.includes('INFO'))).toBe(false);
      const resources = await reads.resources(placement);
      expect(resources).toMatchObject({ container: 'web-1', state: { oomKilled: false } });
      expect((resources.state as { restartCount: number }).restartCount).toBeGreaterThan(0);
    });

    const dbStarted = (await inspect('db-1')).State.StartedAt;
    const before = (await inspect('web-1')).State.StartedAt;
    const outcome = await h.submit({
      incidentId,
      tool: 'restart_service',
      args: { service: 'web-1', host: 'docker-host-1', reason: 'crash loop' },
    });
    expect(outcome.decision).toBe('executed');
    expect(outcome.reason).toBe('ran: restart container web-1 via docker (target docker-host-1)');
    expect((await inspect('web-1')).State.StartedAt).not.toBe(before);
    // Another container on the same engine is not the incident's: refused, untouched.
    const other = await h.submit({
      incidentId,
      tool: 'restart_service',
      args: { service: 'db-1', host: 'docker-host-1', reason: 'injected' },
    });
    expect(other).toMatchObject({ decision: 'blocked', reason: expect.stringMatching(/^out of scope: /) });
    expect((await inspect('db-1')).State.StartedAt).toBe(dbStarted);
  });

  it("keeps the crash loop's evidence from before the restart on the action: restart count, exit, ERROR line", async () => {
    await dockerd.run(
      'loop-1',
      ['sh', '-c', 'echo "INFO loop-1 starting"; echo "ERROR loop-1 cannot reach db:5432"; exit 3'],
      { restart: 'always' },
    );
    await eventually(async () => (await inspect('loop-1')).RestartCount >= 3, 'loop-1 to crash-loop', 20_000);
    const restarts = (await inspect('loop-1')).RestartCount;
    const incidentId = await openIncident(h.t, {
      alertname: 'ServiceDown',
      instance: 'docker-host-1:9323',
      labels: { container: 'loop-1' },
    });

    const outcome = await h.submit({
      incidentId,
      tool: 'restart_service',
      args: { service: 'loop-1', host: 'docker-host-1', reason: 'crash loop' },
    });
    expect(outcome.decision).toBe('executed');
    // The restart resets the count: what proves the loop is what was read before it.
    expect((await inspect('loop-1')).RestartCount).toBeLessThan(restarts);
    expect(outcome.before).toMatchObject({ oomKilled: false, exitCode: 3 });
    expect(outcome.before?.errorLines.at(-1)).toContain('ERROR loop-1 cannot reach db:5432');
    expect(outcome.before?.restartCount).toBeGreaterThanOrEqual(restarts);
    const store = new IncidentStore(h.t.redis, h.t.keys);
    expect((await store.getAction(incidentId, outcome.actionId))?.before).toEqual(outcome.before);
    // Its loop would go on taking CPU from the tests after it.
    await dockerd.docker.getContainer('loop-1').remove({ force: true });
  });

  it('shows an OOM-killed container as such', async () => {
    await dockerd.run('hog-1', ['sh', '-c', 'x=a; while true; do x="$x$x"; done'], {
      memoryBytes: 8 * 1024 * 1024,
    });
    await eventually(async () => (await inspect('hog-1')).State.OOMKilled, 'hog-1 to be OOM-killed', 20_000);
    const incidentId = await openIncident(h.t, {
      alertname: 'ServiceDown',
      instance: 'docker-host-1:9323',
      labels: { container: 'hog-1' },
    });
    await withContainerReads(incidentId, async (reads, placement) =>
      expect(await reads.resources(placement)).toMatchObject({ state: { oomKilled: true, exitCode: 137 } }),
    );
  });
});

describe('one name per container', () => {
  const restart = (incidentId: string, service: string) =>
    h.submit({
      incidentId,
      tool: 'restart_service',
      args: { service, host: 'docker-host-1', reason: 'test' },
    });
  const containerIncident = (container: string) =>
    openIncident(h.t, { alertname: 'ServiceDown', instance: 'docker-host-1:9323', labels: { container } });

  it("counts restarts by name and by any id prefix against the container's one budget, and names it by name", async () => {
    const id = await dockerd.run('db-2', STOPS_ON_TERM);
    const outcomes = [];
    for (const label of ['db-2', id.slice(0, 7), id.slice(0, 8), id.slice(0, 12)])
      outcomes.push(await restart(await containerIncident(label), label));
    expect(outcomes.map((o) => o.decision)).toEqual(['executed', 'executed', 'executed', 'blocked']);
    for (const outcome of outcomes.slice(0, 3))
      expect(outcome.reason).toBe('ran: restart container db-2 via docker (target docker-host-1)');
    expect(outcomes[3]?.reason).toBe(
      'Service db-2@docker-host-1/docker-host-1 restarted 3 times this hour (limit: 3)',
    );
  });

  it("takes an id prefix of the incident's own container as that container, and refuses a prefix of another", async () => {
    const ownId = await dockerd.run('api-3', STOPS_ON_TERM);
    const otherId = await dockerd.run('other-3', STOPS_ON_TERM);
    const otherStarted = (await inspect('other-3')).State.StartedAt;
    const incidentId = await containerIncident('api-3');

    const other = await restart(incidentId, otherId.slice(0, 7));
    expect(other).toMatchObject({ decision: 'blocked', reason: expect.stringMatching(/^out of scope: /) });
    expect(other.reason).toContain('(scope: container api-3 via docker (target docker-host-1))');
    expect((await inspect('other-3')).State.StartedAt).toBe(otherStarted);

    const before = (await inspect('api-3')).State.StartedAt;
    const own = await restart(incidentId, ownId.slice(0, 8));
    expect(own).toMatchObject({
      decision: 'executed',
      reason: 'ran: restart container api-3 via docker (target docker-host-1)',
      result: { container: 'api-3', containerId: ownId },
    });
    expect((await inspect('api-3')).State.StartedAt).not.toBe(before);
  });

  it('refuses a container other than the one its label resolves to, and one its engine does not know', async () => {
    await dockerd.run('api-4', STOPS_ON_TERM);
    const otherId = await dockerd.run('other-4', STOPS_ON_TERM);
    const incidentId = await containerIncident(otherId.slice(0, 7));
    expect(await restart(incidentId, 'api-4')).toMatchObject({
      decision: 'blocked',
      reason: expect.stringContaining('(scope: container other-4 via docker (target docker-host-1))'),
    });
    // A container its engine does not know is refused before anything is sent.
    expect(await restart(await containerIncident('ghost-4'), 'ghost-4')).toMatchObject({
      decision: 'blocked',
      reason: `docker at ${dockerd.socketPath}: no such container "ghost-4"`,
    });
  });
});

describe('one incident per container', () => {
  it('keeps two containers that one cAdvisor instance reports apart: each incident restarts only its own', async () => {
    const names = ['web-5', 'db-5'];
    for (const name of names) await dockerd.run(name, STOPS_ON_TERM);
    // Ingest as shipped: the default CORRELATION_LABELS.
    const ingest = await startTestIngest(h.t, { TARGETS_FILE: targetsFile });
    try {
      const response = await post(
        ingest.url,
        webhookBody(
          names.map((container) => ({
            alertname: 'ContainerDown',
            level: 1 as const,
            instance: 'docker-host-1:8080',
            labels: { job: 'cadvisor', container },
          })),
        ),
      );
      const { incidents } = (await response.json()) as { incidents: string[] };
      expect(new Set(incidents).size).toBe(2);
      const [web, db] = incidents as [string, string];
      const restart = (incidentId: string, service: string) =>
        h.submit({
          incidentId,
          tool: 'restart_service',
          args: { service, host: 'docker-host-1', reason: 'down' },
        });
      const started = async () =>
        Promise.all(names.map(async (name) => (await inspect(name)).State.StartedAt));
      const before = await started();
      expect(await restart(web, 'db-5')).toMatchObject({
        decision: 'blocked',
        reason: expect.stringMatching(/^out of scope: /),
      });
      expect(await restart(db, 'web-5')).toMatchObject({
        decision: 'blocked',
        reason: expect.stringMatching(/^out of scope: /),
      });
      expect(await started()).toEqual(before);
      expect(await restart(web, 'web-5')).toMatchObject({ decision: 'executed' });
      expect(await restart(db, 'db-5')).toMatchObject({ decision: 'executed' });
    } finally {
      await ingest.close();
    }
  });
});

describe('the cause, first', () => {
  it('escalates a restart that did not clear the alert quoting the crash loop from before it, and names a next step', async () => {
    const triage = await startStillFiringTriage(h.t, targetsFile);
    try {
      await dockerd.run(
        'crashy',
        ['sh', '-c', 'echo "INFO crashy starting"; echo "ERROR crashy cannot reach db:5432"; exit 3'],
        { restart: 'always' },
      );
      await eventually(
        async () => (await inspect('crashy')).RestartCount >= 3,
        'crashy to crash-loop',
        20_000,
      );
      const incidentId = await openIncident(h.t, {
        alertname: 'ServiceDown',
        instance: 'docker-host-1',
        service: 'crashy',
        labels: { container: 'crashy' },
      });
      const incident = await waitForStatus(h.t, incidentId, ['escalated'], 30_000);
      const restart = incident.actions.find((action) => action.tool === 'restart_service');
      expect(restart?.decision).toBe('executed');
      expect(restart?.before?.restartCount).toBeGreaterThanOrEqual(3);
      expect(incident.summary).toMatch(
        /^The fix did not clear the alert \(.+\)\. Before restart container crashy via docker \(target docker-host-1\): (restarting, )?exit 3, \d+ restarts; last error: "ERROR crashy cannot reach db:5432"\. Tried: restart container crashy via docker \(target docker-host-1\) — it ran, and the alert still fires: doing it again will not help\. Next: look at what the last error names/,
      );
      const escalation = (await notificationsFor(h.t, incidentId)).find(
        (notice) => notice.event === 'escalated',
      );
      expect(escalation?.text).toContain('last error: "ERROR crashy cannot reach db:5432"');
    } finally {
      await triage.close();
      await dockerd.docker
        .getContainer('crashy')
        .remove({ force: true })
        .catch(() => undefined);
    }
  });
});

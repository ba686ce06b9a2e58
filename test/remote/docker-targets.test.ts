import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type ExecutorHarness, startExecutorHarness } from '../../services/executor/test/harness.js';
import { TargetReads } from '../../services/triage/tools/target-reads.js';
import { IncidentStore } from '../../shared/incidents.js';
import { SshPool } from '../../shared/remote/ssh.js';
import { locate } from '../../shared/targets/scope.js';
import { loadTargets, type Placement } from '../../shared/targets/targets.js';
import { startDockerd, type TestDockerd } from '../support/dockerd.js';
import { openIncident } from '../support/incidents.js';
import { eventually } from '../support/redis.js';

let dockerd: TestDockerd;
let h: ExecutorHarness;
let configDir: string;
let targetsFile: string;

beforeAll(async () => {
  dockerd = await startDockerd();
  configDir = mkdtempSync(join(tmpdir(), 'hermes-docker-config-'));
  targetsFile = join(configDir, 'targets.yaml');
  writeFileSync(
    targetsFile,
    stringify({
      version: 1,
      targets: [
        {
          name: 'docker-host-1',
          match: { container: '.+', instance: 'docker-host-1(:\\d+)?' },
          kind: 'docker',
          docker: { socketPath: dockerd.socketPath },
        },
      ],
    }),
  );
  h = await startExecutorHarness({ env: { TARGETS_FILE: targetsFile, POLICY_FILE: 'config/policy.yaml' } });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await dockerd?.stop();
  rmSync(configDir, { recursive: true, force: true });
});

const inspect = async (name: string) => dockerd.docker.getContainer(name).inspect();

/** Triage's read-only view of the incident's one container, as the agent's tools see it. */
async function withContainerReads<T>(
  incidentId: string,
  use: (reads: TargetReads, placement: Placement) => Promise<T>,
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

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from '../../../shared/env.js';
import { IncidentStore } from '../../../shared/incidents.js';
import type { Metrics } from '../../../shared/metrics.js';
import { createQueue, NOTICE_SOURCES, QUEUE } from '../../../shared/queues.js';
import type { Incident, IncidentStatus, TimelineEntry } from '../../../shared/schemas/incident.js';
import type { NotificationJob } from '../../../shared/schemas/jobs.js';
import { eventually, type TestRedis } from '../../../test/support/redis.js';
import { LOCAL_TARGETS } from '../../../test/support/targets.js';
import { triageEnvSchema } from '../env.js';
import { startTriage } from '../service.js';

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'hermes-triage-'));
}

/** A log directory with `<service>.log` files. */
export function logDir(files: Record<string, string[]>): string {
  const dir = tempDir();
  for (const [service, lines] of Object.entries(files))
    writeFileSync(join(dir, `${service}.log`), `${lines.join('\n')}\n`);
  return dir;
}

export function writeFile(name: string, content: string): string {
  const path = join(tempDir(), name);
  writeFileSync(path, content);
  return path;
}

export async function startTestTriage(t: TestRedis, env: Record<string, string>, metrics?: Metrics) {
  return startTriage(
    parseEnv(triageEnvSchema, {
      REDIS_URL: t.url,
      HERMES_PREFIX: t.prefix,
      LOG_LEVEL: 'silent',
      HERMES_MODEL: 'fake-hermes',
      LLM_MAX_RETRIES: '0',
      VERIFY_WINDOW_SECONDS: '1',
      VERIFY_INTERVAL_MS: '50',
      TARGETS_FILE: LOCAL_TARGETS,
      ...env,
    }),
    { metrics },
  );
}

export async function waitForStatus(
  t: TestRedis,
  id: string,
  statuses: IncidentStatus[],
  timeoutMs = 15_000,
): Promise<Incident> {
  const store = new IncidentStore(t.redis, t.keys);
  return eventually(
    async () => {
      const incident = await store.get(id);
      return incident && statuses.includes(incident.status) ? incident : null;
    },
    `incident ${id} to reach ${statuses.join('|')}`,
    timeoutMs,
  );
}

export function toolCalls(incident: Incident): TimelineEntry[] {
  return incident.timeline.filter((e) => e.type === 'tool_call');
}

export function calledTools(incident: Incident): string[] {
  return toolCalls(incident).map((e) => e.tool ?? '');
}

export async function notificationsFor(t: TestRedis, incidentId: string): Promise<NotificationJob[]> {
  const queues = NOTICE_SOURCES.map((source) =>
    createQueue<NotificationJob>(QUEUE.notifications[source], t.redis, t.keys.bullPrefix),
  );
  try {
    const states = ['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'] as const;
    const jobs = (await Promise.all(queues.map((queue) => queue.getJobs([...states])))).flat();
    return jobs.map((j) => j.data).filter((d) => d.incidentId === incidentId);
  } finally {
    await Promise.all(queues.map((queue) => queue.close()));
  }
}

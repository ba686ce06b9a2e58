import type { Queue } from 'bullmq';
import type { IncidentStore } from '../../shared/incidents.js';
import { triageJobId } from '../../shared/queues.js';
import type { IncidentStatus } from '../../shared/schemas/incident.js';
import { isPending } from './job-states.js';

/**
 * States in which an incident waits for its triage job (or, `verifying`, its next re-check job);
 * anything else ending the job leaves it stuck.
 */
const WAITING: IncidentStatus[] = ['open', 'diagnosing', 'verifying'];
const PAGE = 200;

/**
 * Finds incidents still waiting for triage whose triage job can no longer move them: failed (a
 * stalled job BullMQ gave up on, retries exhausted), completed without a transition, or removed
 * from the queue. Each is handed to `fail` with why, so a human is told. Incidents younger than
 * `graceMs` are left alone (their job may not be written yet).
 */
export async function sweepStuckIncidents(
  store: IncidentStore,
  triage: Queue,
  graceMs: number,
  fail: (incidentId: string, why: Error) => Promise<void>,
  now = Date.now(),
): Promise<number> {
  let failed = 0;
  for (const status of WAITING) {
    const { incidents } = await store.list({ status, limit: PAGE });
    for (const incident of incidents) {
      if (incident.storm || now - Date.parse(incident.updatedAt) < graceMs) continue;
      const state = await triage.getJobState(triageJobId(incident.id));
      if (state !== 'failed' && state !== 'completed' && state !== 'unknown') continue;
      // A fix being verified: the incident waits for its next re-check job, not for this one.
      const verifyJob = await store.getVerifyJob(incident.id);
      if (verifyJob && isPending(await triage.getJobState(verifyJob))) continue;
      // A fix held by a change budget: the executor runs it (or drops it) and tells triage.
      if (
        status === 'diagnosing' &&
        (await store.get(incident.id))?.actions.some((a) => a.decision === 'held')
      )
        continue;
      // An open incident with no job may be waiting in the storm backlog for its turn.
      if (status === 'open' && state === 'unknown') continue;
      const what = state === 'unknown' ? 'was removed from the queue' : `ended ${state}`;
      const why =
        status === 'verifying'
          ? 'the next re-check of its fix is no longer queued while the incident was still verifying'
          : `its triage job ${what} while the incident was still ${status}`;
      await fail(incident.id, new Error(why));
      failed++;
    }
  }
  return failed;
}

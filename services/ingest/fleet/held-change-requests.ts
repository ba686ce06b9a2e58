import type { ExecutorClient } from '../../../shared/executor-client.js';
import type { FleetSummary } from '../../../shared/fleet.js';
import type { IncidentStore } from '../../../shared/incidents.js';
import type { Logger } from '../../../shared/logger.js';
import { type FleetAnswer, requestFleetCancel, requestFleetRelease } from '../executor-requests.js';

/** What came of a human's release or cancel: the executor's answer, or why not (with an HTTP status). */
export type HeldResult<T> =
  | { ok: true; fleetId: string; value: T; said: string }
  | { ok: false; status: 400 | 404 | 409 | 502 | 504; error: string };

type Refused = Extract<HeldResult<never>, { ok: false }>;

/**
 * A human releasing the changes an open fleet incident holds in one region, or cancelling them all
 * (API, console and Slack alike). The executor holds them, so it does it, audits it and says how
 * many; the fleet incident's timeline names who asked.
 */
export class HeldChangeRequests {
  constructor(
    private readonly deps: { incidents: IncidentStore; executor: ExecutorClient; logger: Logger },
  ) {}

  async release(idOrPrefix: string, region: string, by: string): Promise<HeldResult<{ released: number }>> {
    const open = await this.openFleet(idOrPrefix);
    if ('status' in open) return open;
    if (!open.fleet.regions.includes(region))
      return {
        ok: false,
        status: 400,
        error: `fleet incident ${open.id} fires in ${open.fleet.regions.join(', ')}, not in ${region}`,
      };
    const answer = await requestFleetRelease(this.deps.executor, { fleetId: open.id, region, by });
    this.deps.logger.warn({ incidentId: open.id, region, by, done: answer.done }, 'fleet release requested');
    return this.answered(open.id, by, answer, ({ released }) => {
      return `released the changes held in ${region}: ${released} (by ${by})`;
    });
  }

  async cancel(
    idOrPrefix: string,
    by: string,
    reason: string | undefined,
  ): Promise<HeldResult<{ cancelled: number }>> {
    const open = await this.openFleet(idOrPrefix);
    if ('status' in open) return open;
    const request = { fleetId: open.id, by, ...(reason ? { reason } : {}) };
    const answer = await requestFleetCancel(this.deps.executor, request);
    this.deps.logger.warn({ incidentId: open.id, by, done: answer.done }, 'fleet cancel-held requested');
    return this.answered(open.id, by, answer, ({ cancelled }) => {
      return `cancelled the changes held: ${cancelled} (by ${by})${reason ? `: ${reason}` : ''}`;
    });
  }

  /** The open fleet incident an id (or unique prefix) names, or why there is none. */
  private async openFleet(idOrPrefix: string): Promise<{ id: string; fleet: FleetSummary } | Refused> {
    const match = await this.deps.incidents.resolveId(idOrPrefix);
    if (!match.ok)
      return match.reason === 'not_found'
        ? { ok: false, status: 404, error: 'incident not found' }
        : { ok: false, status: 409, error: `incident id ${idOrPrefix} is ambiguous; give more of it` };
    const incident = await this.deps.incidents.get(match.id);
    if (!incident) return { ok: false, status: 404, error: 'incident not found' };
    if (!incident.fleet) return { ok: false, status: 409, error: `${match.id} is not a fleet incident` };
    if (incident.fleet.status !== 'open')
      return { ok: false, status: 409, error: `fleet incident ${match.id} is closed: it holds no changes` };
    return { id: match.id, fleet: incident.fleet };
  }

  /** The executor's answer, or why none came; a timeout loses nothing: the request stays queued. */
  private async answered<T>(
    fleetId: string,
    by: string,
    answer: FleetAnswer<T>,
    say: (value: T) => string,
  ): Promise<HeldResult<T>> {
    if (!answer.done) {
      this.deps.logger.warn({ incidentId: fleetId, by, error: answer.error }, 'fleet request not answered');
      return answer.timedOut
        ? {
            ok: false,
            status: 504,
            error:
              'the executor did not answer in time; nothing is lost: the request stays queued and is carried out when an executor takes it',
          }
        : { ok: false, status: 502, error: `the executor did not carry it out: ${answer.error}` };
    }
    const said = say(answer.value);
    await this.deps.incidents.appendTimeline(fleetId, { type: 'summary', by, message: said });
    return { ok: true, fleetId, value: answer.value, said };
  }
}

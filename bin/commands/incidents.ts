import { z } from 'zod';
import { describeIncident } from '../../shared/describe-incident.js';
import { verificationProgress } from '../../shared/notices.js';
import type { Incident, IncidentSummary } from '../../shared/schemas/incident.js';
import type { IncidentTargets } from '../../shared/targets/incident-targets.js';
import type { Cli } from '../cli-context.js';
import { describeAction, describeStateBefore, describeStatus, describeTimeline } from '../describe.js';
import { age, type ShortIds, table } from '../table.js';

const COMMAND_DONE = { ack: 'acknowledged', resolve: 'resolved', rerun: 'sent back to triage' } as const;
const COMMAND_PATH = { ack: 'acknowledge', resolve: 'resolve', rerun: 'rerun' } as const;

/** `hermes incidents [--status S] [--limit N]` */
export async function listIncidents({ options, call, output }: Cli): Promise<void> {
  const query = new URLSearchParams();
  if (options.status) query.set('status', options.status);
  if (options.limit) query.set('limit', options.limit);
  const json = (await call('GET', `/api/incidents?${query}`)) as {
    incidents: (IncidentSummary & ShortIds)[];
  };
  const shortIds = new Map(json.incidents.map((i) => [i.id, i.shortId ?? i.id]));
  output(json, () =>
    json.incidents.length === 0
      ? `no incidents${options.status ? ` with status ${options.status}` : ''}`
      : table(
          json.incidents.map((i) => ({
            ...i,
            id: i.shortId ?? i.id,
            status: describeStatus({
              ...i,
              fleetIncident: i.fleetIncident && (shortIds.get(i.fleetIncident) ?? i.fleetIncident),
            }),
            age: age(i.createdAt),
            alerts: i.alertCount,
            storm: i.storm ? 'STORM' : '',
          })),
          ['id', 'level', 'severity', 'status', 'alertname', 'service', 'instance', 'alerts', 'age', 'storm'],
        ),
  );
}

/** `hermes incident <id>` */
export async function showIncident({ arg, call, output }: Cli): Promise<void> {
  const id = z.string().min(1).parse(arg);
  const incident = (await call('GET', `/api/incidents/${encodeURIComponent(id)}`)) as Incident &
    Partial<IncidentTargets>;
  output(incident, () =>
    [
      `${incident.id}  level ${incident.level}  ${incident.status}  ${describeIncident(incident)}`,
      ...(incident.verification ? [describeVerification(incident)] : []),
      `service: ${incident.service || '(none)'}  alerts: ${incident.alertCount} (${incident.firingCount} firing)  created ${incident.createdAt}`,
      ...(incident.acknowledgedBy
        ? [`owner: ${incident.acknowledgedBy} (acknowledged ${incident.acknowledgedAt ?? ''})`]
        : []),
      // A fleet incident has no alerts of its own: its members are where it fires.
      ...(incident.fleet ? [] : [`where: ${describeWhere(incident)}`]),
      ...describeFleet(incident),
      ...(incident.summary ? [`summary: ${incident.summary}`] : []),
      '',
      'timeline:',
      ...describeTimeline(incident.timeline),
      '',
      'actions:',
      ...(incident.actions.length
        ? incident.actions.flatMap((action) => [describeAction(action), ...describeStateBefore(action)])
        : ['(none)']),
    ].join('\n'),
  );
}

/** `hermes ack|resolve|rerun <id> [--comment TEXT]` */
export function incidentCommand(command: keyof typeof COMMAND_PATH) {
  return async ({ arg, options, by, who, call, output }: Cli): Promise<void> => {
    const id = z.string().min(1, `usage: hermes ${command} <incident id> [--comment TEXT]`).parse(arg);
    const json = (await call('POST', `/api/incidents/${encodeURIComponent(id)}/${COMMAND_PATH[command]}`, {
      by,
      comment: options.comment,
    })) as { done: boolean; by?: string; incident?: IncidentSummary };
    output(json, () =>
      json.incident
        ? `${json.incident.id} ${COMMAND_DONE[command]} by ${json.by ?? who}: now ${json.incident.status}`
        : 'requested; no executor has carried it out yet (is one running?)',
    );
  };
}

/** A fleet incident's regions, places and members; a member's fleet incident. */
function describeFleet(incident: Incident): string[] {
  if (incident.fleetIncident) return [`part of fleet incident ${incident.fleetIncident}`];
  const fleet = incident.fleet;
  if (!fleet) return [];
  return [
    `fleet: ${fleet.status}${fleet.closedBy ? ` (closed by ${fleet.closedBy})` : ''}  ${fleet.alertname} on ${fleet.resource} in ${fleet.regions.length} regions (${fleet.regions.join(', ')}), ${fleet.places.length} places`,
    `  places: ${fleet.places.map((place) => `${place.host} (${place.region})`).join(', ')}`,
    `  members: ${fleet.members.join(', ')}`,
  ];
}

function describeWhere(incident: Partial<IncidentTargets>): string {
  const places = (incident.targets ?? []).map((t) => t.description);
  const unplaced = incident.unplaced ?? [];
  if (places.length === 0)
    return `no target, fixes are refused${unplaced.length ? ` (${unplaced.join('; ')})` : ''}`;
  return [...places, ...unplaced.map((reason) => `and no target for some alerts: ${reason}`)].join('; ');
}

/** `verifying: restart_service ran; re-checking every 5 s until 12:05:40 UTC`. */
function describeVerification(incident: Incident): string {
  const verification = incident.verification;
  if (!verification) return '';
  const fixes = verification.actionIds.map((id) => incident.actions.find((a) => a.id === id)?.tool ?? id);
  return `verifying: ${fixes.join(', ')} ran; ${verificationProgress(verification)}`;
}

import type { IncidentStatus } from '../../../../shared/schemas/incident.js';
import { incidentStatusSchema } from '../../../../shared/schemas/incident.js';
import { age } from '../format.js';
import type { IncidentRow } from '../incident-rows.js';
import { UI_BASE } from '../paths.js';

export interface IncidentFilter {
  status?: IncidentStatus | undefined;
  level?: 1 | 2 | 3 | undefined;
  q?: string | undefined;
}

export function filterQuery(filter: IncidentFilter): string {
  const params = new URLSearchParams();
  if (filter.status) params.set('status', filter.status);
  if (filter.level) params.set('level', String(filter.level));
  if (filter.q) params.set('q', filter.q);
  const query = params.toString();
  return query ? `?${query}` : '';
}

export function FilterForm(props: { filter: IncidentFilter }) {
  return (
    <form method="get" action={UI_BASE} class="filters" id="filters">
      <label for="filter-q">Search</label>
      <input
        id="filter-q"
        name="q"
        type="search"
        value={props.filter.q ?? ''}
        placeholder="alert, service, host, id…"
        maxlength={200}
      />
      <label for="filter-status">Status</label>
      <select id="filter-status" name="status">
        <option value="">any</option>
        {incidentStatusSchema.options.map((status) => (
          <option value={status} selected={props.filter.status === status}>
            {status.replace('_', ' ')}
          </option>
        ))}
      </select>
      <label for="filter-level">Level</label>
      <select id="filter-level" name="level">
        <option value="">any</option>
        {[1, 2, 3].map((level) => (
          <option value={String(level)} selected={props.filter.level === level}>
            {String(level)}
          </option>
        ))}
      </select>
      <button type="submit">Filter</button>
    </form>
  );
}

/** Incidents as compact rows: level, status, alert, where, one-line summary, age (three lines on a phone). */
export function IncidentTable(props: {
  rows: IncidentRow[];
  now: number;
  caption: string;
  empty: string;
  footer?: string | undefined;
}) {
  if (props.rows.length === 0) return <p class="muted">{props.empty}</p>;
  return (
    <>
      <table class="incidents">
        <caption class="sr-only">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Level</th>
            <th scope="col">Status</th>
            <th scope="col">Alert</th>
            <th scope="col">Where</th>
            <th scope="col">Summary</th>
            <th scope="col">Age</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map(({ incident, where, whereDetail, summary }) => (
            <tr
              class={incident.storm ? 'storm' : `level-${incident.level}`}
              data-incident={incident.id}
              data-status={incident.status}
            >
              <td class="c-level" data-label="Level">
                <span class={`badge level-${incident.level}`}>L{incident.level}</span>
                {incident.storm && <span class="badge storm">STORM</span>}
                <span class={`badge sev-${incident.severity}`}>{incident.severity}</span>
              </td>
              <td class="c-status" data-label="Status">
                <span class={`badge status-${incident.status}`}>{incident.status.replace('_', ' ')}</span>
                {incident.acknowledgedBy && <span class="owner">ack {incident.acknowledgedBy}</span>}
                {incident.fleetIncident && (
                  <a class="owner" href={`${UI_BASE}/incidents/${incident.fleetIncident}`}>
                    in fleet
                  </a>
                )}
              </td>
              <td class="c-alert" data-label="Alert">
                <a href={`${UI_BASE}/incidents/${incident.id}`}>{incident.alertname || incident.id}</a>
                {incident.alertCount > 1 && <span class="muted"> ×{String(incident.alertCount)}</span>}
              </td>
              <td class="c-where" data-label="Where" title={whereDetail ?? where}>
                {where}
              </td>
              <td class="c-summary" data-label="Summary" title={summary}>
                {summary}
              </td>
              <td class="c-age" data-label="Age">
                <time datetime={incident.createdAt}>{age(incident.createdAt, props.now)}</time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.footer && <p class="muted">{props.footer}</p>}
    </>
  );
}

/** The full list, newest first, under the filter. */
export function AllIncidents(props: { rows: IncidentRow[]; now: number; truncated: boolean }) {
  return (
    <IncidentTable
      rows={props.rows}
      now={props.now}
      caption="Incidents, newest first"
      empty="No incidents match."
      footer={
        props.truncated
          ? 'Showing the newest incidents only; narrow the filter to see older ones.'
          : undefined
      }
    />
  );
}

/** What waits for a human, most urgent first. */
export function NeedsAHuman(props: { rows: IncidentRow[]; more: number; now: number }) {
  return (
    <IncidentTable
      rows={props.rows}
      now={props.now}
      caption="Incidents waiting for a human, most urgent first"
      empty="Nothing needs a human right now."
      footer={props.more > 0 ? `${props.more} more below, in the full list.` : undefined}
    />
  );
}

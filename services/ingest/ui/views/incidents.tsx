import type { IncidentStatus, IncidentSummary } from '../../../../shared/schemas/incident.js';
import { incidentStatusSchema } from '../../../../shared/schemas/incident.js';
import { age } from '../format.js';
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

export function IncidentTable(props: { incidents: IncidentSummary[]; now: number; truncated: boolean }) {
  if (props.incidents.length === 0) return <p class="muted">No incidents match.</p>;
  return (
    <>
      <table class="incidents">
        <caption class="sr-only">Incidents, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Level</th>
            <th scope="col">Severity</th>
            <th scope="col">Status</th>
            <th scope="col">Alert</th>
            <th scope="col">Service</th>
            <th scope="col">Instance</th>
            <th scope="col">Age</th>
            <th scope="col">Alerts</th>
          </tr>
        </thead>
        <tbody>
          {props.incidents.map((incident) => (
            <tr class={incident.storm ? 'storm' : `level-${incident.level}`} data-incident={incident.id}>
              <td data-label="Level">
                <span class={`badge level-${incident.level}`}>L{incident.level}</span>
                {incident.storm && <span class="badge storm">STORM</span>}
              </td>
              <td data-label="Severity">
                <span class={`badge sev-${incident.severity}`}>{incident.severity}</span>
              </td>
              <td data-label="Status">
                <span class={`badge status-${incident.status}`}>{incident.status.replace('_', ' ')}</span>
                {incident.acknowledgedBy && <span class="owner">ack {incident.acknowledgedBy}</span>}
              </td>
              <td data-label="Alert">
                <a href={`${UI_BASE}/incidents/${incident.id}`}>{incident.alertname || incident.id}</a>
              </td>
              <td data-label="Service">{incident.service || '—'}</td>
              <td data-label="Instance">{incident.instance || '—'}</td>
              <td data-label="Age">
                <time datetime={incident.createdAt}>{age(incident.createdAt, props.now)}</time>
              </td>
              <td data-label="Alerts">{String(incident.alertCount)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.truncated && (
        <p class="muted">Showing the newest incidents only; narrow the filter to see older ones.</p>
      )}
    </>
  );
}

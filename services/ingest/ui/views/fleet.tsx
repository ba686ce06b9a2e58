import type { FleetSummary } from '../../../../shared/fleet.js';
import type { Incident, IncidentStatus } from '../../../../shared/schemas/incident.js';
import { UI_BASE } from '../paths.js';

/** A fleet incident's member, with its status as it is now (null: no longer readable). */
export interface FleetMember {
  id: string;
  status: IncidentStatus | null;
  /** Its alert's instance: where it fires. */
  instance: string;
}

/**
 * A fleet incident (one cause behind many alerts): where it fires, its member incidents, and a
 * Release button per region plus Cancel held while it is open (the same audited API as
 * `hermes release` / `hermes cancel-held`). A member shows the fleet incident it is part of.
 */
export function FleetFacts(props: { incident: Incident; members: FleetMember[] }) {
  const { incident } = props;
  if (incident.fleetIncident)
    return (
      <p class="fleet-member">
        Part of fleet incident{' '}
        <a href={`${UI_BASE}/incidents/${encodeURIComponent(incident.fleetIncident)}`}>
          {incident.fleetIncident}
        </a>
        : its one page speaks for this incident, and every automated change to{' '}
        {incident.service || 'its resource'} is held while it is open.
      </p>
    );
  const fleet = incident.fleet;
  if (!fleet) return null;
  return (
    <div class="fleet">
      <p>
        <strong>Fleet incident</strong> ({fleet.status}
        {fleet.closedBy ? `, closed by ${fleet.closedBy}` : ''}): {fleet.alertname} on {fleet.resource} in{' '}
        {String(fleet.regions.length)} region(s), {String(fleet.places.length)} place(s).
        {fleet.status === 'open' &&
          ' Every automated change to it is held until you release a region or cancel.'}
      </p>
      {fleet.status === 'open' && <FleetButtons id={incident.id} fleet={fleet} />}
      <table class="fleet-places">
        <thead>
          <tr>
            <th>Region</th>
            <th>Host</th>
            <th>Target</th>
          </tr>
        </thead>
        <tbody>
          {fleet.places.map((place) => (
            <tr>
              <td>{place.region}</td>
              <td>{place.host}</td>
              <td>{place.target}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <ul class="fleet-members">
        {props.members.map((member) => (
          <li>
            <a href={`${UI_BASE}/incidents/${encodeURIComponent(member.id)}`}>{member.id}</a>{' '}
            {member.instance && <span class="muted">{member.instance}</span>}{' '}
            <span class={`badge status-${member.status ?? 'unknown'}`}>{member.status ?? 'unknown'}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function FleetButtons(props: { id: string; fleet: FleetSummary }) {
  const api = `/api/incidents/${encodeURIComponent(props.id)}`;
  return (
    <div class="buttons fleet-buttons">
      {props.fleet.regions.map((region) => (
        <button
          type="button"
          class="approve"
          data-post={`${api}/release`}
          data-region={region}
          data-confirm={`Let the changes held in ${region} run?`}
          data-done={`Released ${region}`}
        >
          Release {region}
        </button>
      ))}
      <button
        type="button"
        class="deny"
        data-post={`${api}/cancel-held`}
        data-confirm="Cancel every change this fleet incident holds? They will never run."
        data-done="Held changes cancelled"
      >
        Cancel held
      </button>
    </div>
  );
}

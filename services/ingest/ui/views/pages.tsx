import type { AuditVerification } from '../../../../shared/audit-chain.js';
import type { PolicyProposals } from '../../../../shared/policy-proposals.js';
import type { Approval } from '../../../../shared/schemas/approval.js';
import type { Activity } from '../activity.js';
import type { AutomationStatus } from '../automation-status.js';
import type { IncidentRow } from '../incident-rows.js';
import { UI_BASE } from '../paths.js';
import { ActivityChart } from './activity.js';
import { ApprovalList } from './approvals.js';
import { AuditFact, AutomationBar } from './automation.js';
import { IncidentDetail, type IncidentDetailProps } from './incident.js';
import { AllIncidents, FilterForm, filterQuery, type IncidentFilter, NeedsAHuman } from './incidents.js';
import { Layout, Live, type PageUser } from './layout.js';
import { PolicyProposalList } from './policy-proposals.js';

/** How often each live region is re-fetched; each fetch is a 304 unless its HTML changed. */
export const REFRESH_MS = {
  incidents: 2_000,
  needsAHuman: 2_000,
  approvals: 2_000,
  automation: 2_000,
  audit: 15_000,
  incident: 2_000,
  activity: 10_000,
};

/**
 * What needs a human comes first (escalated, failed, awaiting approval), under a one-line bar of the
 * automation state; then the pending approvals, the full list and the day's activity.
 */
export function OverviewPage(props: {
  user: PageUser;
  filter: IncidentFilter;
  status: AutomationStatus;
  audit: AuditVerification;
  approvals: Approval[];
  needsAHuman: { rows: IncidentRow[]; more: number };
  incidents: IncidentRow[];
  truncated: boolean;
  activity: Activity;
  proposals: PolicyProposals;
  now: number;
}) {
  const checkedAt = new Date(props.now).toISOString();
  return (
    <Layout title="Incidents" user={props.user}>
      <h1 class="sr-only">On-call overview</h1>
      <section class="bar" aria-label="Automation">
        <Live id="live-automation" src={`${UI_BASE}/live/automation`} intervalMs={REFRESH_MS.automation}>
          <AutomationBar status={props.status} />
        </Live>
        <Live id="live-audit" src={`${UI_BASE}/live/audit`} intervalMs={REFRESH_MS.audit}>
          <AuditFact audit={props.audit} checkedAt={checkedAt} />
        </Live>
      </section>
      <section class="card needs" aria-labelledby="needs-title">
        <h2 id="needs-title">Needs a human</h2>
        <Live
          id="live-needs-a-human"
          src={`${UI_BASE}/live/needs-a-human`}
          intervalMs={REFRESH_MS.needsAHuman}
        >
          <NeedsAHuman rows={props.needsAHuman.rows} more={props.needsAHuman.more} now={props.now} />
        </Live>
      </section>
      <section class="card" aria-labelledby="approvals-title">
        <h2 id="approvals-title">Pending approvals</h2>
        <Live id="live-approvals" src={`${UI_BASE}/live/approvals`} intervalMs={REFRESH_MS.approvals}>
          <ApprovalList
            approvals={props.approvals}
            now={props.now}
            showIncident
            empty="Nothing is waiting for a human."
          />
        </Live>
      </section>
      <section class="card" aria-labelledby="incidents-title">
        <h2 id="incidents-title">All incidents</h2>
        <FilterForm filter={props.filter} />
        <Live
          id="live-incidents"
          src={`${UI_BASE}/live/incidents${filterQuery(props.filter)}`}
          intervalMs={REFRESH_MS.incidents}
        >
          <AllIncidents rows={props.incidents} now={props.now} truncated={props.truncated} />
        </Live>
      </section>
      <section class="card" aria-labelledby="activity-title">
        <h2 id="activity-title">Activity</h2>
        <Live id="live-activity" src={`${UI_BASE}/live/activity`} intervalMs={REFRESH_MS.activity}>
          <ActivityChart activity={props.activity} />
        </Live>
      </section>
      <section class="card" aria-labelledby="proposals-title">
        <h2 id="proposals-title">Policy proposals</h2>
        <PolicyProposalList proposals={props.proposals} />
      </section>
    </Layout>
  );
}

export function IncidentPage(props: IncidentDetailProps & { user: PageUser }) {
  return (
    <Layout title={props.incident.alertname || props.incident.id} user={props.user}>
      <p>
        <a href={UI_BASE}>← All incidents</a>
      </p>
      <Live
        id="live-incident"
        src={`${UI_BASE}/live/incidents/${props.incident.id}`}
        intervalMs={REFRESH_MS.incident}
      >
        <IncidentDetail
          incident={props.incident}
          where={props.where}
          approvals={props.approvals}
          links={props.links}
          history={props.history}
          members={props.members}
          now={props.now}
        />
      </Live>
    </Layout>
  );
}

export function NotFoundPage(props: { user: PageUser; what: string }) {
  return (
    <Layout title="Not found" user={props.user}>
      <h1>Not found</h1>
      <p>{props.what}</p>
      <p>
        <a href={UI_BASE}>All incidents</a>
      </p>
    </Layout>
  );
}

import type { Context, Hono } from 'hono';
import { LearnedRules } from '../../../shared/learned-rules.js';
import { incidentHistory, OutcomeStore } from '../../../shared/outcomes.js';
import { policyProposals } from '../../../shared/policy-proposals.js';
import type { Incident } from '../../../shared/schemas/incident.js';
import { incidentTargets } from '../../../shared/targets/incident-targets.js';
import { validated } from '../validate.js';
import { readActivity } from './activity.js';
import { approvalsFor, filterSchema, listIncidents, needingAHuman } from './console-data.js';
import type { ConsoleEnv, ConsoleReads } from './context.js';
import { alertLinks } from './format.js';
import { UI_BASE } from './paths.js';
import { IncidentPage, NotFoundPage, OverviewPage } from './views/pages.js';

const user = (c: Context<ConsoleEnv>) => ({ name: c.get('session').name, csrf: c.get('session').csrf });

/** Everything the incident page (and its live region) shows besides the incident itself. */
export async function incidentContext(deps: ConsoleReads, incident: Incident) {
  const where = await incidentTargets(deps.incidents, deps.targets.current, incident.id);
  const here = where.targets.map((entry) => ({
    target: entry.target,
    resource: entry.resource ?? entry.host,
  }));
  return {
    incident,
    approvals: await approvalsFor(deps.approvals, incident),
    where,
    history: await incidentHistory(new OutcomeStore(deps.redis, deps.keys), incident.id, here),
    links: alertLinks(incident, deps.env),
    members: await fleetMembers(deps, incident),
    now: Date.now(),
  };
}

/** A fleet incident's members as they are now (a page shows at most the first 200). */
async function fleetMembers(deps: ConsoleReads, incident: Incident) {
  const ids = incident.fleet?.members.slice(0, 200) ?? [];
  return Promise.all(
    ids.map(async (id) => {
      const summary = await deps.incidents.getSummary(id);
      return { id, status: summary?.status ?? null, instance: summary?.instance ?? '' };
    }),
  );
}

/** The console's two pages: the overview at / and one incident at /incidents/:id. */
export function pageRoutes(app: Hono<ConsoleEnv>, deps: ConsoleReads): void {
  const { status } = deps;
  app.get('/', validated('query', filterSchema, 'invalid filter'), async (c) => {
    const filter = c.req.valid('query');
    const [automation, audit, approvals, list, activity, proposals] = await Promise.all([
      status.read(),
      status.verifyAudit(),
      deps.approvals.listPending(),
      listIncidents(deps.incidents, filter),
      readActivity(deps.redis, deps.keys),
      policyProposals({
        outcomes: new OutcomeStore(deps.redis, deps.keys),
        learned: new LearnedRules(deps.redis, deps.keys),
        policyFile: deps.env.POLICY_FILE,
      }),
    ]);
    const needsAHuman = await needingAHuman(deps.incidents, deps.targets.current, approvals);
    return c.html(
      <OverviewPage
        user={user(c)}
        filter={filter}
        status={automation}
        audit={audit}
        approvals={approvals}
        needsAHuman={needsAHuman}
        incidents={list.rows}
        truncated={list.truncated}
        activity={activity}
        proposals={proposals}
        now={Date.now()}
      />,
    );
  });

  app.get('/incidents/:id', async (c) => {
    const incident = await deps.incidents.get(c.req.param('id'));
    if (!incident) {
      // A short id (a unique prefix, as the CLI shows them) leads to its incident.
      const match = await deps.incidents.resolveId(c.req.param('id'));
      if (match.ok) return c.redirect(`${UI_BASE}/incidents/${match.id}`, 303);
      return c.html(<NotFoundPage user={user(c)} what="No incident has this id." />, 404);
    }
    return c.html(<IncidentPage user={user(c)} {...(await incidentContext(deps, incident))} />);
  });
}

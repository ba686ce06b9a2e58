import type { Context, Hono } from 'hono';
import { etag } from 'hono/etag';
import type { JSX } from 'hono/jsx/jsx-runtime';
import { validated } from '../validate.js';
import { readActivity } from './activity.js';
import { filterSchema, listIncidents, needingAHuman } from './console-data.js';
import type { ConsoleEnv, ConsoleReads } from './context.js';
import { incidentContext } from './page-routes.js';
import { ActivityChart } from './views/activity.js';
import { ApprovalList } from './views/approvals.js';
import { AuditFact, AutomationBar } from './views/automation.js';
import { IncidentDetail } from './views/incident.js';
import { AllIncidents, NeedsAHuman } from './views/incidents.js';

/** A live region's HTML; the `etag` middleware answers 304 while it is unchanged (no DOM work). */
async function fragment(c: Context, node: JSX.Element): Promise<Response> {
  c.header('cache-control', 'no-cache');
  return c.html((await node).toString());
}

/** /live/*: the regions the console's script polls. */
export function liveRoutes(app: Hono<ConsoleEnv>, deps: ConsoleReads): void {
  const { status } = deps;
  // Live regions are polled: an unchanged one costs a 304 (weak: the HTML, not its bytes, is what matters).
  app.use('/live/*', etag({ weak: true }));
  app.get('/live/activity', async (c) =>
    fragment(c, <ActivityChart activity={await readActivity(deps.redis, deps.keys)} />),
  );
  app.get('/live/automation', async (c) => fragment(c, <AutomationBar status={await status.read()} />));
  app.get('/live/audit', async (c) =>
    fragment(c, <AuditFact audit={await status.verifyAudit()} checkedAt={new Date().toISOString()} />),
  );
  app.get('/live/approvals', async (c) =>
    fragment(
      c,
      <ApprovalList
        approvals={await deps.approvals.listPending()}
        now={Date.now()}
        showIncident
        empty="Nothing is waiting for a human."
      />,
    ),
  );
  app.get('/live/incidents', validated('query', filterSchema, 'invalid filter'), async (c) => {
    const filter = c.req.valid('query');
    const list = await listIncidents(deps.incidents, filter);
    return fragment(c, <AllIncidents rows={list.rows} now={Date.now()} truncated={list.truncated} />);
  });
  app.get('/live/needs-a-human', async (c) => {
    const { rows, more } = await needingAHuman(
      deps.incidents,
      deps.targets.current,
      await deps.approvals.listPending(),
    );
    return fragment(c, <NeedsAHuman rows={rows} more={more} now={Date.now()} />);
  });
  app.get('/live/incidents/:id', async (c) => {
    const incident = await deps.incidents.get(c.req.param('id'));
    if (!incident) return c.json({ error: 'incident not found' }, 404);
    return fragment(c, <IncidentDetail {...(await incidentContext(deps, incident))} />);
  });
}

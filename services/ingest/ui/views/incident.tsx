import { describeArgs } from '../../../../shared/describe-args.js';
import { stateEvidence, verificationProgress } from '../../../../shared/notices.js';
import type { Outcome } from '../../../../shared/outcomes.js';
import { readable } from '../../../../shared/readable.js';
import type { Approval } from '../../../../shared/schemas/approval.js';
import type {
  ActionRecord,
  Incident,
  StateBefore,
  TimelineEntry,
} from '../../../../shared/schemas/incident.js';
import type { IncidentTargets } from '../../../../shared/targets/incident-targets.js';
import { age, commandRuns, safeHref } from '../format.js';
import { ApprovalList } from './approvals.js';
import { FleetFacts, type FleetMember } from './fleet.js';
import { History } from './history.js';

/** Longer tool outputs and results show their first whole lines, with the rest behind a disclosure. */
const PREVIEW_LINES = 12;
const PREVIEW_CHARS = 1_200;

export interface IncidentDetailProps {
  incident: Incident;
  where: IncidentTargets;
  approvals: Approval[];
  links: { prometheus?: string | undefined; grafana?: string | undefined };
  history: Outcome[];
  /** A fleet incident's members with their statuses (empty for other incidents). */
  members: FleetMember[];
  now: number;
}

export function IncidentDetail(props: IncidentDetailProps) {
  const { incident } = props;
  const { prometheus, grafana } = props.links;
  const runbook = safeHref(incident.annotations.runbook_url ?? incident.annotations.runbook);
  return (
    <>
      <section aria-labelledby="incident-title" class={incident.storm ? 'card storm' : 'card'}>
        <h1 id="incident-title">
          {incident.alertname || incident.id}{' '}
          <span class={`badge level-${incident.level}`}>L{incident.level}</span>{' '}
          <span class={`badge status-${incident.status}`}>{incident.status.replace('_', ' ')}</span>
          {incident.storm && <span class="badge storm">STORM</span>}
        </h1>
        {incident.verification && <Verifying incident={incident} />}
        <IncidentButtons incident={incident} />
        <FleetFacts incident={incident} members={props.members} />
        <dl class="kv">
          <dt>Severity</dt>
          <dd>{incident.severity}</dd>
          <dt>Instance</dt>
          <dd>{incident.instance || '—'}</dd>
          <dt>Service</dt>
          <dd>{incident.service || '—'}</dd>
          <dt>Where</dt>
          <dd class="where">
            {props.where.targets.length === 0 &&
              (incident.fleet ? (
                <span>where its members are (above): a fleet incident has no alerts of its own</span>
              ) : (
                <span>no target: fixes are refused</span>
              ))}
            {props.where.targets.map((t) => (
              <div>{t.description}</div>
            ))}
            {props.where.unplaced.map((reason) => (
              <div class="muted">{reason}</div>
            ))}
          </dd>
          <dt>Owner</dt>
          <dd class="owner-detail">
            {incident.acknowledgedBy ? (
              <>
                {incident.acknowledgedBy}{' '}
                <span class="muted">
                  (acknowledged <time datetime={incident.acknowledgedAt}>{incident.acknowledgedAt}</time>)
                </span>
              </>
            ) : (
              <span class="muted">nobody has acknowledged it</span>
            )}
          </dd>
          <dt>Alerts</dt>
          <dd>
            {String(incident.alertCount)} received, {String(incident.firingCount)} firing
          </dd>
          <dt>Opened</dt>
          <dd>
            <time datetime={incident.createdAt}>{incident.createdAt}</time> (
            {age(incident.createdAt, props.now)} ago)
          </dd>
          {incident.summary && (
            <>
              <dt>Summary</dt>
              <dd>{incident.summary}</dd>
            </>
          )}
          <dt>Links</dt>
          <dd class="links">
            {prometheus ? <a href={prometheus}>Prometheus</a> : <span class="muted">no Prometheus link</span>}
            {grafana ? <a href={grafana}>Grafana</a> : <span class="muted">no Grafana (GRAFANA_URL)</span>}
            {runbook ? <a href={runbook}>Runbook</a> : <span class="muted">no runbook_url annotation</span>}
            <a href="/admin/queues">Bull Board</a>
          </dd>
        </dl>
      </section>
      <section aria-labelledby="approvals-title" class="card">
        <h2 id="approvals-title">Approvals</h2>
        <ApprovalList
          approvals={props.approvals}
          now={props.now}
          showIncident={false}
          empty="No approval was requested for this incident."
        />
      </section>
      <section aria-labelledby="actions-title" class="card">
        <h2 id="actions-title">Actions and the executor's decisions</h2>
        <Actions actions={incident.actions} />
      </section>
      <section aria-labelledby="history-title" class="card">
        <h2 id="history-title">Earlier incidents here</h2>
        <History history={props.history} now={props.now} />
      </section>
      <section aria-labelledby="timeline-title" class="card">
        <h2 id="timeline-title">Timeline</h2>
        <ol class="timeline">
          {incident.timeline.map((entry, index) => (
            <TimelineItem entry={entry} index={index} />
          ))}
        </ol>
      </section>
    </>
  );
}

/** A fix ran and triage is re-checking its alerts: which fix, since when, how often, until when. */
function Verifying(props: { incident: Incident }) {
  const { verification, actions } = props.incident;
  if (!verification) return null;
  const fixes = verification.actionIds.map((id) => actions.find((a) => a.id === id)?.tool ?? id);
  return (
    <p class="verifying">
      <strong>Verifying {fixes.join(', ')}</strong> (since{' '}
      <time datetime={verification.since}>{verification.since.slice(11, 19)} UTC</time>):{' '}
      {verificationProgress(verification)}
    </p>
  );
}

/** What a human can do to the incident itself, through the same audited API as `hermes ack|rerun|resolve`. */
function IncidentButtons(props: { incident: Incident }) {
  const { id, status } = props.incident;
  const closed = status === 'resolved' || status === 'failed';
  const api = `/api/incidents/${id}`;
  return (
    <div class="buttons incident-buttons">
      {!closed && (
        <button
          type="button"
          class="approve"
          data-post={`${api}/acknowledge`}
          data-done="Acknowledged: you own it"
        >
          Acknowledge
        </button>
      )}
      {status !== 'diagnosing' && status !== 'verifying' && status !== 'resolved' && (
        <button
          type="button"
          data-post={`${api}/rerun`}
          data-confirm="Run triage on this incident again? It goes back to open and is investigated anew."
          data-done="Sent back to triage"
        >
          Re-run triage
        </button>
      )}
      {status !== 'resolved' && (
        <button
          type="button"
          data-post={`${api}/resolve`}
          data-confirm="Resolve this incident? Say so only if the problem is gone."
          data-done="Resolved"
        >
          Resolve
        </button>
      )}
    </div>
  );
}

function Actions(props: { actions: ActionRecord[] }) {
  if (props.actions.length === 0) return <p class="muted">No state-changing action was requested.</p>;
  return (
    <ul class="actions">
      {props.actions.map((action) => (
        <li class={`action decision-${action.decision}`} data-action={action.id}>
          <span class={`badge decision-${action.decision}`}>{decisionLabel(action.decision)}</span>{' '}
          <strong class="operation">{action.operation ?? action.tool}</strong>
          <div class="muted">
            <code>
              {action.tool} {describeArgs(action.args)}
            </code>{' '}
            · requested by {action.requestedBy}
            {action.durationMs !== undefined && <> · {String(action.durationMs)} ms</>}
          </div>
          {action.reason && <div class="reason">{action.reason}</div>}
          {action.before && <StateBeforeFix before={action.before} />}
          <ActionResult id={`action-${action.id}`} result={action.result} />
        </li>
      ))}
    </ul>
  );
}

/** What the target showed right before the fix (a restart resets it), shown whole: it is bounded. */
function StateBeforeFix(props: { before: StateBefore }) {
  const { before } = props;
  return (
    <>
      <div class="before">
        <strong>Before the fix:</strong>{' '}
        {stateEvidence(before) ?? `${before.status ?? 'state'}, nothing wrong shown`}
      </div>
      {before.errorLines.length > 0 && <pre class="output before-errors">{before.errorLines.join('\n')}</pre>}
    </>
  );
}

/** What ran and what it answered, as a terminal shows it; other results as they are. */
function ActionResult(props: { id: string; result: unknown }) {
  if (props.result === undefined) return null;
  const wouldRun = (props.result as { wouldRun?: unknown }).wouldRun;
  if (wouldRun !== undefined) {
    const planned = commandRuns(wouldRun);
    return planned ? (
      <div class="run">
        would run <code class="command">$ {planned.map((run) => run.command).join(' && ')}</code>
      </div>
    ) : null;
  }
  const runs = commandRuns(props.result);
  if (!runs) return <Output id={`${props.id}-result`} text={readable(props.result)} />;
  return (
    <>
      {runs.map((run, index) => (
        <div class="run">
          <code class="command">$ {run.command}</code>{' '}
          <span class={run.exit === 'exit 0' ? 'badge ok' : 'badge bad'}>{run.exit}</span>
          {run.stdout && <Output id={`${props.id}-${index}-stdout`} text={run.stdout} />}
          {run.stderr && <Output id={`${props.id}-${index}-stderr`} text={run.stderr} label="stderr" />}
        </div>
      ))}
    </>
  );
}

function decisionLabel(decision: string): string {
  return decision === 'blocked' ? 'BLOCKED' : decision.replace('_', ' ');
}

function Output(props: { id: string; text: string; label?: string }) {
  const lines = props.text.split('\n');
  if (lines.length <= PREVIEW_LINES && props.text.length <= PREVIEW_CHARS)
    return (
      <>
        {props.label && <div class="muted">{props.label}</div>}
        <pre class={props.label ? `output ${props.label}` : 'output'}>{props.text}</pre>
      </>
    );
  return (
    <details id={props.id} class={props.label ? `output ${props.label}` : 'output'}>
      <summary>
        <code>{lines.slice(0, PREVIEW_LINES).join('\n').slice(0, PREVIEW_CHARS)}…</code>{' '}
        <span class="more">
          show all {lines.length > 1 ? `${lines.length} lines` : `${props.text.length} characters`}
        </span>
      </summary>
      <pre>{props.text}</pre>
    </details>
  );
}

function TimelineItem(props: { entry: TimelineEntry; index: number }) {
  const e = props.entry;
  const blocked = e.type === 'action' && e.decision === 'blocked';
  return (
    <li class={`entry type-${e.type}${blocked ? ' blocked' : ''}`}>
      <div class="when">
        <time datetime={e.at}>{e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>
        <span class={`badge type-${e.type}`}>{e.type.replace('_', ' ')}</span>
        {e.by && <span class="muted">by {e.by}</span>}
      </div>
      <EntryBody entry={e} index={props.index} blocked={blocked} />
    </li>
  );
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined;
}

function EntryBody(props: { entry: TimelineEntry; index: number; blocked: boolean }) {
  const e = props.entry;
  switch (e.type) {
    case 'alert': {
      const labels = (e.labels ?? {}) as Record<string, string>;
      const annotations = (e.annotations ?? {}) as Record<string, string>;
      const link = safeHref(text(e.generatorURL));
      return (
        <div>
          <strong>{text(e.status) ?? 'alert'}</strong> {labels.alertname} on {labels.instance}
          {annotations.description && <> — {annotations.description}</>}
          {link && (
            <>
              {' '}
              <a href={link}>Prometheus</a>
            </>
          )}
          <div class="muted">fingerprint {text(e.fingerprint)}</div>
        </div>
      );
    }
    case 'tool_call':
      return (
        <div>
          <strong>{e.tool}</strong> <code>{describeArgs(e.args ?? {})}</code>{' '}
          {e.ok === false && <span class="badge bad">failed</span>}
          {text(e.decision) && (
            <span class={`badge decision-${e.decision}`}>{decisionLabel(String(e.decision))}</span>
          )}
          {e.output !== undefined && <Output id={`entry-${props.index}-output`} text={readable(e.output)} />}
        </div>
      );
    case 'action':
      return (
        <div>
          {props.blocked && <strong class="blocked-label">BLOCKED </strong>}
          <strong>{e.tool}</strong> →{' '}
          <span class={`badge decision-${e.decision}`}>{decisionLabel(String(e.decision ?? ''))}</span>
          {text(e.reason) && <> · {String(e.reason)}</>}
        </div>
      );
    case 'approval':
      return (
        <div>
          <strong>{e.tool}</strong> {String(e.decision ?? '')}
          {text(e.decidedBy) && <> by {String(e.decidedBy)}</>}
          {text(e.comment) && <>: {String(e.comment)}</>}
          {e.message && <> — {e.message}</>}
        </div>
      );
    case 'notification':
      return (
        <div>
          {String(e.event ?? 'notification')} via <strong>{String(e.channel ?? '?')}</strong>:{' '}
          <span class={e.result === 'failed' ? 'badge bad' : 'badge ok'}>{String(e.result ?? '?')}</span>
          {text(e.error) && <> · {String(e.error)}</>}
        </div>
      );
    case 'status':
      return (
        <div>
          status → <strong>{String(e.status ?? '')}</strong>
          {e.message && <> · {e.message}</>}
        </div>
      );
    default:
      return (
        <div>
          {text(e.planner) && <span class="muted">[{String(e.planner)}] </span>}
          {text(e.outcome) && <span class="badge">{String(e.outcome).replace('_', ' ')}</span>}
          {e.message && <span class="message">{e.message}</span>}
        </div>
      );
  }
}

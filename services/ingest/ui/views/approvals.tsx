import { describeArgs } from '../../../../shared/describe-args.js';
import type { Approval } from '../../../../shared/schemas/approval.js';
import { remaining } from '../format.js';
import { UI_BASE } from '../paths.js';

/** The agent's question: approving it runs nothing, it means "I take this incident". */
const QUESTION = 'request_human_confirmation';

export function ApprovalCard(props: { approval: Approval; now: number; showIncident: boolean }) {
  const a = props.approval;
  // The executor's exact operation and target ("restart api on web-01 via ssh"), or the question.
  const [what, ...more] = (a.description ?? '').split('\n');
  const question = a.tool === QUESTION;
  return (
    <article class={`approval risk-${a.risk}`} id={`approval-${a.id}`} aria-label={`Approval ${a.tool}`}>
      <h3>
        <span class="operation">
          {question ? `Question: ${what || 'the agent asks a human'}` : what || a.tool}
        </span>{' '}
        <span class={`badge risk-${a.risk}`}>risk {a.risk}</span>{' '}
        <span class={`badge status-${a.status}`}>{a.status}</span>
      </h3>
      <dl class="kv">
        {props.showIncident && (
          <>
            <dt>Incident</dt>
            <dd>
              <a href={`${UI_BASE}/incidents/${a.incidentId}`}>{a.incidentId}</a>
            </dd>
          </>
        )}
        {question && (
          <>
            <dt>Approving</dt>
            <dd>runs nothing: you take the incident (escalated, acknowledged by you)</dd>
          </>
        )}
        {more.length > 0 && (
          <>
            <dt>Asked as</dt>
            <dd>{more.join(' ').replace(/^Requested as: /, '')}</dd>
          </>
        )}
        <dt>Tool</dt>
        <dd>
          <code>
            {a.tool} {describeArgs(a.args)}
          </code>
        </dd>
        <dt>Reason</dt>
        <dd>{a.reason}</dd>
        <dt>Rollback plan</dt>
        <dd>{a.rollbackPlan ?? <span class="muted">none given</span>}</dd>
        {a.status === 'pending' ? (
          <>
            <dt>Expires</dt>
            <dd>
              <time datetime={a.expiresAt}>{a.expiresAt}</time> ({remaining(a.expiresAt, props.now)})
            </dd>
          </>
        ) : (
          <>
            <dt>Decided</dt>
            <dd class="decided">
              {a.status === 'used' ? 'approved' : a.status} by {a.decidedBy ?? 'unknown'}
              {a.decidedAt && (
                <>
                  {' '}
                  at <time datetime={a.decidedAt}>{a.decidedAt}</time>
                </>
              )}
              {a.comment && <>: {a.comment}</>}
              {a.status === 'used' && <> · handed to the executor</>}
            </dd>
          </>
        )}
      </dl>
      {a.status === 'pending' && (
        <div class="buttons">
          <button
            type="button"
            class="approve"
            data-post={`/api/approvals/${a.id}/approve`}
            data-done={question ? 'Incident taken' : `${a.tool} approved`}
          >
            {question ? 'Approve: I take it' : `Approve ${a.tool}`}
          </button>
          <button
            type="button"
            class="danger"
            data-post={`/api/approvals/${a.id}/deny`}
            data-done={`${a.tool} denied`}
          >
            {question ? 'Deny' : `Deny ${a.tool}`}
          </button>
        </div>
      )}
    </article>
  );
}

export function ApprovalList(props: {
  approvals: Approval[];
  now: number;
  showIncident: boolean;
  empty: string;
}) {
  if (props.approvals.length === 0) return <p class="muted">{props.empty}</p>;
  return (
    <div class="approvals">
      {props.approvals.map((approval) => (
        <ApprovalCard approval={approval} now={props.now} showIncident={props.showIncident} />
      ))}
    </div>
  );
}

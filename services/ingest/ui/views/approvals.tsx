import type { Approval } from '../../../../shared/schemas/approval.js';
import { pretty, remaining } from '../format.js';
import { UI_BASE } from '../paths.js';

export function ApprovalCard(props: { approval: Approval; now: number; showIncident: boolean }) {
  const a = props.approval;
  return (
    <article class={`approval risk-${a.risk}`} id={`approval-${a.id}`} aria-label={`Approval ${a.tool}`}>
      <h3>
        {a.tool} <span class={`badge risk-${a.risk}`}>risk {a.risk}</span>{' '}
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
        {a.description && (
          <>
            <dt>Action</dt>
            <dd>{a.description}</dd>
          </>
        )}
        <dt>Arguments</dt>
        <dd>
          <code>{pretty(a.args)}</code>
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
            data-done={`${a.tool} approved`}
          >
            Approve {a.tool}
          </button>
          <button
            type="button"
            class="danger"
            data-post={`/api/approvals/${a.id}/deny`}
            data-done={`${a.tool} denied`}
          >
            Deny {a.tool}
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

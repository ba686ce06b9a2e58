import type { PolicyProposals } from '../../../../shared/policy-proposals.js';
import { UI_BASE } from '../paths.js';

/** Policy changes history supports: the evidence, and the diff a human may apply to the policy file. */
export function PolicyProposalList(props: { proposals: PolicyProposals }) {
  const { proposals, apply, policyFile, unreadable, proposeAfterApprovals } = props.proposals;
  return (
    <>
      <p class="muted">
        A fix humans approved {proposeAfterApprovals} times or more, every time verified fixed, is proposed
        for <code>preapproved:</code> in <code>{policyFile}</code>: {apply}.
      </p>
      {unreadable && (
        <p class="muted">
          The policy file could not be read ({unreadable}): each diff is the snippet to add.
        </p>
      )}
      {proposals.length === 0 ? (
        <p class="muted">No proposals.</p>
      ) : (
        <ul class="policy-proposals">
          {proposals.map((proposal) => (
            <li>
              Preapprove <strong>{proposal.tool}</strong> for {proposal.alertname} on{' '}
              <code>{proposal.resource}</code>: approved {proposal.approvals} times by{' '}
              {proposal.approvers.join(', ')}, all verified fixed, median {proposal.medianSecondsToRecover} s
              (
              {proposal.evidence.map((run, index) => (
                <>
                  {index > 0 && ', '}
                  <a href={`${UI_BASE}/incidents/${encodeURIComponent(run.incidentId)}`}>{run.incidentId}</a>{' '}
                  by {run.approvedBy}, {Math.round(run.seconds)} s
                </>
              ))}
              )<pre class="policy-diff">{proposal.diff}</pre>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

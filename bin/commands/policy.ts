import type { PolicyProposal, PolicyProposals } from '../../shared/policy-proposals.js';
import { type Cli, CliError } from '../cli-context.js';

/** `hermes policy proposals`: policy changes history supports, with their evidence and diff. */
export async function policyCommand({ arg, call, output }: Cli): Promise<void> {
  if (arg !== 'proposals') throw new CliError('usage: hermes policy proposals');
  const json = (await call('GET', '/api/policy/proposals')) as PolicyProposals;
  output(json, () =>
    [
      `policy proposals for ${json.policyFile} (after ${json.proposeAfterApprovals} approvals, all verified fixed): ${json.apply}`,
      ...(json.unreadable
        ? [`the policy file could not be read (${json.unreadable}): each diff is the snippet to add`]
        : []),
      ...(json.proposals.length === 0 ? ['no proposals'] : json.proposals.flatMap(describeProposal)),
    ].join('\n'),
  );
}

function describeProposal(proposal: PolicyProposal): string[] {
  return [
    '',
    `preapprove ${proposal.tool} for ${proposal.alertname} on ${proposal.resource}: approved ${proposal.approvals} times by ${proposal.approvers.join(', ')}, all verified fixed, median ${proposal.medianSecondsToRecover} s`,
    ...proposal.evidence.map(
      (run) =>
        `  ${run.incidentId}  ${run.at.slice(0, 16).replace('T', ' ')} UTC  ${run.target}  approved by ${run.approvedBy}  fixed after ${Math.round(run.seconds)} s`,
    ),
    '',
    proposal.diff.trimEnd(),
  ];
}

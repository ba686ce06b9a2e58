import { describe, expect, it } from 'vitest';
import {
  approvalAnswerHint,
  approvalRequestWording,
  breakerOpenNotice,
  escalatedNotice,
  escalationText,
  fixedSummaryText,
  slackClickReply,
  stateEvidence,
  triageAccountText,
} from '../../shared/notices.js';
import type { IncidentSummary } from '../../shared/schemas/incident.js';

describe('escalation sentences, worded from the facts triage passes', () => {
  it('says why a human must take over', () => {
    expect(escalationText({ kind: 'no_change_allowed', storm: false })).toBe(
      'This is a level-3 incident: no automated change is allowed; a human must take over.',
    );
    expect(escalationText({ kind: 'no_change_allowed', storm: true })).toBe(
      'This is an alert storm: no automated change is allowed; a human must take over.',
    );
    expect(
      escalationText({
        kind: 'outcome_unknown',
        calls: [
          { tool: 'restart_service', reason: undefined },
          { tool: 'scale_service', reason: 'timed out' },
        ],
        summary: 'Restarted.',
      }),
    ).toBe(
      'Hermes cannot tell whether restart_service (no answer); scale_service (timed out) ran. Check the target before acting. Restarted.',
    );
    expect(
      escalationText({
        kind: 'approved_not_run',
        actionId: 'act_1',
        decision: 'blocked',
        reason: 'breaker open',
      }),
    ).toBe('The approved action act_1 did not run (blocked: breaker open).');
    expect(
      escalationText({ kind: 'approved_not_run', actionId: undefined, decision: undefined, reason: '' }),
    ).toBe('The approved action (unknown) did not run (no record).');
    expect(escalationText({ kind: 'dry_run', operations: ['restart a', 'restart b'], summary: 'S.' })).toBe(
      'Dry-run: nothing was changed. With EXECUTION_MODE=live Hermes would have run: restart a; restart b. A human must fix this. S.',
    );
    expect(escalationText({ kind: 'not_cleared', detail: 'still firing', summary: 'Restarted.' })).toBe(
      'The fix did not clear the alert (still firing). Restarted.',
    );
    expect(escalationText({ kind: 'verified_fix_missing' })).toBe(
      'A fix was being verified, but no executed fix is on record.',
    );
  });

  it('carries each failed fix’s cause unless the summary already says it', () => {
    const failed = [
      { tool: 'restart_service', reason: 'exit 1: unit not found' },
      { tool: 'scale_service', reason: 'quota exceeded' },
      { tool: 'clean_logs', reason: undefined },
    ];
    expect(
      escalationText({ kind: 'no_fix', summary: 'Scaling hit quota exceeded.', exhausted: false, failed }),
    ).toBe('No fix was applied. Scaling hit quota exceeded.\nrestart_service failed: exit 1: unit not found');
    expect(escalationText({ kind: 'no_fix', summary: 'Out of steps.', exhausted: true, failed: [] })).toBe(
      'No fix was applied. stopped: Out of steps.',
    );
  });

  it('leads a fix that did not help with the evidence from before it, what was tried and what to look at next', () => {
    const state = {
      at: '2026-12-07T09:00:00Z',
      status: 'restarting',
      restartCount: 10,
      exitCode: 3,
      oomKilled: false,
      errorLines: ['INFO-free ERROR db pool: connection refused', 'ERROR crashy cannot reach db:5432'],
    };
    const restart = 'restart container crashy via docker (target docker-host-1)';
    expect(
      escalationText({
        kind: 'not_cleared',
        detail: 'alert still firing (1 firing)',
        summary: 'Restarted crashy.',
        tried: [{ operation: restart, before: state }],
      }),
    ).toBe(
      'The fix did not clear the alert (alert still firing (1 firing)). ' +
        `Before ${restart}: restarting, exit 3, 10 restarts; last error: "ERROR crashy cannot reach db:5432". ` +
        `Tried: ${restart} — it ran, and the alert still fires: doing it again will not help. ` +
        'Next: look at what the last error names (a dependency, configuration, a file), then at the logs since the fix. ' +
        'Restarted crashy.',
    );
    const oom = { ...state, status: 'CrashLoopBackOff', oomKilled: true, exitCode: 137, errorLines: [] };
    expect(stateEvidence(oom)).toBe('CrashLoopBackOff, OOMKilled, exit 137, 10 restarts');
    expect(
      escalationText({
        kind: 'not_cleared',
        detail: 'd',
        summary: '',
        tried: [{ operation: 'x', before: oom }],
      }),
    ).toMatch(/Next: look at the memory limit and what fills it/);
    const unreadable = {
      ...state,
      restartCount: null,
      exitCode: null,
      errorLines: [],
      unreadable: 'timed out',
    };
    expect(stateEvidence(unreadable)).toBe('its state could not be read (timed out)');
    expect(
      stateEvidence({ ...state, status: 'running', restartCount: 0, exitCode: null, errorLines: [] }),
    ).toBe(null);
    expect(fixedSummaryText('Restarted crashy.', [{ operation: restart, before: state }])).toBe(
      `Before ${restart}: restarting, exit 3, 10 restarts; last error: "ERROR crashy cannot reach db:5432". Restarted crashy.`,
    );
    expect(fixedSummaryText('Restarted.', [{ operation: restart, before: undefined }])).toBe('Restarted.');
  });

  it('pages as critical for level 3, storms and critical alerts, else warns', () => {
    const incident = (level: 1 | 2 | 3, storm: boolean, severity: string) =>
      ({ id: 'inc_1', level, storm, severity, alertname: 'ServiceDown', service: 'api' }) as IncidentSummary;
    const reason = { kind: 'not_cleared', detail: 'still firing', summary: '' } as const;
    expect(escalatedNotice(incident(1, false, 'warning'), reason, 'alert').severity).toBe('warning');
    expect(escalatedNotice(incident(3, false, 'warning'), reason, 'alert').severity).toBe('critical');
    expect(escalatedNotice(incident(1, true, 'warning'), reason, 'alert').severity).toBe('critical');
    expect(escalatedNotice(incident(2, false, 'critical'), reason, 'alert').severity).toBe('critical');
  });

  it('words what triage did before verifying it', () => {
    expect(triageAccountText({ kind: 'resumed', tools: ['restart_service', 'clean_logs'] })).toBe(
      'Resumed after an interrupted attempt that had already run restart_service, clean_logs.',
    );
    expect(triageAccountText({ kind: 'resumed_verifying', tools: ['restart_service'] })).toBe(
      'Resumed verifying restart_service after an interrupted attempt.',
    );
    expect(triageAccountText({ kind: 'approved', tool: 'rollback_deployment', ran: true })).toBe(
      'Approved rollback_deployment ran.',
    );
    expect(triageAccountText({ kind: 'approved', tool: 'rollback_deployment', ran: false })).toBe(
      'Approved rollback_deployment.',
    );
  });
});

describe('approval requests', () => {
  const base = {
    tool: 'restart_service',
    args: { service: 'api', host: 'web-01' },
    operation: undefined,
    requested: undefined,
    givenReason: undefined,
    question: false,
    tier: 'confirm',
    level: 2,
  };

  it('puts the executor’s words for the operation before the requester’s', () => {
    expect(
      approvalRequestWording({ ...base, operation: 'restart api on web-01 via ssh', requested: 'a restart' }),
    ).toEqual({
      description: 'restart api on web-01 via ssh\nRequested as: a restart',
      reason: 'confirm tool on a level-2 incident needs a human approval',
    });
    expect(approvalRequestWording(base).description).toBe(
      'restart_service {"host":"web-01","service":"api"}',
    );
    expect(approvalRequestWording({ ...base, givenReason: 'it is down' }).reason).toBe('it is down');
    expect(approvalRequestWording({ ...base, question: true, requested: 'May I?' })).toEqual({
      description: 'May I?',
      reason: 'the agent asks for a human decision',
    });
  });

  it('tells email readers where to answer, and Slack clickers what happened', () => {
    expect(approvalAnswerHint('apr_1')).toBe(
      'Approval apr_1 is waiting: approve or deny it in Slack or with POST /api/approvals/apr_1/approve (or /deny).',
    );
    expect(slackClickReply({ kind: 'nothing_to_do' })).toBe('Nothing to do for this action.');
    expect(slackClickReply({ kind: 'refused', reason: undefined })).toBe('Could not record that: refused.');
    expect(slackClickReply({ kind: 'refused', reason: 'already decided' })).toBe(
      'Could not record that: already decided.',
    );
    expect(slackClickReply({ kind: 'recorded', decision: 'denied', by: 'slack-bob' })).toBe(
      'Denied by slack-bob.',
    );
  });
});

describe('the breaker page', () => {
  it('says how the breaker opened', () => {
    expect(breakerOpenNotice('inc_1', 'failed:act_1', 5, { kind: 'threshold', failures: 3 })).toMatchObject({
      eventId: 'breaker-5',
      text: '3 failed or ineffective actions in the breaker window (last: failed:act_1). Every state change is refused until the cooldown passes; a human should look now.',
      details: { failures: 3, trigger: 'failed:act_1' },
    });
    expect(breakerOpenNotice('inc_1', 'failed:act_2', 6, { kind: 'probe_failed' }).text).toBe(
      'The probe let through after the cooldown failed (failed:act_2): the breaker opened again. Every state change is refused until the cooldown passes; a human should look now.',
    );
  });
});

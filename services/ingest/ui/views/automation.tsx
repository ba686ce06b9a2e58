import type { AuditVerification } from '../../../../shared/audit-chain.js';
import { CONFIG_SERVICES, describeConfigFiles } from '../../../../shared/config-versions.js';
import type { AutomationStatus } from '../automation-status.js';

/** The automation state in one compact bar: running or paused, dry-run or live, the breaker. */
export function AutomationBar(props: { status: AutomationStatus }) {
  const { paused, mode, breaker } = props.status;
  return (
    <dl class="bar-facts">
      <div class={paused.paused ? 'fact bad' : 'fact ok'}>
        <dt>Automation</dt>
        <dd>
          {paused.paused ? (
            <>
              <strong>Paused</strong> by {paused.by ?? 'unknown'}
              {paused.at && <time datetime={paused.at}> at {paused.at.slice(11, 16)} UTC</time>}{' '}
              <button type="button" data-post="/api/automation/resume" data-done="Automation resumed">
                Resume automation
              </button>
            </>
          ) : (
            <>
              <strong>Running</strong>{' '}
              <button
                type="button"
                class="danger"
                data-post="/api/automation/pause"
                data-confirm="Pause all automation? The executor will refuse every state change until someone resumes it."
                data-done="Automation paused"
              >
                Pause automation
              </button>
            </>
          )}
        </dd>
      </div>
      <div
        class={mode?.mode === 'live' ? 'fact warn' : 'fact'}
        title={mode ? `reported by the executor at start-up, ${mode.at}` : undefined}
      >
        <dt>Mode</dt>
        <dd>
          {mode ? (
            <strong>{mode.mode === 'live' ? 'Live' : 'Dry-run'}</strong>
          ) : (
            <span class="muted">unknown: no executor yet</span>
          )}
        </dd>
      </div>
      <div class={breaker.state === 'closed' ? 'fact ok' : 'fact bad'}>
        <dt>Circuit breaker</dt>
        <dd>
          <strong>{breaker.state.replace('_', '-')}</strong>
          {breaker.state === 'open' && breaker.reopenAt && (
            <span class="muted"> (actions blocked until {breaker.reopenAt})</span>
          )}
          {breaker.state !== 'closed' && (
            <>
              {' '}
              <button
                type="button"
                data-post="/api/automation/breaker/reset"
                data-reason="Why close the circuit breaker? (recorded in the audit trail)"
                data-done="Circuit breaker closed"
              >
                Close the breaker
              </button>
            </>
          )}
        </dd>
      </div>
      <ConfigFact config={props.status.config} />
    </dl>
  );
}

/** Each config file's sha as the services run it (several when they differ); a refused reload shows bad. */
function ConfigFact(props: { config: AutomationStatus['config'] }) {
  const files = new Map<string, { shas: Set<string>; refused: boolean }>();
  for (const service of CONFIG_SERVICES)
    for (const [name, file] of Object.entries(props.config[service] ?? {})) {
      const entry = files.get(name) ?? { shas: new Set(), refused: false };
      entry.shas.add(file.version?.sha256.slice(0, 8) ?? 'not loaded');
      entry.refused ||= file.refused !== undefined;
      files.set(name, entry);
    }
  if (files.size === 0) return null;
  const refused = [...files.values()].some((file) => file.refused);
  return (
    <div class={refused ? 'fact bad' : 'fact'} title={describeConfigFiles(props.config).join('\n')}>
      <dt>Config</dt>
      <dd>
        {[...files].map(([name, file]) => (
          <span>
            {name} <code>{[...file.shas].join(' / ')}</code>
            {file.refused && <strong> newer text refused</strong>}{' '}
          </span>
        ))}
      </dd>
    </div>
  );
}

export function AuditFact(props: { audit: AuditVerification; checkedAt: string }) {
  const { audit } = props;
  return (
    <p class={audit.ok ? 'fact ok' : 'fact bad'} title={`checked ${props.checkedAt}`}>
      <strong>Audit chain {audit.ok ? 'verified' : 'BROKEN'}</strong>: {audit.entries} entries
      {audit.brokenAt && <> intact before {audit.brokenAt}</>}
    </p>
  );
}

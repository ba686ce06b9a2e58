import type { LearnedRule } from '../../../../shared/learned-rules.js';
import { UI_BASE } from '../paths.js';

/** Learned rules in force: what needs a human now, why (the incidents), until when, and a way to clear one. */
export function LearnedRules(props: { rules: LearnedRule[] }) {
  return (
    <div class={props.rules.length ? 'fact warn' : 'fact ok'}>
      <dt>Learned rules</dt>
      <dd>
        {props.rules.length === 0 ? (
          <strong>none in force</strong>
        ) : (
          <ul class="learned-rules">
            {props.rules.map((rule) => (
              <li>
                <strong>{rule.tool}</strong> for {rule.alertname} on <code>{rule.resource}</code> needs a
                human approval until <time datetime={rule.expiresAt}>{rule.expiresAt}</time>; ineffective in{' '}
                {rule.evidence.map((entry, index) => (
                  <>
                    {index > 0 && ', '}
                    <a href={`${UI_BASE}/incidents/${encodeURIComponent(entry.incidentId)}`}>
                      {entry.incidentId}
                    </a>{' '}
                    ({entry.target})
                  </>
                ))}{' '}
                <button
                  type="button"
                  data-post={`/api/automation/learned/${rule.id}/clear`}
                  data-reason="Why may this fix run by itself again? (recorded in the audit trail)"
                  data-done="Learned rule cleared"
                >
                  Clear
                </button>
              </li>
            ))}
          </ul>
        )}
      </dd>
    </div>
  );
}

import { describeHistory } from '../../../../shared/describe-outcomes.js';
import type { Outcome } from '../../../../shared/outcomes.js';
import { UI_BASE } from '../paths.js';

/** The same target and resource's earlier incidents: how often each fix worked, then each verdict. */
export function History(props: { history: Outcome[]; now: number }) {
  if (props.history.length === 0) return <p class="muted">No earlier fixes on this target and resource.</p>;
  return (
    <>
      <ul class="history-summary">
        {describeHistory(props.history, props.now).map((line) => (
          <li>{line}</li>
        ))}
      </ul>
      <ol class="history">
        {props.history.map((outcome) => (
          <li class={`verdict-${outcome.verdict}`}>
            <a href={`${UI_BASE}/incidents/${encodeURIComponent(outcome.incidentId)}`}>
              {outcome.incidentId}
            </a>{' '}
            <time datetime={outcome.at}>{outcome.at.slice(0, 16).replace('T', ' ')} UTC</time>: {outcome.tool}{' '}
            on {outcome.resource} ({outcome.target}) <strong>{outcome.verdict}</strong> after{' '}
            {Math.round(outcome.seconds)} s
          </li>
        ))}
      </ol>
    </>
  );
}

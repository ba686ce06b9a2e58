import { ACTIVITY_HOURS, type Activity } from '../activity.js';

const WIDTH = 480;
const HEIGHT = 110;
const BASE = 92;

/**
 * Incidents opened and action decisions per hour over the last day, as bars: inline SVG with
 * presentation attributes only (the console's CSP allows no inline style), and the numbers in text.
 */
export function ActivityChart(props: { activity: Activity }) {
  const { hours } = props.activity;
  const incidents = hours.reduce((sum, h) => sum + h.incidents, 0);
  const actions = hours.reduce((sum, h) => sum + h.actions, 0);
  const max = Math.max(1, ...hours.map((h) => Math.max(h.incidents, h.actions)));
  const slot = WIDTH / ACTIVITY_HOURS;
  const bar = (value: number) => Math.round((value / max) * (BASE - 8));
  const summary = `${count(incidents, 'incident')} opened and ${count(actions, 'action')} decided in the last ${ACTIVITY_HOURS} hours`;
  return (
    <figure class="activity">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary} class="chart">
        <title>{summary}</title>
        <line
          x1="0"
          y1={String(BASE)}
          x2={String(WIDTH)}
          y2={String(BASE)}
          stroke="#8a8a8a"
          stroke-width="1"
        />
        {hours.map((hour, i) => (
          <g data-hour={new Date(hour.start).toISOString()}>
            <rect
              class="bar-incidents"
              x={String(i * slot + 2)}
              y={String(BASE - bar(hour.incidents))}
              width={String(slot / 2 - 2)}
              height={String(bar(hour.incidents))}
              fill="#a50e0e"
            >
              <title>{`${new Date(hour.start).toISOString().slice(11, 16)} UTC: ${count(hour.incidents, 'incident')}`}</title>
            </rect>
            <rect
              class="bar-actions"
              x={String(i * slot + slot / 2)}
              y={String(BASE - bar(hour.actions))}
              width={String(slot / 2 - 2)}
              height={String(bar(hour.actions))}
              fill="#0b4fa8"
            >
              <title>{`${new Date(hour.start).toISOString().slice(11, 16)} UTC: ${count(hour.actions, 'action')}`}</title>
            </rect>
          </g>
        ))}
        <text x="0" y={String(HEIGHT - 2)} font-size="11" fill="#525252">
          −{ACTIVITY_HOURS}h
        </text>
        <text x={String(WIDTH)} y={String(HEIGHT - 2)} font-size="11" fill="#525252" text-anchor="end">
          now
        </text>
      </svg>
      <figcaption>
        <span class="key key-incidents">■</span> {plural(incidents, 'incident')} opened ·{' '}
        <span class="key key-actions">■</span> {plural(actions, 'action')} decided · last {ACTIVITY_HOURS} h,
        per hour
        {props.activity.partial && <span class="muted"> (busiest hours: older actions not all counted)</span>}
      </figcaption>
    </figure>
  );
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

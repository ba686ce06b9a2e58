import { z } from 'zod';
import { describeHistory, describeOutcome } from '../../shared/describe-outcomes.js';
import type { Outcome } from '../../shared/outcomes.js';
import type { Cli } from '../cli-context.js';

/** `hermes history <incident>`: the same place's earlier incidents and what their fixes came to. */
export async function showHistory({ arg, call, output }: Cli): Promise<void> {
  const id = z.string().min(1, 'usage: hermes history <incident>').parse(arg);
  const incident = (await call('GET', `/api/incidents/${encodeURIComponent(id)}`)) as {
    id: string;
    history?: Outcome[];
  };
  const history = incident.history ?? [];
  output({ id: incident.id, history }, () =>
    history.length === 0
      ? `${incident.id}: no earlier fixes on the same target and resource`
      : [
          `${incident.id}: earlier fixes here`,
          ...describeHistory(history),
          '',
          ...history.map(describeOutcome),
        ].join('\n'),
  );
}

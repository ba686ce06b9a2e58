import {
  type ConfigService,
  describeConfigFiles,
  type PublishedConfig,
} from '../../shared/config-versions.js';
import type { ExecutionMode } from '../../shared/schemas/jobs.js';
import { type Cli, CliError } from '../cli-context.js';

interface AutomationView {
  paused: boolean;
  by?: string;
  at?: string;
  mode: ExecutionMode | null;
  breaker: { state: string; openedAt?: string; reopenAt?: string };
  queues?: Record<string, number>;
  config?: Record<ConfigService, PublishedConfig | null>;
}

/** `hermes pause` */
export async function pause({ by, who, call, output }: Cli): Promise<void> {
  const json = (await call('POST', '/api/automation/pause', { by })) as AutomationView;
  output(json, () => `automation paused by ${json.by ?? who}: the executor refuses every state change`);
}

/** `hermes resume` */
export async function resume({ call, output }: Cli): Promise<void> {
  const json = await call('POST', '/api/automation/resume', {});
  output(json, () => 'automation resumed');
}

/** `hermes status` */
export async function status({ call, output }: Cli): Promise<void> {
  const json = (await call('GET', '/api/automation')) as AutomationView;
  output(json, () => describeAutomation(json));
}

/** `hermes breaker reset --reason TEXT` */
export async function resetBreaker({ arg, options, by, who, call, output }: Cli): Promise<void> {
  if (arg !== 'reset' || !options.reason)
    throw new CliError('usage: hermes breaker reset --reason "why it is safe to act again" [--by NAME]');
  const json = (await call('POST', '/api/automation/breaker/reset', {
    by,
    reason: options.reason,
  })) as AutomationView & { reset: boolean; resetBy?: string };
  output(json, () =>
    json.reset
      ? `circuit breaker closed by ${json.resetBy ?? who}\n${describeAutomation(json)}`
      : 'reset requested; no executor has carried it out yet (is one running?)',
  );
}

function describeAutomation(view: AutomationView): string {
  const breaker = view.breaker;
  return [
    `automation: ${view.paused ? `PAUSED by ${view.by} at ${view.at}` : 'running'}`,
    `mode:       ${view.mode ?? 'unknown (no executor has started)'}`,
    `breaker:    ${breaker.state.replace('_', '-')}${
      breaker.state === 'open' && breaker.reopenAt
        ? ` (state changes refused until ${breaker.reopenAt}; hermes breaker reset --reason … to close it)`
        : ''
    }`,
    ...(view.queues
      ? [
          `queues:     ${Object.entries(view.queues)
            .map(([queue, depth]) => `${queue} ${depth}`)
            .join(', ')} waiting`,
        ]
      : []),
    ...(view.config ? describeConfigFiles(view.config).map((line) => `config:     ${line}`) : []),
  ].join('\n');
}

import type { Current } from '../../../shared/config-reload.js';
import { decisionWithReason } from '../../../shared/readable.js';
import { ineffectiveBefore, type RecentHistory } from '../history.js';
import { DIAGNOSTIC_TOOLS, isToolName } from '../tools/schemas.js';
import type { Toolbox, ToolResult } from '../tools/toolbox.js';
import { type RunbookFile, runbookFor, stepArgs, templateVars } from './runbooks.js';
import { type PlanContext, type Planner, type PlanResult, throwIfAborted } from './types.js';

/**
 * Deterministic per-alert steps from the runbooks file; stops at the first refused change, and before
 * a change that was ineffective on the same place within the history window (a human decides then).
 */
export class RunbookPlanner implements Planner {
  readonly name = 'runbook';

  constructor(
    private readonly runbooks: Current<RunbookFile>,
    private readonly toolbox: Toolbox,
    private readonly history: RecentHistory,
  ) {}

  async plan({ incident, signal, halted }: PlanContext): Promise<PlanResult> {
    const { name, runbook } = runbookFor(this.runbooks.current, incident.alertname);
    const place = await this.toolbox.onlyPlace(incident);
    const vars = templateVars(incident, place?.resource);
    const history = await this.history.of(incident, place);
    const calls: ToolResult[] = [];
    const skipped: string[] = [];
    for (const step of runbook.steps) {
      throwIfAborted(signal);
      const halt = await halted();
      if (halt) return { kind: 'stopped', summary: halt, calls };
      const prepared = stepArgs(step, vars);
      if ('skip' in prepared) {
        await this.toolbox.noteSkipped(incident, step.tool, prepared.skip);
        skipped.push(`skipped ${step.tool}: ${prepared.skip}`);
        continue;
      }
      const changesState = isToolName(step.tool) && !DIAGNOSTIC_TOOLS.has(step.tool);
      const ineffective = changesState ? ineffectiveBefore(history, incident.alertname, step.tool) : [];
      if (ineffective.length > 0) {
        const why = `it was ineffective here in ${ineffective.map((outcome) => outcome.incidentId).join(', ')}; a human should decide`;
        await this.toolbox.noteSkipped(incident, step.tool, why);
        return { kind: 'finished', summary: `runbook ${name}: skipped ${step.tool}: ${why}`, calls };
      }
      const result = await this.toolbox.call(incident, step.tool, prepared.args);
      calls.push(result);
      const decision = result.outcome?.decision;
      if (decision === 'pending_approval') {
        return {
          kind: 'awaiting_approval',
          summary: `runbook ${name}: ${step.tool} awaits human approval`,
          calls,
        };
      }
      if (changesState && !result.ok) {
        return {
          kind: 'finished',
          summary: `runbook ${name}: stopped, ${step.tool} was ${decisionWithReason(decision ?? 'rejected', result.outcome?.reason ?? result.output)}`,
          calls,
        };
      }
    }
    const ran = calls.length ? `ran ${calls.map((call) => call.tool).join(' → ')}` : 'ran nothing';
    return { kind: 'finished', summary: [`runbook ${name}: ${ran}`, ...skipped].join('; '), calls };
  }
}

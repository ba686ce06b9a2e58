import { DIAGNOSTIC_TOOLS, isToolName } from '../tools/schemas.js';
import type { Toolbox, ToolResult } from '../tools/toolbox.js';
import { type RunbookFile, renderArgs, runbookFor, templateVars } from './runbooks.js';
import { type PlanContext, type Planner, type PlanResult, throwIfAborted } from './types.js';

/** Deterministic per-alert steps from the runbooks file; stops at the first refused change. */
export class RunbookPlanner implements Planner {
  readonly name = 'runbook';

  constructor(
    private readonly runbooks: RunbookFile,
    private readonly toolbox: Toolbox,
  ) {}

  async plan({ incident, signal, halted }: PlanContext): Promise<PlanResult> {
    const { name, runbook } = runbookFor(this.runbooks, incident.alertname);
    const vars = templateVars(incident);
    const calls: ToolResult[] = [];
    for (const step of runbook.steps) {
      throwIfAborted(signal);
      const halt = await halted();
      if (halt) return { kind: 'stopped', summary: halt, calls };
      const result = await this.toolbox.call(incident, step.tool, renderArgs(step.args, vars));
      calls.push(result);
      const decision = result.outcome?.decision;
      if (decision === 'pending_approval') {
        return {
          kind: 'awaiting_approval',
          summary: `runbook ${name}: ${step.tool} awaits human approval`,
          calls,
        };
      }
      const changesState = isToolName(step.tool) && !DIAGNOSTIC_TOOLS.has(step.tool);
      if (changesState && !result.ok) {
        return {
          kind: 'finished',
          summary: `runbook ${name}: stopped, ${step.tool} was ${decision ?? 'rejected'}: ${result.outcome?.reason ?? result.output}`,
          calls,
        };
      }
    }
    return {
      kind: 'finished',
      summary: `runbook ${name}: ran ${runbook.steps.map((s) => s.tool).join(' → ')}`,
      calls,
    };
  }
}

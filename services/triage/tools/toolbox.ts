import type { Queue } from 'bullmq';
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import { z } from 'zod';
import type { IncidentStore } from '../../../shared/incidents.js';
import { hostOfInstance } from '../../../shared/names.js';
import { agentMessageNotice } from '../../../shared/notices.js';
import { enqueueNotification } from '../../../shared/notify.js';
import type { IncidentSummary } from '../../../shared/schemas/incident.js';
import type { ActionOutcome, ApprovalRequest } from '../../../shared/schemas/jobs.js';
import { TargetReadError } from '../../../shared/targets/drivers/driver.js';
import type { ScopedPlacement } from '../../../shared/targets/drivers/placement.js';
import { describeScope, type Located, locate } from '../../../shared/targets/scope.js';
import { describePlacement } from '../../../shared/targets/targets.js';
import type { ActionClient } from '../actions.js';
import type { McpToolsets } from './mcp/toolsets.js';
import { instanceMatcher, type PrometheusClient, parseDurationSeconds, summarise } from './prometheus.js';
import {
  DIAGNOSTIC_TOOLS,
  FILLED_FROM_PLACE,
  isToolName,
  TOOL_DEFINITIONS,
  TOOL_NAMES,
  TOOL_SCHEMAS,
  type ToolArgs,
  type ToolName,
} from './schemas.js';
import type { TargetReads } from './target-reads.js';
import { ToolError } from './tool-error.js';

export interface ToolResult {
  tool: string;
  ok: boolean;
  /** What the model sees (already truncated). */
  output: string;
  /** Set for state-changing tools: the executor's decision. */
  outcome?: ActionOutcome;
}

export interface ToolboxDeps {
  store: IncidentStore;
  actions: ActionClient;
  notifications: Queue;
  prometheus?: PrometheusClient | undefined;
  /** The incident's targets: every diagnostic looks only where its alerts are. */
  targets: TargetReads;
  outputMaxChars: number;
  /** External MCP servers' read-only tools (MCP_SERVERS_FILE), run here like the other reads. */
  mcp?: McpToolsets | undefined;
  /** Recorded answers of the read-only tools (the eval's worlds): then no log, metric or target is read. */
  recordedReads?: (tool: ToolName, args: unknown) => string;
}

/** Runs one tool call for an incident: validates, dispatches, records it on the timeline. */
export class Toolbox {
  constructor(private readonly deps: ToolboxDeps) {}

  async call(incident: IncidentSummary, tool: string, rawArgs: unknown, by = 'triage'): Promise<ToolResult> {
    let result: ToolResult;
    let args: unknown = rawArgs;
    if (this.deps.mcp?.has(tool)) {
      const scope = await this.deps.targets.scope(incident.id);
      result = await this.deps.mcp.call(tool, rawArgs, scope).then(
        (answer) => this.ok(tool, answer),
        (error: Error) => this.error(tool, error.message),
      );
    } else if (!isToolName(tool)) {
      result = this.error(tool, `unknown tool "${tool}"; available tools: ${TOOL_NAMES.join(', ')}`);
    } else {
      const parsed = TOOL_SCHEMAS[tool].safeParse(rawArgs);
      if (!parsed.success) {
        result = this.error(tool, `invalid arguments for ${tool}: ${z.prettifyError(parsed.error)}`);
      } else {
        args = await this.withPlace(incident, tool, parsed.data);
        result = await this.dispatch(incident, tool, args).catch((error: Error) =>
          this.error(
            tool,
            error instanceof ToolError || error instanceof TargetReadError
              ? error.message
              : `${tool} failed: ${error.message}`,
          ),
        );
      }
    }
    await this.record(incident.id, tool, args, result, by);
    return result;
  }

  private async record(incidentId: string, tool: string, args: unknown, result: ToolResult, by: string) {
    await this.deps.store.appendTimeline(incidentId, {
      type: 'tool_call',
      tool,
      args,
      output: result.output,
      ok: result.ok,
      ...(result.outcome ? { decision: result.outcome.decision, actionId: result.outcome.actionId } : {}),
      by,
    });
  }

  /** The tools offered to the model: Hermes' own and the external MCP servers' read-only ones. */
  definitions(): ChatCompletionFunctionTool[] {
    return [...TOOL_DEFINITIONS, ...(this.deps.mcp?.definitions ?? [])];
  }

  /** The incident's one place, when its alerts name exactly one: where its fixes act by default. */
  async onlyPlace(incident: IncidentSummary): Promise<ScopedPlacement | null> {
    const located = locate(await this.deps.targets.scope(incident.id), {});
    return located.ok ? located.placement : null;
  }

  /**
   * A state-changing call with the `host` and `service` it left out filled from the incident's one
   * place (a tool proposed for approval likewise), where the policy wants them. Where the incident
   * has several places, they stay out and the executor refuses, saying which places there are.
   */
  private async withPlace(incident: IncidentSummary, tool: ToolName, args: object): Promise<object> {
    if (tool === 'request_human_confirmation') {
      const a = args as ToolArgs<'request_human_confirmation'>;
      if (!a.tool || !isToolName(a.tool)) return a;
      return { ...a, args: await this.withPlace(incident, a.tool, a.args ?? {}) };
    }
    const given = args as { host?: unknown; service?: unknown };
    const missing = (FILLED_FROM_PLACE[tool] ?? []).filter((name) => given[name] === undefined);
    if (missing.length === 0) return args;
    const located = locate(await this.deps.targets.scope(incident.id), {
      host: typeof given.host === 'string' ? given.host : undefined,
      resource: typeof given.service === 'string' ? given.service : undefined,
      needsResource: missing.includes('service'),
    });
    if (!located.ok) return args;
    const { host, resource } = located.placement;
    return {
      ...args,
      ...Object.fromEntries(missing.map((name) => [name, name === 'host' ? host : resource])),
    };
  }

  /** The incident's scope in words, for the model's prompt. */
  async scopeDescription(incident: IncidentSummary): Promise<string> {
    return describeScope(await this.deps.targets.scope(incident.id));
  }

  /** Records what the model said alongside its tool calls (its reasoning), truncated like tool output. */
  async noteReasoning(incident: IncidentSummary, text: string): Promise<void> {
    await this.deps.store.appendTimeline(incident.id, {
      type: 'summary',
      kind: 'reasoning',
      message: this.truncate(text),
      by: 'triage',
    });
  }

  /** Records a planned step that was left out, and why. */
  async noteSkipped(incident: IncidentSummary, tool: string, why: string): Promise<void> {
    await this.deps.store.appendTimeline(incident.id, {
      type: 'summary',
      tool,
      message: `skipped ${tool}: ${why}`,
      by: 'triage',
    });
  }

  /** Records a call that never ran (unparsable or refused) and returns the error for the model. */
  async reject(
    incident: IncidentSummary,
    tool: string,
    args: unknown,
    message: string,
    by = 'triage',
  ): Promise<ToolResult> {
    const result = this.error(tool, message);
    await this.record(incident.id, tool, args, result, by);
    return result;
  }

  truncate(text: string): string {
    const max = this.deps.outputMaxChars;
    return text.length <= max ? text : `${text.slice(0, max)}… [truncated ${text.length - max} chars]`;
  }

  private error(tool: string, message: string): ToolResult {
    return { tool, ok: false, output: this.truncate(JSON.stringify({ error: message })) };
  }

  private ok(tool: string, value: unknown): ToolResult {
    return {
      tool,
      ok: true,
      output: this.truncate(typeof value === 'string' ? value : JSON.stringify(value)),
    };
  }

  private async dispatch(incident: IncidentSummary, tool: ToolName, args: unknown): Promise<ToolResult> {
    if (DIAGNOSTIC_TOOLS.has(tool))
      return this.ok(
        tool,
        this.deps.recordedReads
          ? await this.recordedRead(incident, tool, args, this.deps.recordedReads)
          : await this.diagnose(incident, tool, args),
      );
    if (tool === 'send_notification') {
      const a = args as ToolArgs<'send_notification'>;
      const eventId = await enqueueNotification(
        this.deps.notifications,
        agentMessageNotice(incident, { severity: a.severity, channel: a.channel, text: a.message }),
      );
      return this.ok(tool, { queued: true, eventId });
    }
    const { actionTool, actionArgs, approvalRequest, askHuman } = toAction(tool, args);
    const outcome = await this.deps.actions.request({
      incidentId: incident.id,
      tool: actionTool,
      args: actionArgs,
      approvalRequest,
      askHuman,
    });
    const view = {
      decision: outcome.decision,
      reason: outcome.reason,
      result: outcome.result,
      approvalId: outcome.approvalId,
    };
    const executed = outcome.decision === 'executed' || outcome.decision === 'dry_run';
    return {
      tool,
      ok: executed || outcome.decision === 'pending_approval',
      output: this.ok(tool, view).output,
      outcome,
    };
  }

  /** A recorded answer, for a place in the incident's scope only, as a live read would be. */
  private async recordedRead(
    incident: IncidentSummary,
    tool: ToolName,
    args: unknown,
    recorded: NonNullable<ToolboxDeps['recordedReads']>,
  ): Promise<string> {
    if (tool !== 'get_metrics') {
      const { host, service } = args as { host?: string; service?: string };
      const logs = tool === 'get_service_logs';
      placed(
        locate(await this.deps.targets.scope(incident.id), {
          host,
          resource: logs ? service : undefined,
          needsResource: logs,
        }),
      );
    }
    return recorded(tool, args);
  }

  private async diagnose(incident: IncidentSummary, tool: ToolName, args: unknown): Promise<unknown> {
    if (tool === 'get_metrics') {
      const a = args as ToolArgs<'get_metrics'>;
      const prometheus = this.prometheus();
      const seconds = parseDurationSeconds(a.duration);
      const data =
        seconds === 0 ? await prometheus.instant(a.query) : await prometheus.range(a.query, seconds);
      return { query: a.query, series: summarise(data) };
    }
    const scope = await this.deps.targets.scope(incident.id);
    switch (tool) {
      case 'get_service_logs': {
        const a = args as ToolArgs<'get_service_logs'>;
        const placement = placed(locate(scope, { host: a.host, resource: a.service, needsResource: true }));
        const lines = await this.deps.targets.logs(placement, placement.resource as string, a.lines, a.level);
        // Log lines are untrusted data written by the failing service, not instructions.
        return { source: describePlacement(placement), untrusted_log_lines: lines, count: lines.length };
      }
      case 'check_system_resources': {
        const a = args as ToolArgs<'check_system_resources'>;
        const placement = placed(locate(scope, { host: a.host }));
        const remote = this.deps.targets.hasResources(placement)
          ? await this.deps.targets.resources(placement)
          : undefined;
        if (!this.deps.prometheus) {
          if (!remote) throw new ToolError('no Prometheus configured (PROMETHEUS_URL)');
          return { source: describePlacement(placement), ...remote };
        }
        const host = a.host ?? (hostOfInstance(placement.instance) || placement.host);
        return { ...(await this.resources(host, a.check_types)), ...(remote ? { target: remote } : {}) };
      }
      case 'run_diagnosis_command': {
        const a = args as ToolArgs<'run_diagnosis_command'>;
        const placement = placed(locate(scope, { host: a.host }));
        return this.deps.targets.diag(placement, a.command);
      }
      default:
        throw new ToolError(`${tool} is not a diagnostic tool`);
    }
  }

  private async resources(host: string, checks: readonly ('cpu' | 'memory' | 'disk')[]) {
    const prometheus = this.prometheus();
    const m = instanceMatcher(host);
    const queries = {
      cpu: `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle",${m}}[5m])))`,
      memory: `100 * (1 - node_memory_MemAvailable_bytes{${m}} / node_memory_MemTotal_bytes{${m}})`,
      disk: `100 * (1 - node_filesystem_avail_bytes{${m},fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{${m},fstype!~"tmpfs|overlay|squashfs"})`,
    };
    const out: Record<string, unknown> = { host, unit: 'percent used' };
    for (const check of checks) {
      const data = await prometheus.instant(queries[check]);
      const series = summarise(data) as { metric: Record<string, string>; value: string }[];
      out[check] = series.map((s) => ({
        ...(s.metric.mountpoint ? { mountpoint: s.metric.mountpoint } : {}),
        percent: Math.round(Number(s.value) * 10) / 10,
      }));
    }
    return out;
  }

  private prometheus(): PrometheusClient {
    if (!this.deps.prometheus) throw new ToolError('no Prometheus configured (PROMETHEUS_URL)');
    return this.deps.prometheus;
  }
}

function placed(located: Located): ScopedPlacement {
  if (!located.ok) throw new ToolError(located.reason);
  return located.placement;
}

function toAction(
  tool: ToolName,
  args: unknown,
): {
  actionTool: string;
  actionArgs: Record<string, unknown>;
  approvalRequest?: ApprovalRequest;
  askHuman?: boolean;
} {
  if (tool === 'request_human_confirmation') {
    const a = args as ToolArgs<'request_human_confirmation'>;
    const approvalRequest: ApprovalRequest = {
      description: a.action_description,
      reason: a.reason,
      risk: a.risk_level,
      rollbackPlan: a.rollback_plan,
    };
    if (a.tool) return { actionTool: a.tool, actionArgs: a.args ?? {}, approvalRequest, askHuman: true };
    const { tool: _t, args: _a, ...free } = a;
    return { actionTool: 'request_human_confirmation', actionArgs: free, approvalRequest };
  }
  const actionArgs = args as Record<string, unknown>;
  const reason = typeof actionArgs.reason === 'string' && actionArgs.reason ? actionArgs.reason : undefined;
  return {
    actionTool: tool,
    actionArgs,
    approvalRequest: reason
      ? {
          description: `${tool} ${JSON.stringify(actionArgs)}`.slice(0, 2_000),
          reason: reason.slice(0, 2_000),
          risk: 'medium',
        }
      : undefined,
  };
}

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { approvalDecisionBodySchema } from '../../../shared/schemas/approval.js';
import { incidentStatusSchema } from '../../../shared/schemas/incident.js';
import { DECIDED_LIKE_THE_AGENT, proposalBodySchema } from '../api/proposals.js';
import { type ApiCall, type ApiReply, apiError } from './api-call.js';

const READ: ToolAnnotations = { readOnlyHint: true, openWorldHint: false };
/** Changes Hermes' own records (ownership, the kill switch), never a system Hermes watches. */
const BOOKKEEPING: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
};

const id = z.string().min(1).max(100).describe('an id, or a prefix of one that no other id shares');
const by = approvalDecisionBodySchema.shape.by
  .optional()
  .describe('your name; with a named token it may only be that name (left out, the token names you)');
const comment = z.string().max(2_000).optional();

/** The API's answer as an MCP tool result: its JSON as text and as structured content, or its error. */
function answer(reply: ApiReply, summary: (body: Record<string, unknown>) => string): CallToolResult {
  if (reply.status >= 300) return { isError: true, content: [{ type: 'text', text: apiError(reply) }] };
  const body = (reply.body ?? {}) as Record<string, unknown>;
  return {
    content: [{ type: 'text', text: `${summary(body)}\n${JSON.stringify(body, null, 2)}` }],
    structuredContent: body,
  };
}

const count = (body: Record<string, unknown>, field: string) =>
  Array.isArray(body[field]) ? (body[field] as unknown[]).length : 0;

/**
 * Hermes as an MCP server. Every tool is one call of ingest's HTTP API with the client's own
 * credential, so the API decides what it may do, who it acts as and what is refused.
 * `defaultBy`: the name sent when a call gives none (`hermes mcp --by`).
 */
export function createHermesMcpServer(api: ApiCall, defaultBy?: string): McpServer {
  const server = new McpServer({ name: 'hermes', version: '1.0.0' });
  const who = (given: string | undefined) => given ?? defaultBy;

  server.registerTool(
    'list_incidents',
    {
      title: 'List incidents',
      description: 'Incidents, newest first, with status, level, alert and where they are.',
      inputSchema: {
        status: incidentStatusSchema.optional(),
        limit: z.number().int().min(1).max(500).optional(),
        cursor: z.string().max(200).optional().describe('nextCursor of a previous page'),
      },
      annotations: READ,
    },
    async (args) => {
      const query = new URLSearchParams(
        Object.entries(args).flatMap(([key, value]) => (value === undefined ? [] : [[key, String(value)]])),
      );
      const reply = await api('GET', `/api/incidents?${query}`);
      return answer(reply, (body) => `${count(body, 'incidents')} incident(s)`);
    },
  );
  server.registerTool(
    'get_incident',
    {
      title: 'Get an incident',
      description: 'One incident: its timeline, where it is, the actions decided on it and their outcomes.',
      inputSchema: { id },
      annotations: READ,
    },
    async (args) =>
      answer(
        await api('GET', `/api/incidents/${encodeURIComponent(args.id)}`),
        (body) => `incident ${String(body.id)}: ${String(body.status)}, level ${String(body.level)}`,
      ),
  );
  server.registerTool(
    'list_approvals',
    {
      title: 'List pending approvals',
      description: 'Actions waiting for a human approval: what would run where, and why.',
      annotations: READ,
    },
    async () => answer(await api('GET', '/api/approvals'), (body) => `${count(body, 'approvals')} pending`),
  );
  server.registerTool(
    'get_automation',
    {
      title: 'Automation state',
      description:
        'The kill switch, the execution mode (live or dry-run), the circuit breaker, learned rules, queue depths.',
      annotations: READ,
    },
    async () =>
      answer(await api('GET', '/api/automation'), (body) =>
        body.paused ? `automation PAUSED by ${String(body.by)}` : 'automation running',
      ),
  );
  server.registerTool(
    'get_outcomes',
    {
      title: 'Outcomes of fixes',
      description:
        'Verdicts of earlier fixes (fixed, ineffective, failed, unknown, none), per alert, resource, target and tool: totals per verdict, median seconds to recover, newest first.',
      inputSchema: {
        alertname: z.string().min(1).max(200).optional(),
        resource: z.string().min(1).max(200).optional(),
        target: z.string().min(1).max(200).optional(),
        tool: z.string().min(1).max(200).optional(),
        limit: z.number().int().min(1).max(1_000).optional(),
      },
      annotations: READ,
    },
    async (args) => {
      const query = new URLSearchParams(
        Object.entries(args).flatMap(([key, value]) => (value === undefined ? [] : [[key, String(value)]])),
      );
      return answer(await api('GET', `/api/outcomes?${query}`), (body) => `${String(body.total)} outcome(s)`);
    },
  );

  server.registerTool(
    'get_policy_proposals',
    {
      title: 'Policy proposals',
      description:
        'Fixes humans approved repeatedly and that were always verified fixed, proposed for preapproved: in policy.yaml, with evidence and a diff. Read-only: only a human applies one by editing the file.',
      annotations: READ,
    },
    async () =>
      answer(await api('GET', '/api/policy/proposals'), (body) => `${count(body, 'proposals')} proposal(s)`),
  );

  for (const command of ['acknowledge', 'resolve'] as const)
    server.registerTool(
      command,
      {
        title: command === 'acknowledge' ? 'Acknowledge an incident' : 'Resolve an incident',
        description:
          command === 'acknowledge'
            ? 'Take ownership: the incident is escalated and acknowledged by you; the agent stops acting on it.'
            : 'Close the incident.',
        inputSchema: { id, comment, by },
        annotations: BOOKKEEPING,
      },
      async (args) =>
        answer(
          await api('POST', `/api/incidents/${encodeURIComponent(args.id)}/${command}`, {
            comment: args.comment,
            by: who(args.by),
          }),
          (body) => `${command}d by ${String(body.by)}`,
        ),
    );

  for (const [verb, done] of [
    ['approve', 'approved'],
    ['deny', 'denied'],
  ] as const)
    server.registerTool(
      verb,
      {
        title: verb === 'approve' ? 'Approve an action' : 'Deny an action',
        description:
          verb === 'approve'
            ? 'Approve a pending action: the executor then runs it, still within its limits and breaker.'
            : 'Deny a pending action: it never runs.',
        inputSchema: { id, comment, by },
        annotations: { ...BOOKKEEPING, destructiveHint: verb === 'approve' },
      },
      async (args) =>
        answer(
          await api('POST', `/api/approvals/${encodeURIComponent(args.id)}/${verb}`, {
            comment: args.comment,
            by: who(args.by),
          }),
          (body) => {
            const approval = body.approval as { id?: string; decidedBy?: string } | undefined;
            return `${approval?.id} ${done} by ${approval?.decidedBy}`;
          },
        ),
    );

  server.registerTool(
    'pause_automation',
    {
      title: 'Pause automation (kill switch)',
      description: 'Stop every automatic state change until resumed; reads and approvals go on.',
      inputSchema: { by },
      annotations: BOOKKEEPING,
    },
    async (args) =>
      answer(
        await api('POST', '/api/automation/pause', { by: who(args.by) }),
        (body) => `automation paused by ${String(body.by)}`,
      ),
  );
  server.registerTool(
    'resume_automation',
    {
      title: 'Resume automation',
      description: 'Lift the kill switch.',
      annotations: BOOKKEEPING,
    },
    async () => answer(await api('POST', '/api/automation/resume', {}), () => 'automation resumed'),
  );
  server.registerTool(
    'propose_action',
    {
      title: 'Propose an action on an incident',
      description: `Propose one tool call (e.g. restart_service with its args) on an incident. It is ${DECIDED_LIKE_THE_AGENT}: it may run, wait for an approval, or be refused.`,
      inputSchema: {
        incident: proposalBodySchema.shape.incident,
        tool: proposalBodySchema.shape.tool,
        args: z.record(z.string(), z.unknown()).optional(),
        reason: proposalBodySchema.shape.reason,
        by,
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async (args) =>
      answer(
        await api('POST', '/api/proposals', { ...args, args: args.args ?? {}, by: who(args.by), via: 'mcp' }),
        (body) =>
          `${String(body.tool ?? 'the action')} ${String(body.decision)}${body.reason ? `: ${String(body.reason)}` : ''} (${DECIDED_LIKE_THE_AGENT})`,
      ),
  );
  return server;
}

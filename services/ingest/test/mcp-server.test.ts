import { Agent } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExecutorHarness, startExecutorHarness } from '../../../test/support/executor-harness.js';
import { post } from '../../../test/support/http.js';
import { openIncident } from '../../../test/support/incidents.js';
import { writeUsersFile } from '../../../test/support/users.js';
import type { IngestHandle } from '../service.js';
import { startTestIngest } from './harness.js';

const ADMIN = 'mcp-admin-token';
const READ_ONLY = 'mcp-read-token';
let h: ExecutorHarness;
let ingest: IngestHandle;
const clients: Client[] = [];

beforeAll(async () => {
  h = await startExecutorHarness({ mode: 'dry-run' });
  ingest = await startTestIngest(h.t, {
    ADMIN_TOKEN: ADMIN,
    MCP_TOKEN: READ_ONLY,
    USERS_FILE: writeUsersFile([
      { name: 'alice', role: 'approver', token: 'alice-token' },
      { name: 'victor', role: 'viewer', token: 'victor-token' },
    ]),
  });
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await ingest.close();
  await h.close();
});

async function overHttp(token?: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'test-ide', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${ingest.url}/mcp`), {
    requestInit: { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } },
  });
  await client.connect(transport);
  clients.push(client);
  return client;
}

async function overStdio(env: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'test-ide', version: '1.0.0' });
  const { HERMES_TOKEN: _t, ADMIN_TOKEN: _a, ...inherited } = process.env as Record<string, string>;
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: ['bin/hermes.js', 'mcp', '--url', ingest.url],
      env: { ...inherited, ...env },
      stderr: 'pipe',
    }),
  );
  clients.push(client);
  return client;
}

const call = async (client: Client, name: string, args: Record<string, unknown> = {}) =>
  (await client.callTool({ name, arguments: args })) as CallToolResult;
const text = (result: CallToolResult) =>
  result.content.map((part) => ('text' in part ? part.text : '')).join('');

async function pendingApproval(): Promise<{ incidentId: string; approvalId: string }> {
  const incidentId = await openIncident(h.t, { alertname: 'HighLatency', service: 'api' });
  const asked = await h.submit({
    incidentId,
    tool: 'request_human_confirmation',
    args: {
      action_description: 'Investigate HighLatency on api',
      reason: 'no safe fix',
      risk_level: 'medium',
    },
  });
  return { incidentId, approvalId: asked.approvalId as string };
}

describe.each([
  ['Streamable HTTP', (token: string) => overHttp(token)],
  ['stdio (hermes mcp)', (token: string) => overStdio({ HERMES_TOKEN: token })],
])('over %s', (_transport, connect) => {
  it('lists its tools with accurate annotations', async () => {
    const { tools } = await (await connect(READ_ONLY)).listTools();
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    for (const read of [
      'list_incidents',
      'get_incident',
      'list_approvals',
      'get_automation',
      'get_outcomes',
      'get_policy_proposals',
    ])
      expect(byName.get(read)?.annotations).toMatchObject({ readOnlyHint: true });
    for (const write of [
      'acknowledge',
      'resolve',
      'approve',
      'deny',
      'pause_automation',
      'resume_automation',
    ])
      expect(byName.get(write)?.annotations).toMatchObject({ readOnlyHint: false, idempotentHint: true });
    expect(byName.get('approve')?.annotations?.destructiveHint).toBe(true);
    expect(byName.get('deny')?.annotations?.destructiveHint).toBe(false);
    expect(byName.get('propose_action')?.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
    });
    expect(byName.get('get_incident')?.inputSchema.required).toEqual(['id']);
  });

  it('reads an incident with the read-only token, and refuses it an operator tool with the API reason', async () => {
    const { approvalId, incidentId } = await pendingApproval();
    const client = await connect(READ_ONLY);
    const incident = await call(client, 'get_incident', { id: incidentId });
    expect(incident.isError).toBeFalsy();
    expect(incident.structuredContent).toMatchObject({ id: incidentId, alertname: 'HighLatency' });
    expect(text(incident)).toContain(incidentId);
    const listed = await call(client, 'list_approvals');
    expect(listed.structuredContent?.approvals).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: approvalId })]),
    );

    const refused = await call(client, 'approve', { id: approvalId });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toBe('mcp-token (viewer) may not do this: it needs the approver role');
    expect((await h.approvals.get(approvalId))?.status).toBe('pending');
  });

  it('approves with the admin token, recorded as break-glass with the name given', async () => {
    const { approvalId } = await pendingApproval();
    const approved = await call(await connect(ADMIN), 'approve', { id: approvalId, by: 'alice' });
    expect(approved.isError).toBeFalsy();
    expect(approved.structuredContent?.approval).toMatchObject({
      status: 'approved',
      decidedBy: 'alice+break-glass',
    });
    expect(await h.approvals.get(approvalId)).toMatchObject({ decidedBy: 'alice+break-glass' });
  });

  it('with a named token acts as that name only', async () => {
    const { approvalId } = await pendingApproval();
    const client = await connect('alice-token');
    const impersonating = await call(client, 'deny', { id: approvalId, by: 'bob' });
    expect(impersonating.isError).toBe(true);
    expect(text(impersonating)).toBe('by "bob" is not the name of your credential (alice)');
    const denied = await call(client, 'deny', { id: approvalId });
    expect(denied.structuredContent?.approval).toMatchObject({ status: 'denied', decidedBy: 'alice' });
  });

  it('propose_action out of the incident scope is refused by the executor, and nothing runs', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api', level: 1 });
    const proposed = await call(await connect('alice-token'), 'propose_action', {
      incident: incidentId,
      tool: 'restart_service',
      args: { service: 'api', host: 'db-server-99', reason: 'the IDE assistant says so' },
    });
    expect(proposed.structuredContent).toMatchObject({ decision: 'blocked' });
    expect(text(proposed)).toContain("decided by the executor exactly like the agent's own requests");
    const incident = await h.incidents.get(incidentId);
    expect(incident?.actions).toEqual([
      expect.objectContaining({ tool: 'restart_service', decision: 'blocked', requestedBy: 'human:alice' }),
    ]);
    expect(h.runs()).toEqual([]);
  });

  it('propose_action in scope on a level-1 incident runs (dry-run), showing it came from MCP and who', async () => {
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api', level: 1 });
    const proposed = await call(await connect('alice-token'), 'propose_action', {
      incident: incidentId,
      tool: 'restart_service',
      args: { service: 'api', host: 'app-server-01', reason: 'stuck after deploy' },
    });
    expect(proposed.isError).toBeFalsy();
    expect(proposed.structuredContent).toMatchObject({ decision: 'dry_run', by: 'alice' });
    const incident = await h.incidents.get(incidentId);
    expect(incident?.actions).toEqual([
      expect.objectContaining({ tool: 'restart_service', decision: 'dry_run', requestedBy: 'human:alice' }),
    ]);
    expect(incident?.timeline).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'proposal', via: 'mcp', by: 'human:alice', tool: 'restart_service' }),
      ]),
    );
  });
});

it('propose_action on a level-2 incident waits for a human approval, as the agent would', async () => {
  const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'api', level: 2 });
  const proposed = await call(await overHttp('alice-token'), 'propose_action', {
    incident: incidentId,
    tool: 'restart_service',
    args: { service: 'api', host: 'app-server-01', reason: 'stuck after deploy' },
    reason: 'the IDE assistant saw it stuck after the deploy',
  });
  expect(proposed.structuredContent).toMatchObject({
    decision: 'pending_approval',
    reason: expect.stringMatching(/^level-2 incidents need a human approval/),
  });
  const approvalId = String(proposed.structuredContent?.approvalId);
  expect(await h.approvals.get(approvalId)).toMatchObject({ status: 'pending', tool: 'restart_service' });
});

describe('refusals at /mcp', () => {
  it('without a token', async () => {
    await expect(overHttp()).rejects.toThrow(/401|unauthorized|missing token/i);
  });

  it('with a wrong Origin (DNS rebinding), even with a right token', async () => {
    await expect(overHttp(ADMIN, { origin: 'http://evil.example' })).rejects.toThrow(/403|cross-site/);
    const res = await fetch(`${ingest.url}/mcp`, {
      method: 'GET',
      headers: { authorization: `Bearer ${ADMIN}`, origin: 'http://evil.example' },
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'cross-site request refused (Origin: http://evil.example)' });
  });

  it('a viewer credential may read but an operator tool is refused with the role it needs', async () => {
    const client = await overHttp('victor-token');
    expect((await call(client, 'get_automation')).structuredContent).toMatchObject({ paused: false });
    const refused = await call(client, 'pause_automation');
    expect(text(refused)).toBe('victor (viewer) may not do this: it needs the operator role');
    // Outcomes are the API's, filtered: a dry-run restart is kept as `none`.
    const incidentId = await openIncident(h.t, { alertname: 'ServiceDown', service: 'ledger', level: 1 });
    const restart = { service: 'ledger', host: 'app-server-01', reason: 'down' };
    expect((await h.submit({ incidentId, tool: 'restart_service', args: restart })).decision).toBe('dry_run');
    const outcomes = (await call(client, 'get_outcomes', { resource: 'ledger' })).structuredContent;
    expect(outcomes).toMatchObject({
      total: 1,
      totals: { none: 1 },
      outcomes: [{ incidentId, verdict: 'none' }],
    });
    // Policy proposals are read-only: a dry-run fix is no evidence, so there are none.
    const proposals = await call(client, 'get_policy_proposals');
    expect(text(proposals)).toMatch(/^0 proposal\(s\)\n/);
    expect(proposals.structuredContent).toMatchObject({
      apply: 'apply by editing policy.yaml; Hermes never changes its own policy',
      proposals: [],
    });
  });
});

describe('protections of the API at /mcp', () => {
  const initialize = (headers: Record<string, string>, body = '') =>
    fetch(`${ingest.url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body:
        body ||
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'curl', version: '1' },
          },
        }),
    });

  it('a body over the API limit is refused 413', async () => {
    const res = await initialize({ authorization: `Bearer ${ADMIN}` }, 'x'.repeat(1024 * 1024 + 1));
    expect(res.status).toBe(413);
  });

  it('the same wrong token, tried again and again, meets the guess limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await initialize({ authorization: 'Bearer guessed-token' })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('without any token: only this machine, by a loopback Host', async () => {
    const open = await startTestIngest(h.t, { HERMES_PREFIX: `${h.t.prefix}-open` });
    try {
      // node:http sends the Host it is given (fetch would not): a DNS-rebinding page's request.
      const agent = new Agent();
      const rebound = await post(agent, `${open.url}/mcp`, '{}', { host: 'evil.example' });
      agent.destroy();
      expect(rebound.status).toBe(421);
      expect(JSON.parse(rebound.body)).toEqual({
        error: 'Host evil.example is not this machine: without tokens only localhost may be used',
      });
      const client = new Client({ name: 'local-ide', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${open.url}/mcp`)));
      const automation = (await client.callTool({ name: 'get_automation', arguments: {} })) as CallToolResult;
      expect(automation.isError).toBeFalsy();
      expect(automation.structuredContent).toMatchObject({ paused: false });
      await client.close();
    } finally {
      await open.close();
    }
  });
});

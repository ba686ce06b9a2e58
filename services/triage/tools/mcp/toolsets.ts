import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import type { Logger } from '../../../../shared/logger.js';
import type { IncidentScope } from '../../../../shared/targets/scope.js';
import { ToolError } from '../tool-error.js';
import { type McpServerConfig, type McpServersConfig, resolveValue } from './config.js';
import { scopedArgs } from './scope-match.js';

interface OfferedTool {
  server: string;
  /** The tool's name on its server. */
  name: string;
  match: Readonly<Record<string, string>>;
  definition: ChatCompletionFunctionTool;
}

interface Connection {
  client: Client;
  config: McpServerConfig;
}

const DESCRIPTION_MAX = 1_000;

/** How soon a server that was down is tried again: doubling from `firstMs` up to `maxMs`. */
export interface RetryDelays {
  firstMs: number;
  maxMs: number;
}
const DEFAULT_RETRY: RetryDelays = { firstMs: 5_000, maxMs: 60_000 };

/**
 * External MCP servers' read-only tools, offered to the model as `server.tool`. Only tools both
 * allowlisted in MCP_SERVERS_FILE and annotated `readOnlyHint: true` by their server are offered;
 * they run here, in triage, never through the executor. A server that is down, slow or answers
 * garbage fails its call with a reason; the investigation goes on.
 */
export class McpToolsets {
  private readonly connections = new Map<string, Connection>();
  private readonly tools = new Map<string, OfferedTool>();
  /** Servers that were down, waiting for their next attempt. */
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private closed = false;

  private constructor(
    private readonly config: McpServersConfig,
    private readonly logger: Logger,
    private readonly retry: RetryDelays,
  ) {}

  /**
   * Connects to every server and lists its tools; each refused tool is logged with why. A server
   * that is down is tried again in the background (backing off up to `retry.maxMs`), so one that
   * starts after triage still gets its tools offered without a triage restart.
   */
  static async connect(
    config: McpServersConfig,
    logger: Logger,
    retry: RetryDelays = DEFAULT_RETRY,
  ): Promise<McpToolsets> {
    const toolsets = new McpToolsets(config, logger, retry);
    await Promise.all(Object.keys(config.servers).map((server) => toolsets.attempt(server, retry.firstMs)));
    logger.info({ tools: [...toolsets.tools.keys()] }, 'MCP tools offered to the model');
    return toolsets;
  }

  /** One connection attempt; a failure schedules the next one, `delayMs` later. */
  private async attempt(server: string, delayMs: number): Promise<void> {
    const serverConfig = this.config.servers[server] as McpServerConfig;
    const client = new Client({ name: 'hermes-triage', version: '1.0.0' });
    try {
      await client.connect(transportOf(server, serverConfig), { timeout: serverConfig.timeout_ms });
      const listed = await client.listTools(undefined, { timeout: serverConfig.timeout_ms });
      if (this.closed) {
        await client.close().catch(() => undefined);
        return;
      }
      this.connections.set(server, { client, config: serverConfig });
      for (const tool of offeredTools(server, serverConfig, listed.tools, this.logger))
        this.tools.set(tool.definition.function.name, tool);
    } catch (error) {
      await client.close().catch(() => undefined);
      if (this.closed) return;
      this.logger.error(
        { server, err: (error as Error).message, retryInMs: delayMs },
        'MCP server unusable; none of its tools are offered until it answers',
      );
      const timer = setTimeout(() => {
        this.retries.delete(server);
        void this.attempt(server, Math.min(delayMs * 2, this.retry.maxMs)).then(() => {
          if (this.connections.has(server))
            this.logger.info(
              { server, tools: this.toolsOf(server) },
              'MCP server answers now; its tools are offered',
            );
        });
      }, delayMs);
      timer.unref();
      this.retries.set(server, timer);
    }
  }

  private toolsOf(server: string): string[] {
    return [...this.tools.values()].filter((tool) => tool.server === server).map((tool) => tool.name);
  }

  get definitions(): ChatCompletionFunctionTool[] {
    return [...this.tools.values()].map((tool) => tool.definition);
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  /** Calls an offered tool with its arguments scoped to the incident; its answer is untrusted data. */
  async call(name: string, args: unknown, scope: IncidentScope): Promise<unknown> {
    const tool = this.tools.get(name);
    const connection = tool && this.connections.get(tool.server);
    if (!tool || !connection) throw new ToolError(`unknown tool "${name}"`);
    if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args)))
      throw new ToolError(`invalid arguments for ${name}: an object is expected`);
    const scoped = scopedArgs(name, (args ?? {}) as Record<string, unknown>, tool.match, scope);
    const { timeout_ms: timeout, max_output_chars: cap } = connection.config;
    let result: CallToolResult;
    try {
      result = (await connection.client.callTool({ name: tool.name, arguments: scoped }, undefined, {
        timeout,
        maxTotalTimeout: timeout,
      })) as CallToolResult;
    } catch (error) {
      throw new ToolError(`${name} failed: ${(error as Error).message}`);
    }
    const text = answerText(result);
    if (result.isError) throw new ToolError(`${name} answered an error: ${capped(text, cap)}`);
    // What an external server says is data written by someone else, never instructions.
    return { source: `MCP server ${tool.server}`, untrusted_output: capped(text, cap) };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
    await Promise.all(
      [...this.connections.values()].map(({ client }) => client.close().catch(() => undefined)),
    );
  }
}

function transportOf(server: string, config: McpServerConfig): Transport {
  const { transport } = config;
  const resolved = (values: Record<string, Parameters<typeof resolveValue>[0]>, what: string) =>
    Object.fromEntries(
      Object.entries(values).map(([key, value]) => [
        key,
        resolveValue(value, `MCP server ${server} ${what} ${key}`),
      ]),
    );
  if (transport.type === 'stdio')
    return new StdioClientTransport({
      command: transport.command,
      args: transport.args,
      env: { ...getDefaultEnvironment(), ...resolved(transport.env, 'env') },
      stderr: 'ignore',
    });
  return new StreamableHTTPClientTransport(new URL(transport.url), {
    requestInit: { headers: resolved(transport.headers, 'header') },
  });
}

function offeredTools(
  server: string,
  config: McpServerConfig,
  listed: {
    name: string;
    description?: string;
    inputSchema: unknown;
    annotations?: { readOnlyHint?: boolean };
  }[],
  logger: Logger,
): OfferedTool[] {
  const offered: OfferedTool[] = [];
  for (const tool of listed) {
    const allowed = config.tools[tool.name];
    const refusal = !allowed
      ? 'not on its allowlist in MCP_SERVERS_FILE'
      : tool.annotations?.readOnlyHint !== true
        ? 'its server does not annotate it readOnlyHint: true'
        : null;
    if (refusal || !allowed) {
      logger.warn({ server, tool: tool.name, reason: refusal }, 'MCP tool refused');
      continue;
    }
    const name = `${server}.${tool.name}`;
    const { $schema: _ignored, ...parameters } = (tool.inputSchema ?? { type: 'object' }) as Record<
      string,
      unknown
    >;
    offered.push({
      server,
      name: tool.name,
      match: allowed.match,
      definition: {
        type: 'function',
        function: {
          name,
          description: `[read-only, from MCP server ${server}] ${tool.description ?? ''}`.slice(
            0,
            DESCRIPTION_MAX,
          ),
          parameters,
        },
      },
    });
  }
  for (const name of Object.keys(config.tools))
    if (!listed.some((tool) => tool.name === name))
      logger.warn({ server, tool: name }, 'MCP tool allowlisted but not offered by its server');
  return offered;
}

function answerText(result: CallToolResult): string {
  const texts = (result.content ?? []).flatMap((part) =>
    part.type === 'text' ? [part.text] : [`[${part.type} content left out]`],
  );
  if (texts.length > 0) return texts.join('\n');
  return result.structuredContent === undefined ? '' : JSON.stringify(result.structuredContent);
}

function capped(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [truncated ${text.length - max} chars]`;
}

import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { httpApi } from './api-call.js';
import { createHermesMcpServer } from './tools.js';

/**
 * `hermes mcp`: Hermes as an MCP server on stdin/stdout, for IDEs. It holds no Redis credentials:
 * every tool is a call of ingest's API at `url` with the user's token.
 */
export async function serveMcpOverStdio(url: string, token: string | undefined, by?: string): Promise<void> {
  await createHermesMcpServer(httpApi(url, token), by).connect(new StdioServerTransport());
}

import { HermesError } from '../../../shared/errors.js';
import { hashToken, type NamedUser } from '../credentials.js';

/** The name MCP_TOKEN's reads are recorded under. */
export const MCP_TOKEN_NAME = 'mcp-token';

export class McpTokenError extends HermesError {}

/**
 * The named credentials with MCP_TOKEN added as a viewer: it reads (over MCP and the API alike) and
 * can change nothing; operator tools need a person's own credential.
 */
export function withMcpToken(users: readonly NamedUser[], token: string | undefined): NamedUser[] {
  if (!token) return [...users];
  if (users.some((user) => user.name === MCP_TOKEN_NAME))
    throw new McpTokenError(
      `USERS_FILE names a user ${MCP_TOKEN_NAME}, the name MCP_TOKEN is recorded under`,
    );
  const tokenHash = hashToken(token);
  if (users.some((user) => user.token_hash === tokenHash))
    throw new McpTokenError('MCP_TOKEN is also a token in USERS_FILE: give MCP_TOKEN its own value');
  return [...users, { name: MCP_TOKEN_NAME, role: 'viewer', token_hash: tokenHash }];
}

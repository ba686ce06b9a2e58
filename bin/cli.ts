import { z } from 'zod';
import { CliError, type CommandHandler, createCli, parseCommandLine } from './cli-context.js';
import { decideApproval, listApprovals } from './commands/approvals.js';
import { verifyAudit } from './commands/audit.js';
import { clearLearned, pause, resetBreaker, resume, status } from './commands/automation.js';
import { fire } from './commands/fire.js';
import { cancelHeld, releaseHeld } from './commands/fleet.js';
import { showHistory } from './commands/history.js';
import { incidentCommand, listIncidents, showIncident } from './commands/incidents.js';
import { policyCommand } from './commands/policy.js';
import { printable } from './printable.js';
import { SCENARIOS } from './scenarios.js';
import { UsersCommandError, usersCommand } from './users.js';

const USAGE = `hermes — talk to a running Hermes ingest

usage: hermes <command> [options]

commands (an <id> may be a prefix of one that no other id ever issued shares; lists show the
shortest, and a prefix that has become ambiguous is refused, naming the ids it begins):
  incidents [--status S] [--limit N]   list incidents, newest first
  incident <id>                        one incident with its timeline
  history <id>                         the same target and resource's earlier incidents and verdicts
  ack <id> [--comment TEXT]            take ownership: escalated, acknowledged by you
  resolve <id> [--comment TEXT]        close the incident
  rerun <id> [--comment TEXT]          have triage investigate it again
  release <id> <region>                a fleet incident: let the changes it holds in one region run
  cancel-held <id> [--reason TEXT]     a fleet incident: cancel every change it holds
  approvals                            pending approvals: what would run where
  approve <id> [--comment TEXT]        approving the agent's question means you take the incident
  deny <id> [--comment TEXT]
  pause | resume                       kill switch for all automation
  status                               kill switch, mode, circuit breaker, learned rules, queues
  breaker reset --reason TEXT          close the circuit breaker (audited, with who and why)
  learned clear <rule> --reason TEXT   clear a learned rule (audited, with who and why)
  policy proposals                     policy changes history supports (fixes humans approved and
                                       that were always verified fixed), as diffs; apply by editing
                                       policy.yaml: Hermes never changes its own policy
  audit verify [--witness FILE]...     verify the executor's hash-chained audit log, and compare it
    [--max-entries N]                  with the executor's witness file or log (AUDIT_WITNESS_FILE,
    [--seq N --hash H]                 or its log lines with auditSeq/auditHash) to catch removal at
                                       the newest end; a trimmed chain is held to --max-entries (env
                                       AUDIT_MAX_ENTRIES, default ingest's); exit 2 when either fails
  fire <scenario>                      post sample alerts (${Object.keys(SCENARIOS).join(', ')})
  mcp                                  Hermes as an MCP server on stdio (for IDEs), over this API
  users new-token [--name NAME]        a new random token and its USERS_FILE entry
  users hash-token < token             the token_hash of a token read from stdin

options:
  --url URL     ingest base URL (env HERMES_URL, default http://127.0.0.1:8080)
  --by NAME     who you are, with the break-glass ADMIN_TOKEN or without tokens (default $USER);
                with HERMES_TOKEN your credential names you
  --json        machine-readable output
env: HERMES_TOKEN (your own token from USERS_FILE) or ADMIN_TOKEN (break-glass) for the API,
     INGEST_TOKEN for fire`;

const COMMANDS: Record<string, CommandHandler> = {
  incidents: listIncidents,
  incident: showIncident,
  history: showHistory,
  ack: incidentCommand('ack'),
  resolve: incidentCommand('resolve'),
  rerun: incidentCommand('rerun'),
  release: releaseHeld,
  'cancel-held': cancelHeld,
  approvals: listApprovals,
  approve: decideApproval('approve'),
  deny: decideApproval('deny'),
  pause,
  resume,
  status,
  breaker: resetBreaker,
  learned: clearLearned,
  policy: policyCommand,
  audit: verifyAudit,
  fire,
  users: async ({ arg, options }) => console.log(await usersCommand(arg, options.name)),
  // Loaded only here: the other commands need no MCP SDK.
  mcp: async ({ options, token, by }) =>
    (await import('../services/ingest/mcp/stdio.js')).serveMcpOverStdio(options.url, token, by),
};

async function main(): Promise<void> {
  const { values, positionals } = parseCommandLine();
  const [command, arg, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  const handler = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!handler) throw new CliError(`unknown command ${command}\n\n${USAGE}`);
  await handler(createCli(values, arg, rest));
}

main().catch((error) => {
  console.error(
    printable(
      error instanceof CliError || error instanceof UsersCommandError || error instanceof z.ZodError
        ? `hermes: ${error.message}`
        : String(error),
    ),
  );
  process.exitCode = 1;
});

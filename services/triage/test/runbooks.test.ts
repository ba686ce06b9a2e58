import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { IncidentSummary } from '../../../shared/schemas/incident.js';
import { shippedPolicy } from '../../../test/support/shipped-policy.js';
import { loadRunbooks, renderArgs, runbookFor, stepArgs, templateVars } from '../planners/runbooks.js';
import { DIAGNOSTIC_TOOLS, TOOL_SCHEMAS, type ToolName } from '../tools/schemas.js';

const incident = {
  id: 'inc_1',
  alertname: 'ServiceDown',
  severity: 'critical',
  instance: 'api-server-03:9100',
  service: 'api-gateway',
  labels: { team: 'core' },
  annotations: { description: 'api-gateway unresponsive' },
} as unknown as IncidentSummary;

describe('runbooks', () => {
  it('the shipped file parses and every step has valid arguments once rendered', async () => {
    const file = await loadRunbooks('config/runbooks.yaml');
    const vars = templateVars(incident);
    for (const runbook of [...Object.values(file.runbooks), file.default]) {
      for (const step of runbook.steps) {
        const schema = TOOL_SCHEMAS[step.tool as keyof typeof TOOL_SCHEMAS];
        expect(schema, step.tool).toBeDefined();
        expect(schema.safeParse(renderArgs(step.args, vars)).success, step.tool).toBe(true);
      }
    }
    expect(runbookFor(file, 'DiskSpaceLow').runbook.steps.map((s) => s.tool)).toEqual([
      'check_system_resources',
      'clean_disk_space',
    ]);
    expect(runbookFor(file, 'SomethingNew').name).toBe('default');
  });

  it('every state-changing step passes the executor policy argument schema', async () => {
    const file = await loadRunbooks('config/runbooks.yaml');
    const policy = shippedPolicy();
    const vars = templateVars(incident);
    for (const runbook of [...Object.values(file.runbooks), file.default]) {
      for (const step of runbook.steps) {
        const args = TOOL_SCHEMAS[step.tool as ToolName].parse(renderArgs(step.args, vars)) as Record<
          string,
          unknown
        >;
        const [tool, toolArgs] =
          step.tool === 'request_human_confirmation' && typeof args.tool === 'string'
            ? [args.tool, args.args]
            : [step.tool, args];
        if (DIAGNOSTIC_TOOLS.has(tool as ToolName) || tool === 'request_human_confirmation') continue;
        const spec = policy.tool(tool);
        expect(spec?.tier, tool).toMatch(/safe|confirm/);
        const checked = spec?.argsSchema.safeParse(toolArgs);
        expect(checked?.success, `${tool}: ${checked?.error?.message}`).toBe(true);
      }
    }
  });

  it('renders {{vars}} inside nested arguments', () => {
    const rendered = renderArgs(
      { host: '{{host}}', list: ['{{service}}', 7], nested: { t: '{{labels.team}}/{{missing}}' } },
      templateVars(incident),
    );
    expect(rendered).toEqual({ host: 'api-server-03', list: ['api-gateway', 7], nested: { t: 'core/' } });
  });

  it("takes {{service}} from what the incident's target acts on, and leaves out arguments that render empty", () => {
    const container = {
      ...incident,
      instance: '',
      service: 'cadvisor',
      labels: { job: 'cadvisor', container: 'crashy' },
    } as unknown as IncidentSummary;
    expect(templateVars(container).service).toBe('cadvisor');
    const vars = templateVars(container, 'crashy');
    const step = {
      tool: 'get_service_logs' as const,
      args: { service: '{{service}}', host: '{{host}}', lines: 100 },
    };
    expect(stepArgs(step, vars)).toEqual({ args: { service: 'crashy', lines: 100 } });
    expect(stepArgs({ tool: 'check_system_resources', args: { host: '{{host}}' } }, vars)).toEqual({
      skip: 'it needs a host and the incident names none (no instance label)',
    });
  });

  it('rejects a malformed file naming the file, line and problem, and the tools it knows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hermes-rb-'));
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'runbooks:\n  X:\n    steps: []\n');
    await expect(loadRunbooks(path)).rejects.toThrow(
      `invalid runbooks (RUNBOOKS_FILE): ${path}:3:12: runbooks.X.steps: Too small`,
    );
    writeFileSync(
      path,
      'runbooks:\n  X:\n    steps:\n      - tool: restart_servic\ndefault:\n  steps: [{ tool: get_metrics }]\n',
    );
    await expect(loadRunbooks(path)).rejects.toThrow(
      new RegExp(
        `^invalid runbooks \\(RUNBOOKS_FILE\\): ${path}:4:15: runbooks\\.X\\.steps\\.0\\.tool: Invalid option: expected one of .*"restart_service"`,
      ),
    );
    writeFileSync(path, 'runbooks: {}\ndefault:\n  steps: [{ tool: get_metrics }]\n  step: oops\n');
    await expect(loadRunbooks(path)).rejects.toThrow(`${path}:3:3: default: Unrecognized key: "step"`);
  });
});

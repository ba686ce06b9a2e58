import { basename } from 'node:path';
import { excerpt } from '../../shared/remote/excerpt.js';
import { type Backend, refusedBy } from '../../shared/targets/drivers/driver.js';
import { renderArgv, runCommand, TemplateError } from './command.js';
import { checkCleanPaths, cleanOldFiles } from './disk.js';
import type { BackendConfig, PolicyFile } from './policy.js';

/** The contract every backend keeps, local or a driver's (bench, tests and the eval name it from here). */
export type { Backend } from '../../shared/targets/drivers/driver.js';

/** The policy's backend of a tool on the executor's own machine: what the local driver runs. */
export function createBackend(config: BackendConfig, policy: PolicyFile): Backend {
  switch (config.kind) {
    case 'command':
      return commandBackend(config.argv, {
        timeoutMs: (config.timeoutSeconds ?? policy.command.timeoutSeconds) * 1000,
        maxOutputBytes: policy.command.maxOutputBytes,
      });
    case 'disk':
      return diskBackend(config.roots);
  }
}

function commandBackend(template: string[], options: { timeoutMs: number; maxOutputBytes: number }): Backend {
  const render = (args: Record<string, unknown>) => renderArgv(template, args);
  return {
    precheck: refusedBy(TemplateError, render),
    async describe(args) {
      return { argv: render(args) };
    },
    async run(args) {
      const argv = render(args);
      const outcome = await runCommand(argv, options);
      const result = { argv, ...outcome };
      if (outcome.spawnError) return { ok: false, decision: 'failed', reason: outcome.spawnError, result };
      if (outcome.timedOut)
        return {
          ok: false,
          decision: 'unknown_outcome',
          reason: `timed out after ${options.timeoutMs} ms and was killed; it may have partly run`,
          result,
        };
      if (outcome.exitCode !== 0)
        return {
          ok: false,
          decision: 'failed',
          reason: `${basename(argv[0] ?? '')} exited with ${outcome.exitCode ?? outcome.signal}: ${
            excerpt(outcome.stderr || outcome.stdout) || 'no output'
          }`,
          result,
        };
      return { ok: true, result };
    },
  };
}

function diskBackend(roots: string[]): Backend {
  const paths = (args: Record<string, unknown>) => args.paths as string[];
  return {
    async precheck(args) {
      const check = await checkCleanPaths(paths(args), roots);
      return check.ok ? null : check.reason;
    },
    async describe(args) {
      const check = await checkCleanPaths(paths(args), roots);
      return { clean: check.ok ? check.paths : [], minAgeDays: args.min_age_days };
    },
    async run(args) {
      // Re-checked at run time: the tree may have changed since the precheck.
      const check = await checkCleanPaths(paths(args), roots);
      if (!check.ok) return { ok: false, decision: 'failed', reason: check.reason };
      const report = await cleanOldFiles(check.paths, args.min_age_days as number, roots);
      return { ok: true, result: report };
    },
  };
}

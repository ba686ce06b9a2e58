import { execFile } from 'node:child_process';
import { z } from 'zod';
import { loadYamlConfig } from '../../../shared/yaml-config.js';

const allowlistSchema = z.object({
  commands: z.record(
    z.string().regex(/^[a-z0-9_-]{1,50}$/, 'command names are [a-z0-9_-]'),
    z.array(z.string().min(1)).min(1),
  ),
});
export type DiagnosisAllowlist = Map<string, string[]>;

export async function loadAllowlist(path: string): Promise<DiagnosisAllowlist> {
  const allowlist = loadYamlConfig(path, allowlistSchema, 'diagnosis allowlist (DIAGNOSIS_ALLOWLIST_FILE)');
  return new Map(Object.entries(allowlist.commands));
}

/** Runs an allowlisted command by name, with a fixed argv (never a shell). */
export async function runDiagnosis(
  allowlist: DiagnosisAllowlist,
  command: string,
  timeoutMs: number,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const argv = allowlist.get(command.trim());
  if (!argv) {
    throw new Error(`command "${command}" is not allowlisted; allowed: ${[...allowlist.keys()].join(', ')}`);
  }
  const [file, ...args] = argv as [string, ...string[]];
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({
        exitCode: code,
        stdout: String(stdout),
        stderr: error && !stderr ? error.message : String(stderr),
      });
    });
  });
}

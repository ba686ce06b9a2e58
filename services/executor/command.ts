import { execFile } from 'node:child_process';
import { HermesError } from '../../shared/errors.js';
import { SAFE_ARG_PATTERN } from './args.js';

export class TemplateError extends HermesError {}

/** Fills `{arg}` placeholders; every substituted value must match the strict argv pattern. */
export function renderArgv(template: readonly string[], args: Record<string, unknown>): string[] {
  return template.map((part) =>
    part.replace(/\{([^}]*)\}/g, (_, name: string) => {
      const value = args[name];
      if (value === undefined || value === null) throw new TemplateError(`argument ${name} is missing`);
      const text = String(value);
      if (!SAFE_ARG_PATTERN.test(text))
        throw new TemplateError(`argument ${name} is not safe for a command line`);
      return text;
    }),
  );
}

export interface CommandResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Set when the program could not be started at all (nothing ran). */
  spawnError?: string;
}

const NOT_STARTED = new Set(['ENOENT', 'EACCES', 'ENOTDIR', 'EPERM']);
const MAX_BUFFER = 16 * 1024 * 1024;

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…[truncated ${text.length - max} chars]` : text;
}

/** Runs argv with execFile: no shell, a timeout, output captured and truncated. */
export function runCommand(
  argv: readonly string[],
  options: { timeoutMs: number; maxOutputBytes: number },
): Promise<CommandResult> {
  const [file, ...rest] = argv;
  if (!file) throw new TemplateError('empty argv');
  return new Promise((resolvePromise) => {
    execFile(
      file,
      rest,
      {
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: MAX_BUFFER,
        shell: false,
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        const failure = error as (NodeJS.ErrnoException & { killed?: boolean; signal?: string }) | null;
        const code = failure?.code;
        resolvePromise({
          exitCode: failure ? (typeof code === 'number' ? code : null) : 0,
          signal: failure?.signal ?? null,
          stdout: truncate(String(stdout), options.maxOutputBytes),
          stderr: truncate(String(stderr), options.maxOutputBytes),
          timedOut: Boolean(failure?.killed) && failure?.signal === 'SIGKILL',
          ...(typeof code === 'string' && NOT_STARTED.has(code)
            ? { spawnError: `${code}: ${failure?.message}` }
            : {}),
        });
      },
    );
  });
}

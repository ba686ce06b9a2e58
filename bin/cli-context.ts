import { parseArgs } from 'node:util';
import { HermesError } from '../shared/errors.js';
import { printable, printableJson } from './printable.js';

export class CliError extends HermesError {}

/** The command line: a command, its argument, and the options every command may read. */
export function parseCommandLine() {
  return parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string', default: process.env.HERMES_URL ?? 'http://127.0.0.1:8080' },
      json: { type: 'boolean', default: false },
      status: { type: 'string' },
      limit: { type: 'string' },
      by: { type: 'string' },
      name: { type: 'string' },
      comment: { type: 'string' },
      reason: { type: 'string' },
      seq: { type: 'string' },
      hash: { type: 'string' },
      witness: { type: 'string', multiple: true },
      'max-entries': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

export type CliOptions = ReturnType<typeof parseCommandLine>['values'];

/** What a command handler is given: its argument, the options, who is asking, and the ingest API. */
export interface Cli {
  options: CliOptions;
  arg: string | undefined;
  /** The positional arguments after `arg` (`hermes release <incident> <region>`). */
  rest: string[];
  /** The name sent as `by`: none when your own token names you. */
  by: string | undefined;
  /** How replies name you when ingest does not say. */
  who: string;
  call(method: string, path: string, body?: unknown, token?: string): Promise<unknown>;
  /** The token the API is called with: yours (HERMES_TOKEN), or the break-glass ADMIN_TOKEN. */
  token: string | undefined;
  /** Prints the JSON with --json, else the human text. */
  output(json: unknown, human: () => string): void;
}

export type CommandHandler = (cli: Cli) => Promise<void>;

export function createCli(options: CliOptions, arg: string | undefined, rest: string[] = []): Cli {
  /** Your own token names you; the break-glass ADMIN_TOKEN (or none) is told who you are. */
  const apiToken = process.env.HERMES_TOKEN || process.env.ADMIN_TOKEN;
  const by = options.by ?? (process.env.HERMES_TOKEN ? undefined : (process.env.USER ?? 'cli'));
  return {
    options,
    arg,
    rest,
    by,
    who: by ?? 'you',
    token: apiToken,
    call: (method, path, body, token = apiToken) => callIngest(options.url, method, path, body, token),
    output: (json, human) => console.log(options.json ? printableJson(json) : printable(human())),
  };
}

async function callIngest(
  url: string,
  method: string,
  path: string,
  body: unknown,
  token: string | undefined,
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new CliError(`cannot reach ${url}: ${(error as Error).message}`);
  }
  const text = await res.text();
  let json: unknown = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    if (res.ok) throw new CliError(`${method} ${path}: ${url} did not answer JSON; is it Hermes ingest?`);
  }
  if (!res.ok) {
    const message = (json as { error?: string }).error ?? text.slice(0, 200);
    throw new CliError(`${method} ${path}: ${res.status} ${message}${hint(res.status, token)}`);
  }
  return json;
}

/** What to do about a refusal: which token, or which id. */
function hint(status: number, token: string | undefined): string {
  if (status !== 401) return '';
  const name =
    token !== undefined && token === process.env.INGEST_TOKEN
      ? 'INGEST_TOKEN'
      : process.env.HERMES_TOKEN
        ? 'HERMES_TOKEN'
        : 'ADMIN_TOKEN';
  return `\n  set ${name} to the value ingest was started with (${
    token ? `the ${name} you set was refused` : `${name} is not set here`
  })`;
}

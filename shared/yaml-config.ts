import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { HermesError } from './errors.js';

/** A configuration file that cannot be used; the message names the file, line, column and problem. */
export class ConfigFileError extends HermesError {}

/** Reads and validates a YAML file; every problem is reported as `file:line:col: field: message`. */
export function loadYamlConfig<T extends z.ZodType>(
  path: string,
  schema: T,
  what: string,
  ErrorClass: new (message: string) => Error = ConfigFileError,
): z.infer<T> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ErrorClass(`${path}: cannot read ${what} file: ${(error as Error).message}`);
  }
  return parseYamlConfig(text, path, schema, what, ErrorClass);
}

export function parseYamlConfig<T extends z.ZodType>(
  text: string,
  path: string,
  schema: T,
  what: string,
  ErrorClass: new (message: string) => Error = ConfigFileError,
): z.infer<T> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = lineCounter.linePos(yamlError.pos[0]);
    throw new ErrorClass(
      `${path}:${pos.line}:${pos.col}: ${what} is not valid YAML: ${yamlError.message.split('\n')[0]}`,
    );
  }
  const result = schema.safeParse(doc.toJS());
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const where = positionOf(doc, lineCounter, issue.path);
      const field = issue.path.join('.') || '(root)';
      return `${path}:${where}: ${field}: ${issue.message}`;
    });
    throw new ErrorClass(`invalid ${what}: ${problems.join('; ')}`);
  }
  return result.data;
}

/** The line:col of the deepest node on `path` that exists in the document. */
function positionOf(
  doc: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
): string {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) {
      const pos = lineCounter.linePos(node.range[0]);
      return `${pos.line}:${pos.col}`;
    }
  }
  return '1:1';
}

import type { ChatCompletionMessage } from 'openai/resources/chat/completions';

export interface ParsedToolCall {
  id: string;
  name: string;
  /** Parsed arguments, or the reason they could not be parsed (sent back to the model). */
  args: { ok: true; value: unknown } | { ok: false; error: string };
}

const HERMES_BLOCK = /<tool_call>\s*([\s\S]*?)\s*<\/tool_call>/g;

/**
 * Tool calls from the `tool_calls` field, or, when it is empty, Hermes-style
 * `<tool_call>{"name": …, "arguments": …}</tool_call>` blocks in the message text.
 */
export function extractToolCalls(message: ChatCompletionMessage, nextId: () => string): ParsedToolCall[] {
  const native = (message.tool_calls ?? []).flatMap((call): ParsedToolCall[] =>
    call.type === 'function'
      ? [{ id: call.id || nextId(), name: call.function.name, args: parseArgs(call.function.arguments) }]
      : [
          {
            id: call.id || nextId(),
            name: call.custom.name,
            args: { ok: false, error: 'custom tools are not supported' },
          },
        ],
  );
  if (native.length > 0) return native;
  const content = typeof message.content === 'string' ? message.content : '';
  return [...content.matchAll(HERMES_BLOCK)].map((match) => parseHermesBlock(match[1] ?? '', nextId()));
}

function parseHermesBlock(body: string, id: string): ParsedToolCall {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return {
      id,
      name: '(unparsed)',
      args: { ok: false, error: `tool call is not valid JSON: ${(error as Error).message}` },
    };
  }
  if (!value || typeof value !== 'object' || typeof (value as { name?: unknown }).name !== 'string') {
    return {
      id,
      name: '(unparsed)',
      args: { ok: false, error: 'tool call needs {"name": string, "arguments": object}' },
    };
  }
  const { name, arguments: args } = value as { name: string; arguments?: unknown };
  return { id, name, args: typeof args === 'string' ? parseArgs(args) : { ok: true, value: args ?? {} } };
}

function parseArgs(raw: string): ParsedToolCall['args'] {
  if (raw.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch (error) {
    return { ok: false, error: `arguments are not valid JSON: ${(error as Error).message}` };
  }
}

/** Message text without the tool-call blocks (what is left is the model's prose). */
export function stripToolCalls(content: string | null): string {
  return (content ?? '').replace(HERMES_BLOCK, '').trim();
}

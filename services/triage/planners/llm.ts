import { randomBytes } from 'node:crypto';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { canonicalJson } from '../../../shared/canonical.js';
import type { RecentHistory } from '../history.js';
import { describeDiagnosis, parseFinalAnswer } from '../llm/diagnosis.js';
import type { ChatModel } from '../llm/model.js';
import { extractToolCalls, stripToolCalls } from '../llm/parse.js';
import { incidentPrompt, SYSTEM_PROMPT } from '../llm/prompt.js';
import type { Toolbox, ToolResult } from '../tools/toolbox.js';
import { type PlanContext, type Planner, type PlanResult, ShutdownError, throwIfAborted } from './types.js';

export interface LlmBudget {
  maxIterations: number;
  maxTokens: number;
  wallClockMs: number;
}

/** The same call (tool + arguments) is run at most this many times per incident. */
const MAX_IDENTICAL_CALLS = 2;
/** After this many refused repeats the model is considered stuck. */
const MAX_REFUSED_REPEATS = 3;

/** The seed's agent loop: the model picks tools until it answers without one. */
export class LlmPlanner implements Planner {
  readonly name = 'llm';

  constructor(
    private readonly model: ChatModel,
    private readonly toolbox: Toolbox,
    private readonly budget: LlmBudget,
    private readonly history: RecentHistory,
  ) {}

  async plan({ incident, signal, halted }: PlanContext): Promise<PlanResult> {
    const deadline = Date.now() + this.budget.wallClockMs;
    const place = await this.toolbox.onlyPlace(incident);
    const messages: ChatCompletionMessageParam[] = [
      { role: 'system', content: SYSTEM_PROMPT },
      {
        role: 'user',
        content: incidentPrompt(
          incident,
          await this.toolbox.scopeDescription(incident),
          place,
          await this.history.forPrompt(incident, place),
        ),
      },
    ];
    const calls: ToolResult[] = [];
    const seen = new Map<string, number>();
    let tokens = 0;
    let refusedRepeats = 0;
    let diagnosed: Pick<PlanResult, 'diagnosis'> = {};
    // The structured root cause is written out too: the summary is what the human reads.
    const summarise = (text: string) =>
      [text, diagnosed.diagnosis ? describeDiagnosis(diagnosed.diagnosis) : ''].filter(Boolean).join('\n');
    const exhausted = (why: string): PlanResult => ({
      kind: 'exhausted',
      summary: summarise(why),
      calls,
      ...diagnosed,
    });
    const stopped = (why: string): PlanResult => ({
      kind: 'stopped',
      summary: summarise(why),
      calls,
      ...diagnosed,
    });

    for (let iteration = 0; iteration < this.budget.maxIterations; iteration++) {
      throwIfAborted(signal);
      const halt = await halted();
      if (halt) return stopped(halt);
      if (tokens >= this.budget.maxTokens)
        return exhausted(`token budget of ${this.budget.maxTokens} used up`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) return exhausted(`wall-clock budget of ${this.budget.wallClockMs} ms used up`);

      const completion = await this.model
        .complete(messages, this.toolbox.definitions(), { timeoutMs: remaining, signal })
        .catch((error: unknown) => {
          if (signal.aborted) throw new ShutdownError();
          throw error;
        });
      tokens += completion.promptTokens + completion.completionTokens;
      const { message } = completion;
      const toolCalls = extractToolCalls(message, () => `call_${randomBytes(6).toString('hex')}`);
      const answer = parseFinalAnswer(stripToolCalls(message.content));
      // A diagnosis given alongside tool calls (before asking a human) stands until a later one.
      if (answer.diagnosis) diagnosed = { diagnosis: answer.diagnosis };
      if (toolCalls.length === 0) {
        return {
          kind: 'finished',
          summary: summarise(answer.prose) || '(no summary)',
          calls,
          ...(diagnosed.diagnosis ? diagnosed : { diagnosisError: answer.diagnosisError }),
        };
      }
      const reasoning = stripToolCalls(message.content);
      if (reasoning) await this.toolbox.noteReasoning(incident, reasoning);
      messages.push({
        role: 'assistant',
        content: message.content ?? null,
        tool_calls: toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: {
            name: call.name,
            arguments: call.args.ok ? JSON.stringify(call.args.value ?? {}) : '{}',
          },
        })),
      });

      for (const call of toolCalls) {
        throwIfAborted(signal);
        const halt = await halted();
        if (halt) return stopped(halt);
        let result: ToolResult;
        if (!call.args.ok) {
          result = await this.toolbox.reject(incident, call.name, undefined, call.args.error);
        } else {
          const key = canonicalJson({ tool: call.name, args: call.args.value ?? null });
          const count = (seen.get(key) ?? 0) + 1;
          seen.set(key, count);
          if (count > MAX_IDENTICAL_CALLS) {
            refusedRepeats++;
            result = await this.toolbox.reject(
              incident,
              call.name,
              call.args.value,
              `identical call already made ${count - 1} times; use its earlier result or change approach`,
            );
          } else {
            result = await this.toolbox.call(incident, call.name, call.args.value);
          }
        }
        calls.push(result);
        messages.push({ role: 'tool', tool_call_id: call.id, content: result.output });
        if (result.outcome?.decision === 'pending_approval') {
          return {
            kind: 'awaiting_approval',
            summary: summarise(
              `waiting for a human to approve ${result.outcome.approvalId ?? 'the proposed action'}`,
            ),
            calls,
            ...diagnosed,
          };
        }
      }
      if (refusedRepeats >= MAX_REFUSED_REPEATS)
        return exhausted('model kept repeating identical tool calls');
    }
    return exhausted(`no conclusion after ${this.budget.maxIterations} iterations`);
  }
}

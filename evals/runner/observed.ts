import type {
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { ChatModel, type Completion } from '../../services/triage/llm/model.js';
import type { PlanContext, Planner, PlanResult } from '../../services/triage/planners/types.js';

/** The real model client, counting what the agent spent: turns answered and tokens. */
export class MeteredModel extends ChatModel {
  turns = 0;
  promptTokens = 0;
  completionTokens = 0;

  override async complete(
    messages: ChatCompletionMessageParam[],
    tools: ChatCompletionFunctionTool[],
    options: { timeoutMs: number; signal?: AbortSignal | undefined },
  ): Promise<Completion> {
    const completion = await super.complete(messages, tools, options);
    this.turns++;
    this.promptTokens += completion.promptTokens;
    this.completionTokens += completion.completionTokens;
    return completion;
  }
}

/** A planner as triage runs it, keeping its result (the final answer and diagnosis) or its failure. */
export class ObservedPlanner implements Planner {
  result: PlanResult | undefined;
  failure: string | undefined;

  constructor(private readonly inner: Planner) {}

  get name(): Planner['name'] {
    return this.inner.name;
  }

  async plan(context: PlanContext): Promise<PlanResult> {
    try {
      this.result = await this.inner.plan(context);
      return this.result;
    } catch (error) {
      this.failure = (error as Error).message;
      throw error;
    }
  }
}

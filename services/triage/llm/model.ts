import OpenAI from 'openai';
import type {
  ChatCompletionFunctionTool,
  ChatCompletionMessage,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { Metrics } from '../../../shared/metrics.js';

export class LlmUnavailableError extends Error {}

export interface ModelSettings {
  baseURL: string;
  apiKey: string;
  model: string;
  requestTimeoutMs: number;
  maxRetries: number;
  probeTimeoutMs: number;
  probeTtlMs: number;
}

export interface Completion {
  message: ChatCompletionMessage;
  promptTokens: number;
  completionTokens: number;
}

/** The OpenAI-compatible endpoint: completions with timeouts and retries, and a cheap reachability probe. */
export class ChatModel {
  private readonly client: OpenAI;
  private probed: { at: number; ok: boolean } | undefined;

  constructor(
    private readonly settings: ModelSettings,
    private readonly metrics?: Metrics,
  ) {
    this.client = new OpenAI({
      baseURL: settings.baseURL,
      apiKey: settings.apiKey,
      timeout: settings.requestTimeoutMs,
      maxRetries: settings.maxRetries,
    });
  }

  get name(): string {
    return this.settings.model;
  }

  async complete(
    messages: ChatCompletionMessageParam[],
    tools: ChatCompletionFunctionTool[],
    options: { timeoutMs: number; signal?: AbortSignal | undefined },
  ): Promise<Completion> {
    let response: OpenAI.Chat.Completions.ChatCompletion;
    // The openai client never removes the abort listener it adds to a signal, so each request gets its
    // own short-lived controller instead of the long-lived shutdown signal.
    const request = new AbortController();
    const forwardAbort = () => request.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', forwardAbort, { once: true });
    if (options.signal?.aborted) forwardAbort();
    try {
      response = await this.client.chat.completions.create(
        { model: this.settings.model, messages, tools, tool_choice: 'auto', temperature: 0.1 },
        { timeout: Math.min(options.timeoutMs, this.settings.requestTimeoutMs), signal: request.signal },
      );
    } catch (error) {
      const timeout = error instanceof OpenAI.APIConnectionTimeoutError;
      this.metrics?.llmRequests.inc({ result: timeout ? 'timeout' : 'error' });
      this.probed = { at: Date.now(), ok: false };
      throw new LlmUnavailableError(`model request failed: ${(error as Error).message}`);
    } finally {
      options.signal?.removeEventListener('abort', forwardAbort);
    }
    const message = response.choices?.[0]?.message;
    if (!message) {
      this.metrics?.llmRequests.inc({ result: 'invalid' });
      throw new LlmUnavailableError('model returned no choices');
    }
    this.metrics?.llmRequests.inc({ result: 'ok' });
    const promptTokens = response.usage?.prompt_tokens ?? 0;
    const completionTokens = response.usage?.completion_tokens ?? 0;
    this.metrics?.llmTokens.inc({ kind: 'prompt' }, promptTokens);
    this.metrics?.llmTokens.inc({ kind: 'completion' }, completionTokens);
    return { message, promptTokens, completionTokens };
  }

  /** Whether the endpoint answers `GET /models`; cached so a storm does not probe per incident. */
  async reachable(): Promise<boolean> {
    if (this.probed && Date.now() - this.probed.at < this.settings.probeTtlMs) return this.probed.ok;
    let ok = false;
    try {
      await this.client.models.list({ timeout: this.settings.probeTimeoutMs, maxRetries: 0 });
      ok = true;
    } catch {
      ok = false;
    }
    this.probed = { at: Date.now(), ok };
    return ok;
  }
}

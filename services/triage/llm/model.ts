import OpenAI from 'openai';
import type {
  ChatCompletionFunctionTool,
  ChatCompletionMessage,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { HermesError } from '../../../shared/errors.js';
import type { Metrics } from '../../../shared/metrics.js';
import { redactSecret, redactUrlCredentials } from '../../../shared/redact.js';

/** The model cannot answer now (down, slow, rate limited): the runbook planner takes over. */
export class LlmUnavailableError extends HermesError {
  constructor(message: string) {
    super(message, { retryable: true });
  }
}

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
    // Retries are ours (see complete): the client would sleep for whatever Retry-After says,
    // an hour included, deaf to budgets and shutdown.
    this.client = new OpenAI({
      baseURL: settings.baseURL,
      apiKey: settings.apiKey,
      timeout: settings.requestTimeoutMs,
      maxRetries: 0,
    });
  }

  get name(): string {
    return this.settings.model;
  }

  /**
   * One completion within `timeoutMs` in all, retries and their waits included. A retryable answer
   * (429, 5xx, no connection) is retried up to `maxRetries` times, waiting as the server asks
   * (Retry-After) or backing off; a wait that would not fit the time left fails at once, so the
   * caller can fall back to the runbook instead of sleeping.
   */
  async complete(
    messages: ChatCompletionMessageParam[],
    tools: ChatCompletionFunctionTool[],
    options: { timeoutMs: number; signal?: AbortSignal | undefined },
  ): Promise<Completion> {
    const deadline = Date.now() + options.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.completeOnce(messages, tools, {
          timeoutMs: Math.max(1, deadline - Date.now()),
          signal: options.signal,
        });
      } catch (error) {
        const wait = retryWaitMs(error, attempt);
        const left = deadline - Date.now();
        const retryable = wait !== null && attempt < this.settings.maxRetries && !options.signal?.aborted;
        if (!retryable || wait > left) throw this.unavailable(error, retryable ? wait : null);
        await abortableSleep(wait, options.signal);
      }
    }
  }

  private async completeOnce(
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
      throw error;
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

  private unavailable(error: unknown, wantedWaitMs: number | null): LlmUnavailableError {
    if (error instanceof LlmUnavailableError) return error;
    this.probed = { at: Date.now(), ok: false };
    // A gateway may echo the key or a credentialed URL back in its error body.
    const why = redactSecret(redactUrlCredentials((error as Error).message), this.settings.apiKey);
    return new LlmUnavailableError(
      wantedWaitMs === null
        ? `model request failed: ${why}`
        : `model request failed: ${why}; it asked to retry in ${Math.round(wantedWaitMs / 1000)} s, more than the time left`,
    );
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

const MAX_BACKOFF_MS = 8_000;

/** How long to wait before retrying, or null when the failure is not worth retrying. */
export function retryWaitMs(error: unknown, attempt: number): number | null {
  if (error instanceof OpenAI.APIConnectionError) return backoff(attempt);
  if (!(error instanceof OpenAI.APIError)) return null;
  const status = error.status ?? 0;
  if (status !== 408 && status !== 409 && status !== 429 && status < 500) return null;
  const headers = error.headers;
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms >= 0 && headers?.get('retry-after-ms') !== null) return ms;
  const after = headers?.get('retry-after');
  if (after) {
    const seconds = Number(after);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(after);
    if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  }
  return backoff(attempt);
}

function backoff(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt) * (0.75 + Math.random() * 0.25);
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

import { HermesError } from '../../shared/errors.js';
/**
 * Why a delivery did not happen, which decides what the worker does next:
 * `transient` retries with backoff, `rate_limited` pauses the queue for `retryAfterMs`,
 * `permanent` fails at once (the channel rejected the message; retrying cannot help).
 */
export type DeliveryErrorKind = 'transient' | 'rate_limited' | 'permanent';

export class DeliveryError extends HermesError {
  constructor(
    readonly kind: DeliveryErrorKind,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message, { retryable: kind !== 'permanent' });
  }
}

export interface RetryAfterPolicy {
  defaultMs: number;
  maxMs: number;
}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(header: string | null, policy: RetryAfterPolicy, now = Date.now()): number {
  let ms = Number.NaN;
  if (header && /^\s*\d+\s*$/.test(header)) ms = Number(header) * 1000;
  else if (header) ms = Date.parse(header) - now;
  if (!Number.isFinite(ms) || ms < 0) ms = policy.defaultMs;
  return Math.min(ms, policy.maxMs);
}

export interface HttpReply {
  status: number;
  retryAfter: string | null;
  text: string;
}

/** POSTs JSON; network failures and timeouts are transient. */
export async function postJson(
  url: string,
  body: unknown,
  options: { headers?: Record<string, string>; timeoutMs: number; channel: string },
): Promise<HttpReply> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...options.headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      text: await response.text(),
    };
  } catch (error) {
    throw new DeliveryError('transient', `${options.channel}: request failed: ${(error as Error).message}`);
  }
}

/** The error for a non-success HTTP answer: 429 pauses, other 4xx are permanent, the rest retry. */
export function httpError(
  channel: string,
  reply: HttpReply,
  detail: string,
  policy: RetryAfterPolicy,
): DeliveryError {
  const message = `${channel}: HTTP ${reply.status}: ${detail.slice(0, 500)}`;
  if (reply.status === 429)
    return new DeliveryError('rate_limited', message, parseRetryAfter(reply.retryAfter, policy));
  if (reply.status >= 400 && reply.status < 500) return new DeliveryError('permanent', message);
  return new DeliveryError('transient', message);
}

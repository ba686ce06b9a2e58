import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FakeOpenAI, httpError, startFakeOpenAI, text } from '../../../test/support/fake-openai.js';
import { ChatModel, LlmUnavailableError } from '../llm/model.js';

let model: FakeOpenAI;
beforeAll(async () => {
  model = await startFakeOpenAI(() => text('ok'));
});
afterAll(async () => {
  await model.close();
});

it('leaves no abort listener behind on the long-lived shutdown signal, request after request', async () => {
  const chat = new ChatModel({
    baseURL: model.url,
    apiKey: 'test',
    model: 'fake',
    requestTimeoutMs: 5_000,
    maxRetries: 0,
    probeTimeoutMs: 1_000,
    probeTtlMs: 0,
  });
  const shutdown = new AbortController();
  for (let i = 0; i < 15; i++) {
    const completion = await chat.complete([{ role: 'user', content: `hello ${i}` }], [], {
      timeoutMs: 5_000,
      signal: shutdown.signal,
    });
    expect(completion.message.content).toBe('ok');
  }
  expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  expect(model.requests).toHaveLength(15);
});

it('keeps the API key out of the error when the gateway echoes it back', async () => {
  const key = 'sk-hermes-test-0123456789abcdef';
  const gateway = await startFakeOpenAI(() => httpError(401, `Incorrect API key provided: ${key}`));
  try {
    const chat = new ChatModel({
      baseURL: gateway.url,
      apiKey: key,
      model: 'fake',
      requestTimeoutMs: 5_000,
      maxRetries: 0,
      probeTimeoutMs: 1_000,
      probeTtlMs: 0,
    });
    const error = await chat
      .complete([{ role: 'user', content: 'hi' }], [], { timeoutMs: 5_000 })
      .catch((e) => e);
    expect(error).toBeInstanceOf(LlmUnavailableError);
    expect(error.message).toContain('Incorrect API key provided: [redacted]');
    expect(error.message).not.toContain(key);
  } finally {
    await gateway.close();
  }
});

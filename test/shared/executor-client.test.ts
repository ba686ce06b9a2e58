import { Worker } from 'bullmq';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ExecutorClient } from '../../shared/executor-client.js';
import { createQueue, createQueueEvents, QUEUE } from '../../shared/queues.js';
import { openTestRedis, type TestRedis } from '../support/redis.js';

let t: TestRedis;
let closers: (() => unknown)[];
beforeEach(async () => {
  t = await openTestRedis();
  closers = [];
});
afterEach(async () => {
  for (const close of closers.reverse()) await close();
  await t.close();
});

/** A client on the actions queue; `answer` (if given) stands in for the executor. */
async function client(answer?: (data: { n: number }) => unknown): Promise<ExecutorClient> {
  const queue = createQueue(QUEUE.actions, t.redis, t.keys.bullPrefix);
  const connection = t.redis.duplicate();
  const events = createQueueEvents(QUEUE.actions, connection, t.keys.bullPrefix);
  await events.waitUntilReady();
  closers.push(
    () => queue.close(),
    () => events.close(),
    () => connection.disconnect(),
  );
  if (answer) {
    const worker = new Worker(QUEUE.actions, async (job) => answer(job.data), {
      connection: t.redis.duplicate({ maxRetriesPerRequest: null }),
      prefix: t.keys.bullPrefix,
    });
    closers.push(() => worker.close());
  }
  return new ExecutorClient(queue, events);
}

it("hears the executor's answer to the job it added", async () => {
  const executor = await client((data) => ({ doubled: data.n * 2 }));
  expect(await executor.ask('double', { n: 21 }, { jobId: 'ask-1', timeoutMs: 10_000 })).toEqual({
    done: true,
    value: { doubled: 42 },
  });
});

it('says no answer came when no executor takes the job in time', async () => {
  const executor = await client();
  const answer = await executor.ask('double', { n: 1 }, { jobId: 'ask-2', timeoutMs: 200 });
  expect(answer).toMatchObject({ done: false, timedOut: true });
});

it('says no answer came, and why, when the executor fails the job', async () => {
  const executor = await client(() => {
    throw new Error('executor refused');
  });
  const answer = await executor.ask('double', { n: 1 }, { jobId: 'ask-3', timeoutMs: 10_000 });
  expect(answer).toEqual({ done: false, timedOut: false, error: 'executor refused' });
});

import { describe, expect, it } from 'vitest';
import { DeliveryError } from '../../services/notifier/delivery-error.js';
import { untilStored } from '../../shared/durably.js';
import { HermesError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { redisFailure, StorageChangedError } from '../../shared/redis-errors.js';
import { SshError } from '../../shared/remote/ssh.js';

const logger = createLogger('test', 'silent');

describe('errors', () => {
  it('are named by their class, keep their cause and say whether a retry may work', () => {
    const cause = new Error('socket hang up');
    const error = new HermesError('lost', { cause, retryable: true });
    expect(error).toBeInstanceOf(Error);
    expect([error.name, error.cause, error.retryable]).toEqual(['HermesError', cause, true]);
    expect(new StorageChangedError('flushed')).toMatchObject({
      name: 'StorageChangedError',
      retryable: true,
    });
    expect(new DeliveryError('permanent', 'channel_not_found')).toMatchObject({
      name: 'DeliveryError',
      retryable: false,
    });
    expect(new DeliveryError('rate_limited', '429').retryable).toBe(true);
    expect(new SshError('connection refused', 'connect').retryable).toBe(true);
    expect(new SshError('host key changed', 'host_key').retryable).toBe(false);
  });

  it('classify a Redis failure once: away, full, or not Redis being unavailable', () => {
    const cases: [unknown, ReturnType<typeof redisFailure>][] = [
      [new Error('Connection is closed.'), 'unavailable'],
      [new Error("Stream isn't writeable and enableOfflineQueue options is false"), 'unavailable'],
      [new Error('connect ECONNREFUSED 127.0.0.1:6379'), 'unavailable'],
      [new Error('Reached the max retries per request limit (which is 20).'), 'unavailable'],
      [new Error('LOADING Redis is loading the dataset in memory'), 'unavailable'],
      [new Error('CLUSTERDOWN The cluster is down'), 'unavailable'],
      [new StorageChangedError('Redis was flushed'), 'unavailable'],
      [new Error("OOM command not allowed when used memory > 'maxmemory'."), 'full'],
      [new Error('NOPERM this user has no permissions to access one of the keys'), null],
      [new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), null],
      [new Error('ERR Error running script: a LOADING word inside a message'), null],
      ['not even an error', null],
    ];
    for (const [error, failure] of cases) expect(redisFailure(error), String(error)).toBe(failure);
  });

  it('untilStored waits out a Redis that is away, and gives up at once on a refusal', async () => {
    let attempts = 0;
    const stored = await untilStored(
      async () => {
        attempts++;
        if (attempts < 3) throw new Error('Connection is closed.');
        return 'stored';
      },
      'a record',
      logger,
    );
    expect([stored, attempts]).toEqual(['stored', 3]);

    let refused = 0;
    await expect(
      untilStored(
        async () => {
          refused++;
          throw new Error('NOPERM this user has no permissions');
        },
        'a record',
        logger,
      ),
    ).rejects.toThrow('NOPERM');
    expect(refused).toBe(1);
  });
});

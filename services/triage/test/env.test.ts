import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../../shared/env.js';
import { triageEnvSchema } from '../env.js';

describe('configuration errors', () => {
  it('name the variable but never print the passwords in its URL', () => {
    let message = '';
    try {
      parseEnv(triageEnvSchema, {
        REDIS_URL: 'redis://admin:redis-pass-1@redis host:6379',
        PROMETHEUS_URL: 'http://scraper:prom-pass-2@prometheus:not-a-port',
        HERMES_BASE_URL: 'https://bot:model-pass-3@[gateway/v1',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/REDIS_URL/);
    expect(message).toMatch(/PROMETHEUS_URL/);
    expect(message).toMatch(/HERMES_BASE_URL/);
    for (const secret of ['redis-pass-1', 'prom-pass-2', 'model-pass-3'])
      expect(message).not.toContain(secret);
    expect(message).toContain('redis://admin:[redacted]@');
  });
});

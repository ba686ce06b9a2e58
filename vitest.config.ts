import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Each service's own tests live beside it (services/<name>/test); test/ holds the rest.
    include: ['test/**/*.test.ts', 'services/*/test/**/*.test.ts'],
    globalSetup: ['test/support/global-redis.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});

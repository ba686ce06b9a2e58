import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain `N passed, N failed, N skipped` line that any CI can read. A file that
 * failed outside its tests (a hook, an import) counts its tests that did not run as failed, never as
 * skipped: a broken `beforeAll` must not read as a green run.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>) {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      const counts = { passed: 0, failed: 0, skipped: 0 };
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') counts.failed++;
        else counts.skipped++;
      }
      if (module.state() === 'failed' && counts.failed === 0) {
        counts.failed = Math.max(1, counts.skipped);
        counts.skipped = 0;
      }
      passed += counts.passed;
      failed += counts.failed;
      skipped += counts.skipped;
    }
    process.stdout.write(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

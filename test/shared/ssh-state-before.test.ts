import { describe, expect, it } from 'vitest';
import { parseStateBefore } from '../../shared/targets/drivers/ssh/state-before.js';

describe("the ssh helper's state before a restart", () => {
  it('reads systemd words: an OOM-killed unit in its restart loop', () => {
    const stdout = [
      'before: ActiveState=activating',
      'before: SubState=auto-restart',
      'before: Result=oom-kill',
      'before: NRestarts=10',
      'before: ExecMainStatus=9',
      'before-error: Dec 07 09:00:01 web kernel: Out of memory: Killed process 42 (app)',
      'restarted app.service',
    ].join('\n');
    expect(parseStateBefore(stdout)).toEqual({
      status: 'activating (auto-restart)',
      restartCount: 10,
      exitCode: 9,
      oomKilled: true,
      errorLines: ['Dec 07 09:00:01 web kernel: Out of memory: Killed process 42 (app)'],
    });
  });

  it('leaves out what the host does not report, and is absent for an older helper', () => {
    expect(parseStateBefore('before: ActiveState=failed\nbefore: NRestarts=\nrestarted app\n')).toEqual({
      status: 'failed',
      restartCount: null,
      exitCode: null,
      oomKilled: null,
      errorLines: [],
    });
    expect(parseStateBefore('restarted app\n')).toBeUndefined();
  });
});

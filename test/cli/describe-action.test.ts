import { expect, it } from 'vitest';
import { describeAction, describeTimeline } from '../../bin/describe.js';

const action = (decision: 'held' | 'blocked', reason: string) => ({
  id: 'act_1',
  tool: 'restart_service',
  args: { service: 'api-gateway' },
  requestedBy: 'agent',
  at: '2026-12-07T11:58:44.000Z',
  decision,
  reason,
});

it('says a decision once when its reason already starts with it', () => {
  expect(describeAction(action('held', 'held: part of fleet incident inc_1 (…)'))).toBe(
    '11:58:44  restart_service service=api-gateway → held: part of fleet incident inc_1 (…)',
  );
  expect(describeAction(action('blocked', 'the incident is resolved'))).toBe(
    '11:58:44  restart_service service=api-gateway → blocked: the incident is resolved',
  );
  const [, line] = describeTimeline([
    {
      at: '2026-12-07T11:58:44.000Z',
      type: 'action',
      by: 'executor',
      tool: 'restart_service',
      decision: 'held',
      reason: 'held: 1 change to api-gateway in eu-west already in flight',
    },
  ]);
  expect(line).toMatch(/restart_service → held: 1 change to api-gateway in eu-west already in flight$/);
});

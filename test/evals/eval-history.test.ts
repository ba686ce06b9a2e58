import { expect, it } from 'vitest';
import { runWorld } from '../../evals/runner/run-world.js';
import { loadWorlds } from '../../evals/runner/world.js';
import { loadRunbooks } from '../../services/triage/planners/runbooks.js';
import { loadAllowlist } from '../../services/triage/tools/diagnosis.js';
import { testRedisUrl } from '../support/redis.js';

/** A world's recorded history reaches the planners the way real outcomes do. */
it('the runbook planner reads a world history: the pool restart that was ineffective there is not requested', async () => {
  const [world] = loadWorlds(['evals/worlds']).filter((w) => w.id === 'recurrence-pool-restart-ineffective');
  if (!world) throw new Error('world recurrence-pool-restart-ineffective is missing');
  const settings = {
    redisUrl: testRedisUrl(),
    planner: 'runbook' as const,
    policyFile: 'config/policy.yaml',
    runbooks: await loadRunbooks('config/runbooks.yaml'),
    allowlist: await loadAllowlist('config/diagnosis-allowlist.yaml'),
    triageEnv: { HERMES_BASE_URL: 'http://127.0.0.1:9/v1', VERIFY_WINDOW_SECONDS: '1' },
  };
  const tools = async (history: typeof world.history) =>
    (await runWorld({ ...world, history }, settings)).requests.map((request) => request.tool);
  expect(await tools([])).toContain('restart_db_pool');
  const told = await tools(world.history);
  expect(told).not.toContain('restart_db_pool');
  expect(told).toContain('get_service_logs');
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { IngestHandle } from '../../services/ingest/service.js';
import { startTestIngest } from '../../services/ingest/test/harness.js';
import { approvedRestart, REPEATABLE } from '../support/approved-fixes.js';
import { type ExecutorHarness, startExecutorHarness } from '../support/executor-harness.js';
import { LOCAL_TARGETS } from '../support/targets.js';

const TOKEN = 'console-proposals-token';
let h: ExecutorHarness;
let ingest: IngestHandle;

beforeAll(async () => {
  h = await startExecutorHarness({ breakerThreshold: 100, restartsPerHour: 50, policyExtra: REPEATABLE });
  ingest = await startTestIngest(h.t, {
    ADMIN_TOKEN: TOKEN,
    TARGETS_FILE: LOCAL_TARGETS,
    POLICY_FILE: join(h.dir, 'policy.yaml'),
  });
});
afterAll(async () => {
  await ingest.close();
  await h.close();
});

async function overview(): Promise<string> {
  const res = await fetch(`${ingest.url}/ui/login`, {
    method: 'POST',
    body: new URLSearchParams({ name: 'olga', token: TOKEN }),
    redirect: 'manual',
  });
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string;
  return (await fetch(`${ingest.url}/ui`, { headers: { cookie } })).text();
}

it('the overview shows policy proposals: evidence, the diff in a <pre>, escaped, and that only a human applies it', async () => {
  const policy = readFileSync(join(h.dir, 'policy.yaml'));
  const empty = await overview();
  expect(empty).toContain('<h2 id="proposals-title">Policy proposals</h2>');
  expect(empty).toContain('No proposals.');

  // An alert's name is data: escaped on the page.
  const alertname = '<b>Down</b>';
  const incidents: string[] = [];
  for (const approver of ['alice', 'bob', 'alice', 'bob', 'alice'])
    incidents.push(await approvedRestart(h, { service: 'api', approver, effective: true, alertname }));

  const page = await overview();
  expect(page).toContain('apply by editing policy.yaml; Hermes never changes its own policy');
  expect(page).toMatch(
    /Preapprove <strong>restart_service<\/strong> for &lt;b&gt;Down&lt;\/b&gt; on <code>api<\/code>: approved 5 times by alice, bob, all verified fixed, median \d+ s/,
  );
  for (const id of incidents) expect(page).toContain(`href="/ui/incidents/${id}"`);
  const diff = /<pre class="policy-diff">([\s\S]*?)<\/pre>/.exec(page)?.[1];
  expect(diff).toContain('+  # proposed by Hermes: 5 approved restart_service runs, all verified fixed');
  expect(diff).toContain('alertname: &quot;&lt;b&gt;Down&lt;/b&gt;&quot;');
  expect(page).not.toContain('<b>Down</b>');
  expect(readFileSync(join(h.dir, 'policy.yaml')).equals(policy)).toBe(true);
});

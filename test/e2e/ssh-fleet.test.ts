import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncidentStore } from '../../shared/incidents.js';
import type { Incident } from '../../shared/schemas/incident.js';
import { eventually } from '../support/redis.js';
import type { SshTestHost } from '../support/ssh-hosts.js';
import { DEMO_SERVICE, demoUp, type SshStack, startSshStack } from './ssh-stack.js';
import type { DemoService } from './stack.js';

let s: SshStack;

/** Two real SSH hosts; only host 2 has a target. Host 1's demo never starts. */
beforeAll(async () => {
  s = await startSshStack({ hosts: 2, targeted: [1] });
  await (s.demos[1] as DemoService).start();
}, 120_000);

afterAll(async () => {
  await s?.stop();
});

describe('end to end over SSH: real Prometheus, Alertmanager and sshd hosts', () => {
  it('host 2 crashes → alert → restarted on host 2 over SSH → its own series recovers → resolved; host 1 stays down, breaker closed', async () => {
    const [demo1, demo2] = s.demos as [DemoService, DemoService];
    const [host1, host2] = s.fleet.hosts as [SshTestHost, SshTestHost];
    const store = new IncidentStore(s.t.redis, s.t.keys);
    await eventually(
      async () => (await demoUp(s.stack, demo2)) === '1' && (await demoUp(s.stack, demo1)) === '0',
      'Prometheus to see host 2 up and host 1 down',
      30_000,
    );
    const findIncident = async (instance: string) =>
      (await store.list({ limit: 20 })).incidents.find((i) => i.instance === instance);
    // Host 1 is down and has no target: its incident escalates, nothing runs there.
    const host1Incident = await eventually(
      async () => {
        const found = await findIncident(demo1.target);
        return found && found.status === 'escalated' ? found : null;
      },
      'host 1 incident to escalate',
      60_000,
    );

    const oldPid = demo2.pid();
    const crashedAt = Date.now();
    demo2.crash();
    const opened = await eventually(() => findIncident(demo2.target), 'host 2 incident', 60_000);
    const restarted = await eventually(
      async () =>
        (await store.get(opened.id))?.actions.find(
          (a) => a.tool === 'restart_service' && a.decision === 'executed',
        ),
      'the restart on host 2',
      60_000,
    );
    const resolved: Incident = await eventually(
      async () => {
        const incident = await store.get(opened.id);
        // Alertmanager's resolve may close it before triage's verdict lands: wait for both.
        const verified = incident?.timeline.some((e) => e.type === 'summary' && e.verified !== undefined);
        return incident?.status === 'resolved' && verified ? incident : null;
      },
      'host 2 incident resolved and verified',
      90_000,
    );
    console.log(
      `[e2e ssh] crash→incident ${Date.parse(opened.createdAt) - crashedAt} ms, crash→restart ${
        Date.parse(restarted.at) - crashedAt
      } ms, crash→resolved ${Date.parse(resolved.updatedAt) - crashedAt} ms`,
    );

    expect(restarted.reason).toBe(`ran: restart ${DEMO_SERVICE} on ${host2.address} via ssh`);
    expect(demo2.pid()).not.toBe(oldPid);
    expect(await demoUp(s.stack, demo2)).toBe('1');
    // Verified on host 2's own series while host 1's series of the same rule still matches.
    const verdict = resolved.timeline.find((e) => e.type === 'summary' && e.verified === true);
    expect(verdict?.message).toMatch(
      /no longer matches this alert's series \(1 other series of the rule still match/,
    );
    expect(await demoUp(s.stack, demo1)).toBe('0');
    expect((await store.get(host1Incident.id))?.actions.filter((a) => a.decision === 'executed')).toEqual([]);
    // Hermes logged in to host 2 (triage's logs, the executor's restart) and never to host 1.
    const logins = (host: { dir: string }) =>
      readFileSync(join(host.dir, 'sshd.log'), 'utf8').match(/Accepted publickey/g)?.length ?? 0;
    expect(logins(host2)).toBeGreaterThanOrEqual(2);
    expect(logins(host1)).toBe(0);
    // The breaker stayed closed: no failure or ineffective fix was counted.
    expect(await s.t.redis.zcard(s.t.keys.exec('breaker:failures'))).toBe(0);
    expect(await s.t.redis.hget(s.t.keys.exec('breaker'), 'state')).not.toBe('open');
  }, 120_000);
});

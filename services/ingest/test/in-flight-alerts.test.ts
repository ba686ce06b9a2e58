import { expect, it } from 'vitest';
import { toAlert } from '../../../test/support/incidents.js';
import { InFlightAlerts } from '../in-flight-alerts.js';

const firing = (fingerprint: string, startsAt = 't0') =>
  toAlert({ alertname: 'ServiceDown', fingerprint, startsAt });
const resolved = (fingerprint: string) => ({ ...firing(fingerprint), status: 'resolved' as const });

it('lets a re-send wait for the request recording the same alert, and hands it that incident', async () => {
  const inFlight = new InFlightAlerts();
  const recording = inFlight.begin([firing('a'), firing('b')]);
  const joinedA = inFlight.join(firing('a'));
  expect(joinedA).toBeDefined();
  expect(inFlight.join(firing('a', 't1'))).toBeUndefined();
  expect(inFlight.join(resolved('a'))).toBeUndefined();
  expect(inFlight.join(firing('c'))).toBeUndefined();
  recording.settle(['inc_1', 'inc_2']);
  expect(await joinedA).toBe('inc_1');
  // Settled alerts are no longer in flight.
  expect(inFlight.join(firing('a'))).toBeUndefined();
});

it('lets a resolution join only a resolution, and a firing re-send join either', async () => {
  const inFlight = new InFlightAlerts();
  const recording = inFlight.begin([resolved('a')]);
  const joinedResolved = inFlight.join(resolved('a'));
  const joinedFiring = inFlight.join(firing('a'));
  recording.settle(['inc_1']);
  expect(await joinedResolved).toBe('inc_1');
  expect(await joinedFiring).toBe('inc_1');
});

it("fails the waiting request with the recording's error; with no one waiting, nothing is left unhandled", async () => {
  const inFlight = new InFlightAlerts();
  const recording = inFlight.begin([firing('a'), firing('b')]);
  const joined = inFlight.join(firing('a'));
  recording.fail(new Error('Connection is closed.'));
  await expect(joined).rejects.toThrow('Connection is closed.');
  expect(inFlight.join(firing('a'))).toBeUndefined();
});

it('keeps a newer recording of the same fingerprint when an older one settles', async () => {
  const inFlight = new InFlightAlerts();
  const older = inFlight.begin([firing('a', 't0')]);
  const newer = inFlight.begin([firing('a', 't1')]);
  older.settle(['inc_old']);
  const joined = inFlight.join(firing('a', 't1'));
  expect(joined).toBeDefined();
  newer.settle(['inc_new']);
  expect(await joined).toBe('inc_new');
});

import type { Queue } from 'bullmq';
import type { Current } from '../../../shared/config-reload.js';
import type { Widespread } from '../../../shared/fleet.js';
import { randomId } from '../../../shared/ids.js';
import { type Keyspace, scriptKeyLayout } from '../../../shared/keys.js';
import { loadLua } from '../../../shared/lua.js';
import { FLEET_OPENED_NOTICE, resolvedEventId, resolvedNotice } from '../../../shared/notices.js';
import type { NotificationOutbox } from '../../../shared/outbox.js';
import type { RedisConnection } from '../../../shared/redis.js';
import type { FleetClosedJob } from '../../../shared/schemas/jobs.js';
import type { Targets } from '../../../shared/targets/targets.js';
import type { KnownTargets } from './known-targets.js';

const observeScript = loadLua(new URL('../lua/fleet-4.lua', import.meta.url));
const closeScript = loadLua(new URL('../lua/fleet-close-1.lua', import.meta.url));
const OPENED_NOTICE = JSON.stringify(FLEET_OPENED_NOTICE);
const RESOLVED_NOTICE = JSON.stringify(resolvedNotice(''));

/** One alert of a webhook batch, as the fleet rules see it. */
export interface SeenAlert {
  /** Alertmanager's fingerprint: a hash of the labels, so it names one place while the targets stay. */
  fingerprint: string;
  labels: Readonly<Record<string, string>>;
  status: 'firing' | 'resolved';
  incidentId: string;
}

type Sighting = [
  place: string,
  region: string,
  status: string,
  incidentId: string,
  severity: string,
  host: string,
];

interface Group {
  a: string;
  r: string;
  sk: string;
  known: number;
  s: Sighting[];
}

/** Where an alert is, as the fleet rules need it; null: no target places it on a resource. */
type Place = { target: string; host: string; resource: string; region: string } | null;

/** A half of a UTF-16 pair on its own: no URI encoding, and no valid JSON text for the script. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Alerts placed lately (re-sends are placed from here): at most this many, then forgotten at once. */
const PLACED_CACHE = 50_000;

export interface FleetsDeps {
  redis: RedisConnection;
  keys: Keyspace;
  targets: Current<Targets | Error>;
  widespread: Widespread;
  outbox: NotificationOutbox;
  /** The executor's queue (`fleet_closed`). */
  actions: Queue;
  /** Where PROMETHEUS_URL is set: how many targets a job has (minFraction). */
  knownTargets?: KnownTargets | undefined;
}

/** `fleet_closed`'s job id: one per fleet, so queueing it again is a no-op. */
export function fleetClosedJobId(fleetId: string): string {
  return `fleet-closed-${fleetId}`;
}

/**
 * Fleet incidents, ingest's half (shared/fleet.ts): detection atomic with intake, linking, one page,
 * and closing. The executor holds changes while one is open.
 */
export class Fleets {
  private readonly layout: string;
  private readonly settings: string;
  private placed = new Map<string, Place>();
  private placedBy: Targets | undefined;

  constructor(private readonly deps: FleetsDeps) {
    this.layout = JSON.stringify(scriptKeyLayout(deps.keys));
    const { minRegions, minTargets, minFraction, windowSeconds } = deps.widespread;
    this.settings = JSON.stringify({ minRegions, minTargets, minFraction, windowMs: windowSeconds * 1000 });
  }

  /**
   * Runs the fleet rules for one webhook batch (after intake's script, before its triage jobs are
   * queued): its alerts, and the incidents intake resolved. Then pages for the fleets it opened and
   * tells the executor about the ones it closed.
   */
  async observe(alerts: readonly SeenAlert[], resolved: readonly string[], now: Date): Promise<void> {
    const groups = this.group(alerts);
    if (groups.length === 0 && resolved.length === 0) return;
    const reply = await observeScript.run(
      this.deps.redis,
      [
        this.deps.keys.outbox('ingest'),
        this.deps.keys.incidentIndex,
        this.deps.keys.incidentIds,
        this.deps.keys.stormCurrent,
      ],
      [
        this.layout,
        now.toISOString(),
        String(now.getTime()),
        this.settings,
        randomId('inc'),
        OPENED_NOTICE,
        JSON.stringify(groups),
        JSON.stringify(resolved),
        RESOLVED_NOTICE,
      ],
    );
    const { opened, closed } = JSON.parse(reply as string) as {
      opened: [string, string][] | Record<string, never>;
      closed: string[] | Record<string, never>;
    };
    for (const [, eventId] of asArray(opened)) await this.deps.outbox.deliverRecorded(eventId);
    await this.afterClose(asArray(closed));
  }

  /** After a human resolved incident `id`: if it is an open fleet incident, it closes. */
  async closeResolved(id: string, by: string): Promise<boolean> {
    const now = new Date();
    const closed = await closeScript.run(
      this.deps.redis,
      [this.deps.keys.outbox('ingest')],
      [this.layout, id, by, now.toISOString(), String(now.getTime()), RESOLVED_NOTICE],
    );
    if (closed !== 1) return false;
    await this.afterClose([id]);
    return true;
  }

  private async afterClose(closed: readonly string[]): Promise<void> {
    if (closed.length === 0) return;
    await this.deps.actions.addBulk(
      closed.map((fleetId) => ({
        name: 'fleet_closed',
        data: { fleetId } satisfies FleetClosedJob,
        opts: { jobId: fleetClosedJobId(fleetId), removeOnComplete: 1000, removeOnFail: 1000 },
      })),
    );
    for (const fleetId of closed) await this.deps.outbox.deliverRecorded(resolvedEventId(fleetId));
  }

  /**
   * The batch's placed alerts by (alertname, resource); alerts no target places on a resource are
   * skipped, and so are alerts whose names are not well-formed text (a lone surrogate can name no
   * key; no executor argument could name such a resource either): intake has stored them already.
   */
  private group(alerts: readonly SeenAlert[]): Group[] {
    const targets = this.deps.targets.current;
    if (targets instanceof Error) return [];
    const groups = new Map<string, Group>();
    for (const alert of alerts) {
      const alertname = alert.labels.alertname;
      if (!alertname) continue;
      const place = this.place(targets, alert);
      if (!place) continue;
      const { target, host, resource, region } = place;
      const severity = alert.labels.severity ?? 'warning';
      if ([resource, alertname, target, host, region, severity].some((text) => LONE_SURROGATE.test(text)))
        continue;
      const id = `${resource}\n${alertname}`;
      let group = groups.get(id);
      if (!group) {
        const job = alert.labels.job ?? resource;
        group = {
          a: alertname,
          r: resource,
          sk: this.deps.keys.fleetSightings(resource, alertname),
          known: this.deps.knownTargets?.count(job) ?? 0,
          s: [],
        };
        groups.set(id, group);
      }
      group.s.push([`${target}\n${host}`, region, alert.status, alert.incidentId, severity, host]);
    }
    return [...groups.values()];
  }

  /** Where an alert is: placing costs about 6 µs, and most alerts are re-sent many times. */
  private place(targets: Targets, alert: SeenAlert): Place {
    if (this.placedBy !== targets || this.placed.size >= PLACED_CACHE) {
      this.placed = new Map();
      this.placedBy = targets;
    }
    const known = this.placed.get(alert.fingerprint);
    if (known !== undefined) return known;
    const placed = targets.place(alert.labels);
    const place =
      placed.ok && placed.placement.resource
        ? {
            target: placed.placement.target,
            host: placed.placement.host,
            resource: placed.placement.resource,
            region: placed.placement.region,
          }
        : null;
    this.placed.set(alert.fingerprint, place);
    return place;
  }
}

function asArray<T>(value: T[] | Record<string, never>): T[] {
  return Array.isArray(value) ? value : [];
}

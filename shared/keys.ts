import type { NoticeSource, QueueName } from './queues.js';

/** What the executor keeps under `exec:` ('*': all of it, as a KEYS pattern). */
export type ExecKey =
  | 'mode'
  | 'config'
  | 'breaker'
  | 'breaker:failures'
  | 'replicas'
  | `replicas:lock:${string}`
  | `replicas:seen:${string}`
  | `claim:${string}`
  | `rl:${string}`
  | `round:${string}`
  | `round-changes:${string}`
  | 'outcomes'
  | `outcomes:${string}`
  | 'learned'
  | `learned:${string}`
  | `budget:${string}`
  | `fleet:${string}`
  | `dry-run:${string}`
  | '*';

/** What the notifier keeps under `notify:`. */
export type NotifyKey =
  | 'email-digest'
  | 'config'
  | `pd-paged:${string}`
  | `slack-thread:${string}`
  | `slack-root:${string}`
  | `done:${string}`;

/** Wrong tokens counted under `ingest:guesses:` ('*': all of them, as a KEYS pattern). */
export type GuessesKey = `address:${string}` | `token:${string}` | '*';

/**
 * Every Redis key the system uses, in one place. All carry the `{prefix}` hash tag so the same
 * code runs on a single Redis and on a Redis Cluster (multi-key scripts stay in one slot).
 *
 * Namespaces map to Redis ACL users (see config/redis-acl): only the executor writes `exec:*`,
 * `audit*` and incident actions; only ingest writes incident cores (which hold the level). Who
 * writes what is KEY_WRITERS below, which the ACL file is tested against.
 */
export function keyspace(prefix = 'hermes') {
  const p = `{${prefix}}`;
  return {
    /** BullMQ's `prefix` option: queue keys become `{prefix}:<queue>:…`. */
    bullPrefix: p,
    incident: (id: string) => `${p}:inc:${id}`,
    incidentState: (id: string) => `${p}:inc:${id}:state`,
    incidentTimeline: (id: string) => `${p}:inc:${id}:timeline`,
    /** An incident's action records: outside `inc:*`, so only the executor may write them (ACL). */
    incidentActions: (id: string) => `${p}:act:${id}`,
    incidentAlerts: (id: string) => `${p}:inc:${id}:alerts`,
    incidentIndex: `${p}:incidents`,
    /** Every incident id ever issued, sorted by id: what short ids are resolved among (shared/issued-ids.ts). */
    incidentIds: `${p}:incidents:ids`,
    incidentStatusIndex: (status: string) => `${p}:incidents:status:${status}`,
    /** Correlation groups used in one DEDUP_TTL_SECONDS period: a hash correlation key → latest incident. */
    groups: (period: number | string) => `${p}:groups:${period}`,
    /** A correlation group as stored before groups had periods (one string per key): read, never written. */
    legacyGroup: (correlationKey: string) => `${p}:corr:${correlationKey}`,
    stormOpened: `${p}:storm:opened`,
    stormCurrent: `${p}:storm:current`,
    triageBacklog: `${p}:ingest:triage-backlog`,
    /** Written once per Redis dataset: a flushed or replaced Redis has none or another. */
    ingestEpoch: `${p}:ingest:epoch`,
    /** Wrong tokens, per address and per guessed value (services/ingest/token-guesses.ts). */
    guesses: (name: GuessesKey) => `${p}:ingest:guesses:${name}`,
    /** A console session, by the digest of its cookie (services/ingest/session.ts). */
    session: (digest: string) => `${p}:ingest:session:${digest}`,
    approval: (id: string) => `${p}:approval:${id}`,
    approvalsPending: `${p}:approvals:pending`,
    /** Every approval id ever issued, sorted by id: what short ids are resolved among. */
    approvalIds: `${p}:approvals:ids`,
    /** Approvals decided or expired whose consequences are not all recorded yet (a zset by decision time). */
    approvalsUnsettled: `${p}:approvals:unsettled`,
    paused: `${p}:control:paused`,
    /**
     * A fleet incident (shared/fleet.ts): one cause behind many alerts, keyed by the fleet incident's
     * own id. A hash: alertname, resource, status (open|closed), openedAt, closedAt, closedBy.
     */
    fleet: (id: string) => `${p}:fleet:${id}`,
    /** The per-target incidents a fleet incident links (a set of incident ids). */
    fleetMembers: (id: string) => `${p}:fleet:${id}:members`,
    /** Where a fleet incident's alerts fire: a hash `<target>\n<host>` → region. */
    fleetPlaces: (id: string) => `${p}:fleet:${id}:places`,
    /** The open fleet incidents on one resource: a hash alertname → fleet incident id. */
    fleetOpen: (resource: string) => `${p}:fleets:open:${encodeURIComponent(resource)}`,
    /**
     * Ingest only: where one alertname fires on one resource lately, a hash `<target>\n<host>` →
     * `<region>\t<last seen ms>\t<incident id>` (what opens a fleet incident; shared/fleet.ts).
     */
    fleetSightings: (resource: string, alertname = '') =>
      `${p}:fleets:seen:${encodeURIComponent(resource)}:${encodeURIComponent(alertname)}`,
    /** Executor-only state: rate limits, breaker, idempotency claims. */
    exec: (name: ExecKey) => `${p}:exec:${name}`,
    audit: `${p}:audit`,
    auditHead: `${p}:audit:head`,
    /** Entries ever appended: the sequence number of the newest one. */
    auditSeq: `${p}:audit:seq`,
    /** Hash of the newest audit entry trimmed away: where the retained chain starts. */
    auditAnchor: `${p}:audit:anchor`,
    /** Set with an audit entry that must be appended once (a retried job's): while it lasts, it is not again. */
    auditOnce: (name: string) => `${p}:audit:once:${name}`,
    /** Notices recorded with the state change they announce, until queued (see shared/outbox.ts). */
    outbox: (source: NoticeSource) => `${p}:outbox:${source}`,
    /** Notifier-only state: delivery idempotency and Slack threads. */
    notify: (name: NotifyKey) => `${p}:notify:${name}`,
    /** Triage-only state. */
    triage: (name: string) => `${p}:triagestate:${name}`,
    /** The config file versions each service runs (shared/config-versions.ts), in a namespace its ACL user writes. */
    /** The config files a service runs (shared/config-versions.ts), under a key only it writes. */
    configVersion: (service: Writer) =>
      ({
        ingest: `${p}:ingest:config`,
        triage: `${p}:triagestate:config`,
        executor: `${p}:exec:config`,
        notifier: `${p}:notify:config`,
      })[service],
  };
}

export type Keyspace = ReturnType<typeof keyspace>;

/** A key made from an id, as the text before and after the id. */
export type KeyTemplate = [before: string, after: string];

function template(make: (id: string) => string): KeyTemplate {
  const [before = '', after = ''] = make('\u0000').split('\u0000');
  return [before, after];
}

/**
 * The layout of keys named by ids a script creates or reads from other keys (so it cannot be handed
 * them as KEYS), sent to the script as JSON: it builds them with `key(template, id)` (see
 * shared/lua/includes/set-status.lua), never by hand.
 */
export function scriptKeyLayout(keys: Keyspace) {
  return {
    incident: template(keys.incident),
    incidentState: template(keys.incidentState),
    incidentTimeline: template(keys.incidentTimeline),
    incidentAlerts: template(keys.incidentAlerts),
    statusIndex: template(keys.incidentStatusIndex),
    groups: template(keys.groups),
    legacyGroup: template(keys.legacyGroup),
    fleet: template(keys.fleet),
    fleetMembers: template(keys.fleetMembers),
    fleetPlaces: template(keys.fleetPlaces),
    // The resource is URI-encoded in the key: scripts encode it as encodeURIComponent does (fleet-keys.lua).
    fleetOpen: [keys.fleetOpen(''), ''] as KeyTemplate,
  };
}

/** The services that write to Redis, each as its own ACL user (config/redis-acl). */
export type Writer = 'ingest' | 'triage' | 'executor' | 'notifier';

/**
 * Which services write each key of the keyspace: config/redis-acl lets exactly these write it
 * (test/shared/redis-acl-layout.test.ts). A key added to `keyspace` needs its writers here.
 */
export const KEY_WRITERS = {
  incident: ['ingest'],
  incidentState: ['ingest', 'triage', 'executor', 'notifier'],
  incidentTimeline: ['ingest', 'triage', 'executor', 'notifier'],
  incidentActions: ['executor'],
  incidentAlerts: ['ingest'],
  incidentIndex: ['ingest'],
  incidentIds: ['ingest'],
  incidentStatusIndex: ['ingest', 'triage', 'executor'],
  groups: ['ingest'],
  legacyGroup: [],
  stormOpened: ['ingest'],
  stormCurrent: ['ingest'],
  triageBacklog: ['ingest', 'triage'],
  ingestEpoch: ['ingest'],
  guesses: ['ingest'],
  session: ['ingest'],
  approval: ['ingest', 'executor'],
  approvalsPending: ['ingest', 'executor'],
  approvalIds: ['ingest', 'executor'],
  approvalsUnsettled: ['ingest', 'executor'],
  paused: ['ingest'],
  fleet: ['ingest'],
  fleetMembers: ['ingest'],
  fleetPlaces: ['ingest'],
  fleetOpen: ['ingest'],
  fleetSightings: ['ingest'],
  exec: ['executor'],
  audit: ['executor'],
  auditHead: ['executor'],
  auditSeq: ['executor'],
  auditAnchor: ['executor'],
  auditOnce: ['executor'],
  /** A source's outbox: its writer, and the notifier's relay, which clears what it queued. */
  outbox: (source: NoticeSource): Writer[] => [source, 'notifier'],
  notify: ['notifier'],
  triage: ['triage'],
  configVersion: (service: Writer): Writer[] => [service],
} satisfies Record<
  Exclude<keyof Keyspace, 'bullPrefix'>,
  readonly Writer[] | ((source: NoticeSource) => Writer[]) | ((service: Writer) => Writer[])
>;

/** Which services write each queue's keys (`{prefix}:<queue>:…`; see shared/queues.ts). */
export const QUEUE_WRITERS = {
  triage: ['ingest', 'triage', 'executor'],
  actions: ['ingest', 'executor'],
  'agent-actions': ['triage', 'executor'],
  'notifications-ingest': ['ingest', 'notifier'],
  'notifications-triage': ['triage', 'notifier'],
  'notifications-executor': ['executor', 'notifier'],
  'email-digest': ['notifier'],
} satisfies Record<QueueName, readonly Writer[]>;

/** The executor's own state for dry-run: its limits and breaker never touch live mode's. */
export function dryRunKeys(keys: Keyspace): Keyspace {
  return { ...keys, exec: (name: ExecKey) => keys.exec(`dry-run:${name}`) };
}

import type { Logger } from '../../shared/logger.js';
import {
  type ExecutionMode,
  fleetCancelJobSchema,
  fleetClosedJobSchema,
  fleetReleaseJobSchema,
} from '../../shared/schemas/jobs.js';
import type { AuditLog } from './audit.js';
import type { ChangeBudgets } from './budgets.js';
import type { HeldChanges } from './held-changes.js';

type Answer = { released: number } | { cancelled: number } | { error: string } | { skipped: string };

/**
 * What humans decide about the changes a fleet incident holds (shared/fleet.ts), and its closing:
 * `fleet_release` (one region's held changes go to the budgets), `fleet_cancel` (all are cancelled)
 * and `fleet_closed` (all are dropped, never run). Each is audited and idempotent under retries.
 */
export class FleetHolds {
  constructor(
    private readonly deps: {
      budgets: ChangeBudgets;
      held: HeldChanges;
      audit: AuditLog;
      logger: Logger;
      mode: ExecutionMode;
    },
  ) {}

  async release(raw: unknown): Promise<Answer> {
    const parsed = fleetReleaseJobSchema.safeParse(raw);
    if (!parsed.success) return this.invalid('fleet_release');
    const { fleetId, region, by } = parsed.data;
    const { budgets, held } = this.deps;
    if (!(await budgets.fleetIsOpen(fleetId))) return { error: `fleet incident ${fleetId} is not open` };
    // Audited first: dying in between leaves the region held, and the retried job releases it.
    if (!(await budgets.isReleased(fleetId, region))) {
      await this.audit({ event: 'fleet_released', fleetId, region, by });
      await budgets.releaseRegion(fleetId, region);
      this.deps.logger.warn({ fleetId, region, by }, 'fleet incident region released by a human');
    }
    let released = 0;
    for (const resource of await this.resources(fleetId))
      released += await held.releaseForFleet(resource, fleetId, region);
    return { released };
  }

  /** `jobId`: the request's (one per human request): its audit entry is appended once however often it runs. */
  async cancel(raw: unknown, jobId: string | undefined): Promise<Answer> {
    const parsed = fleetCancelJobSchema.safeParse(raw);
    if (!parsed.success) return this.invalid('fleet_cancel');
    const { fleetId, by, reason } = parsed.data;
    await this.audit(
      { event: 'fleet_cancelled', fleetId, by, ...(reason ? { reason } : {}) },
      jobId ? `fleet_cancel:${jobId}` : undefined,
    );
    const cancelled = await this.deps.held.dropFleet(
      await this.resources(fleetId),
      fleetId,
      'fleet_cancelled',
      by,
    );
    this.deps.logger.warn(
      { fleetId, by, cancelled },
      'changes held by a fleet incident cancelled by a human',
    );
    return { cancelled };
  }

  async closed(raw: unknown): Promise<Answer> {
    const parsed = fleetClosedJobSchema.safeParse(raw);
    if (!parsed.success) return this.invalid('fleet_closed');
    const { fleetId } = parsed.data;
    const { budgets } = this.deps;
    if (await budgets.fleetIsOpen(fleetId)) return { error: `fleet incident ${fleetId} is still open` };
    const by = await budgets.fleetClosedBy(fleetId);
    // A fleet incident closes once: its closing is audited once, however often the job runs.
    await this.audit({ event: 'fleet_closed', fleetId, ...(by ? { by } : {}) }, `fleet_closed:${fleetId}`);
    const cancelled = await this.deps.held.dropFleet(
      await this.resources(fleetId),
      fleetId,
      'fleet_closed',
      by,
    );
    return { cancelled };
  }

  /** The fleet's resource; when its record is gone, every resource with held changes. */
  private async resources(fleetId: string): Promise<string[]> {
    const resource = await this.deps.budgets.fleetResource(fleetId);
    return resource ? [resource] : this.deps.budgets.resourcesHolding();
  }

  private async audit(entry: Record<string, unknown>, once?: string): Promise<void> {
    await this.deps.audit.append({ at: new Date().toISOString(), mode: this.deps.mode, ...entry }, once);
  }

  private invalid(name: string): Answer {
    this.deps.logger.warn({ job: name }, `invalid ${name} job skipped`);
    return { skipped: `invalid ${name} job` };
  }
}

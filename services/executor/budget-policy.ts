import { z } from 'zod';

const count = z.number().int().min(1);
const seconds = z.number().int().min(1);

/** `budgets:` in the policy: how many changes to one resource may be in flight at once. */
export const budgetsSchema = z
  .strictObject({
    /** Per region (changes not yet verified). */
    maxInFlight: count.default(1),
    /** Across the fleet. */
    maxInFlightFleet: count.default(2),
    /**
     * The longest a change holds its slot without a verdict: its run and triage's verification
     * window (VERIFY_WINDOW_SECONDS) must fit. A killed executor's slot is free when it ends.
     */
    leaseSeconds: seconds.default(600),
    /** How long a change may wait for a slot before it is dropped. */
    holdSeconds: seconds.default(900),
  })
  .default({ maxInFlight: 1, maxInFlightFleet: 2, leaseSeconds: 600, holdSeconds: 900 })
  .refine((budgets) => budgets.maxInFlight <= budgets.maxInFlightFleet, {
    message: 'maxInFlight (per region) cannot exceed maxInFlightFleet',
  });
export type Budgets = z.infer<typeof budgetsSchema>;

import type { Keyspace } from './keys.js';
import type { RedisConnection } from './redis.js';

/** The kill switch. Set by humans (API, CLI, console); read by the executor before every action. */
export class AutomationControl {
  constructor(
    readonly redis: RedisConnection,
    readonly keys: Keyspace,
  ) {}

  async isPaused(): Promise<{ paused: boolean; by?: string; at?: string }> {
    const raw = await this.redis.get(this.keys.paused);
    if (!raw) return { paused: false };
    const parsed = JSON.parse(raw) as { by?: string; at?: string };
    return { paused: true, ...parsed };
  }

  async pause(by: string): Promise<void> {
    await this.redis.set(this.keys.paused, JSON.stringify({ by, at: new Date().toISOString() }));
  }

  async resume(): Promise<void> {
    await this.redis.del(this.keys.paused);
  }
}

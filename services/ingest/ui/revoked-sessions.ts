import type { Keyspace } from '../../../shared/keys.js';
import type { RedisConnection } from '../../../shared/redis.js';
import type { Session } from './session.js';

/**
 * Sessions signed out before they expire. The cookie is signed, not stored, so logging out records
 * its nonce until the time it would have expired; every replica then refuses it.
 */
export class RevokedSessions {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: Keyspace,
  ) {}

  async revoke(session: Session): Promise<void> {
    await this.redis.set(this.keys.revokedSession(session.id), '1', 'PXAT', session.expiresAt);
  }

  async isRevoked(session: Session): Promise<boolean> {
    return (await this.redis.exists(this.keys.revokedSession(session.id))) === 1;
  }
}

import type { Db } from './db.js';
import { statement } from './statements.js';

/**
 * Token ids (`jti`) already used, kept until their token can no longer verify: a token is good for
 * one request. Times are seconds since the epoch, as in a JWT.
 */
export class UsedTokenIds {
  constructor(private readonly db: Db) {}

  /**
   * Records `jti` as used until `expiresAt`. Returns false when it was used before: the insert and the
   * check are one statement, so two requests racing with the same token cannot both pass.
   */
  claim(jti: string, expiresAt: number, nowSeconds: number): boolean {
    this.prune(nowSeconds);
    const info = statement(this.db, 'INSERT INTO used_token_ids (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING').run(
      jti,
      Math.ceil(expiresAt),
    );
    return info.changes === 1;
  }

  /** Reads only: whether `jti` was used by a token that can still verify. */
  used(jti: string, nowSeconds: number): boolean {
    return (
      statement(this.db, 'SELECT 1 FROM used_token_ids WHERE jti = ? AND expires_at >= ?').get(jti, Math.floor(nowSeconds)) !== undefined
    );
  }

  /** Forgets ids whose tokens have expired: those tokens fail on `exp` before their id is looked at. */
  prune(nowSeconds: number): number {
    return statement(this.db, 'DELETE FROM used_token_ids WHERE expires_at < ?').run(Math.floor(nowSeconds)).changes;
  }
}

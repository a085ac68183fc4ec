import type { Db } from './db.js';
import { statement } from './statements.js';

/** Expired ids are forgotten at most this often (seconds) per connection: see claim. */
const PRUNE_EVERY_SECONDS = 60;

/** When each connection last pruned (seconds since the epoch). */
const prunedAt = new WeakMap<Db, number>();

/**
 * Token ids (`jti`) already used, kept until their token can no longer verify: a token is good for
 * one request. Times are seconds since the epoch, as in a JWT.
 */
export class UsedTokenIds {
  constructor(private readonly db: Db) {}

  /**
   * Records `jti` as used until `expiresAt`. Returns false when it was used before: the insert and the
   * check are one statement, so two requests racing with the same token cannot both pass. An id still
   * there from a token that has expired is taken over by the same statement, as if it had been pruned:
   * pruning (a scan of the table, which has no index on expires_at) runs at most once a minute instead
   * of at every report (BENCHMARKS.md, webhook).
   */
  claim(jti: string, expiresAt: number, nowSeconds: number): boolean {
    const last = prunedAt.get(this.db);
    if (last === undefined || nowSeconds - last >= PRUNE_EVERY_SECONDS || nowSeconds < last) this.prune(nowSeconds);
    const info = statement(
      this.db,
      `INSERT INTO used_token_ids (jti, expires_at) VALUES (?, ?)
        ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at WHERE used_token_ids.expires_at < ?`,
    ).run(jti, Math.ceil(expiresAt), Math.floor(nowSeconds));
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
    prunedAt.set(this.db, nowSeconds);
    return statement(this.db, 'DELETE FROM used_token_ids WHERE expires_at < ?').run(Math.floor(nowSeconds)).changes;
  }
}

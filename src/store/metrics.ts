import type { Db } from './db.js';
import { FINAL_STATES, LIVE_STATES } from './releases.js';

const placeholders = (values: readonly unknown[]) => values.map(() => '?').join(',');

/**
 * The figures /metrics reads from the database at each scrape, so that they count the work of every
 * process on it (serve, the CLI, ssh) and survive restarts.
 */
export class StoreFigures {
  constructor(private readonly db: Db) {}

  /** Releases that ended, by project and final state. */
  releasesEnded(): { project: string; state: string; n: number }[] {
    return this.db
      .prepare(`SELECT project, state, count(*) AS n FROM releases WHERE state IN (${placeholders(FINAL_STATES)}) GROUP BY project, state`)
      .all(...FINAL_STATES) as { project: string; state: string; n: number }[];
  }

  /** Releases that ran to an end (denials never started), with when they started and ended. */
  releaseDurations(): { project: string; state: string; created_at: string; finished_at: string }[] {
    return this.db
      .prepare(
        "SELECT project, state, created_at, finished_at FROM releases WHERE finished_at IS NOT NULL AND state IN ('published', 'failed', 'interrupted', 'dry-run')",
      )
      .all() as { project: string; state: string; created_at: string; finished_at: string }[];
  }

  /** Releases in a live state, in any process. */
  releasesLive(): number {
    return (
      this.db.prepare(`SELECT count(*) AS n FROM releases WHERE state IN (${placeholders(LIVE_STATES)})`).get(...LIVE_STATES) as {
        n: number;
      }
    ).n;
  }

  /** Destination results, by destination type and status. */
  destinationResults(): { type: string; status: string; n: number }[] {
    return this.db.prepare('SELECT type, status, count(*) AS n FROM destination_results GROUP BY type, status').all() as {
      type: string;
      status: string;
      n: number;
    }[];
  }
}

import type { Db } from './db.js';

export interface FreezeRow {
  lockedBy: string;
  reason: string;
  lockedAt: string;
}

/** The freeze in force on a project, if any: what a release checks before anything else. */
export function freezeOf(db: Db, project: string): FreezeRow | undefined {
  const row = db.prepare('SELECT locked_by, reason, locked_at FROM freezes WHERE project = ?').get(project) as
    { locked_by: string; reason: string; locked_at: string } | undefined;
  return row && { lockedBy: row.locked_by, reason: row.reason, lockedAt: row.locked_at };
}

import type { Db } from './db.js';

/** A release freeze: while it stands, the core refuses every release of the project. */
export interface Freeze {
  project: string;
  /** Conjur login of who locked it. */
  by: string;
  reason: string;
  /** ISO time. */
  at: string;
}

interface Row {
  project: string;
  locked_by: string;
  reason: string;
  locked_at: string;
}

function toFreeze(r: Row): Freeze {
  return { project: r.project, by: r.locked_by, reason: r.reason, at: r.locked_at };
}

/** The `freezes` table: one row per frozen project. No rules here; they are in src/release/freeze.ts. */
export class FreezeRecords {
  constructor(private readonly db: Db) {}

  get(project: string): Freeze | undefined {
    const row = this.db.prepare('SELECT project, locked_by, reason, locked_at FROM freezes WHERE project = ?').get(project) as
      Row | undefined;
    return row && toFreeze(row);
  }

  list(): Freeze[] {
    return (this.db.prepare('SELECT project, locked_by, reason, locked_at FROM freezes ORDER BY project').all() as Row[]).map(toFreeze);
  }

  /** Records the freeze; false when the project is frozen already (the check and the insert are one statement). */
  insert(freeze: Freeze): boolean {
    return (
      this.db
        .prepare('INSERT INTO freezes (project, locked_by, reason, locked_at) VALUES (?, ?, ?, ?) ON CONFLICT (project) DO NOTHING')
        .run(freeze.project, freeze.by, freeze.reason, freeze.at).changes === 1
    );
  }

  /** Lifts the project's freeze; false when there was none. */
  delete(project: string): boolean {
    return this.db.prepare('DELETE FROM freezes WHERE project = ?').run(project).changes === 1;
  }
}

import type { AuditActor, AuditEntry } from '../audit/entries.js';
import type { Db } from './db.js';
import { statement } from './statements.js';

/** A row of `audit_log` (migration 1) as SQLite returns it. */
export interface AuditRow {
  seq: number;
  id: string;
  at: string;
  type: string;
  project: string | null;
  version: string | null;
  release_id: string | null;
  actor_json: string;
  data_json: string;
  prev_hash: string;
  hash: string;
}

/** A new row: everything but `seq`, which SQLite allocates. The JSON is canonical, as hashed. */
export type NewAuditRow = Omit<AuditRow, 'seq'>;

/**
 * The entry a row holds. The one place an entry's kind and data are taken on trust: only the bot
 * writes the log, through the typed AuditLog.append, and `audit verify` checks that no row changed
 * since. Throws when the JSON no longer parses (an edited row: verify reports it as unreadable).
 */
export function rowToEntry(r: AuditRow): AuditEntry {
  return {
    seq: r.seq,
    id: r.id,
    at: r.at,
    type: r.type,
    project: r.project,
    version: r.version,
    releaseId: r.release_id,
    actor: JSON.parse(r.actor_json) as AuditActor,
    data: JSON.parse(r.data_json) as unknown,
    prevHash: r.prev_hash,
    hash: r.hash,
  } as AuditEntry;
}

/** The `audit_log` table: appended to, never updated or deleted from. */
export class AuditRows {
  constructor(private readonly db: Db) {}

  /**
   * Appends the row `make` builds from the hash of the newest entry (undefined for the first), in one
   * immediate transaction: two processes appending at once cannot both chain to the same entry.
   * Returns the new row's seq.
   */
  append(make: (lastHash: string | undefined) => NewAuditRow): { seq: number; row: NewAuditRow } {
    return this.db
      .transaction(() => {
        const last = statement(this.db, 'SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { hash: string } | undefined;
        const row = make(last?.hash);
        const info = statement(
          this.db,
          `INSERT INTO audit_log (id, at, type, project, version, release_id, actor_json, data_json, prev_hash, hash)
             VALUES (@id, @at, @type, @project, @version, @release_id, @actor_json, @data_json, @prev_hash, @hash)`,
        ).run(row);
        return { seq: Number(info.lastInsertRowid), row };
      })
      .immediate();
  }

  /** The newest entries first, of one project (and version) when given. */
  list(filter: { project?: string | undefined; version?: string | undefined; limit?: number | undefined } = {}): AuditEntry[] {
    const where: string[] = [];
    const args: unknown[] = [];
    for (const column of ['project', 'version'] as const) {
      if (filter[column]) {
        where.push(`${column} = ?`);
        args.push(filter[column]);
      }
    }
    const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, filter.limit ?? 50) as AuditRow[]).map(rowToEntry);
  }

  get(id: string): AuditEntry | undefined {
    const row = this.db.prepare('SELECT * FROM audit_log WHERE id = ?').get(id) as AuditRow | undefined;
    return row && rowToEntry(row);
  }

  /** Entries after `seq`, oldest first. */
  after(seq: number, limit: number): AuditEntry[] {
    return (this.db.prepare('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq ASC LIMIT ?').all(seq, limit) as AuditRow[]).map(
      rowToEntry,
    );
  }

  /** Every row as stored, oldest first: verification parses each itself, to report the ones that no longer parse. */
  rows(): IterableIterator<AuditRow> {
    return this.db.prepare('SELECT * FROM audit_log ORDER BY seq ASC').iterate() as IterableIterator<AuditRow>;
  }

  /** How many entries there are after `seq` (all of them for 0). */
  countAfter(seq = 0): number {
    return (this.db.prepare('SELECT count(*) AS n FROM audit_log WHERE seq > ?').get(seq) as { n: number }).n;
  }
}

/** The `audit_forwarding` table (migration 3): how far each forwarder (syslog, a JSONL file) got. */
export class AuditForwardingMarks {
  constructor(private readonly db: Db) {}

  /** The forwarder's high-water mark, created at 0 the first time it starts. */
  start(forwarder: string, at: string): number {
    this.db
      .prepare('INSERT INTO audit_forwarding (forwarder, forwarded_seq, updated_at) VALUES (?, 0, ?) ON CONFLICT (forwarder) DO NOTHING')
      .run(forwarder, at);
    return (this.db.prepare('SELECT forwarded_seq FROM audit_forwarding WHERE forwarder = ?').get(forwarder) as { forwarded_seq: number })
      .forwarded_seq;
  }

  /** Moves the mark forward (never back: another process sending the same entries may be ahead). A closed database is left alone. */
  advance(forwarder: string, seq: number, at: string): void {
    if (!this.db.open) return;
    this.db
      .prepare('UPDATE audit_forwarding SET forwarded_seq = max(forwarded_seq, ?), updated_at = ? WHERE forwarder = ?')
      .run(seq, at, forwarder);
  }

  /** Every forwarder and how many entries it has not sent yet (doctor, /metrics). */
  pending(): { forwarder: string; n: number }[] {
    return this.db
      .prepare('SELECT f.forwarder, (SELECT count(*) FROM audit_log a WHERE a.seq > f.forwarded_seq) AS n FROM audit_forwarding f')
      .all() as { forwarder: string; n: number }[];
  }
}

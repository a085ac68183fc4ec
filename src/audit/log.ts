import { randomBytes } from 'node:crypto';
import type { Db } from '../store/db.js';
import type { Redactor } from '../redact.js';
import { canonicalJson, sha256Hex } from './canonical.js';

export type AuditType =
  | 'staged'
  | 'stage-refused'
  | 'requested'
  | 'approval-requested'
  | 'approved'
  | 'approval-void'
  | 'denied'
  | 'published'
  | 'failed'
  | 'interrupted'
  | 'dry-run'
  | 'frozen'
  | 'unfrozen'
  | 'config-changed'
  | 'config-rejected'
  | 'yank-requested'
  | 'yanked'
  | 'yank-failed'
  | 'yank-dry-run'
  | 'yank-interrupted';

export interface AuditActor {
  /** Slack user id, `jenkins:<job>`, `cli:<unix user>`, `ssh:<login>` ... */
  via: string;
  chatUserId?: string | undefined;
  conjurLogin?: string | undefined;
}

export interface AuditEntry {
  seq: number;
  id: string;
  at: string;
  type: AuditType;
  project: string | null;
  version: string | null;
  releaseId: string | null;
  actor: AuditActor;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export type AuditInput = Pick<AuditEntry, 'type' | 'actor' | 'data'> & {
  project?: string | null | undefined;
  version?: string | null | undefined;
  releaseId?: string | null | undefined;
};

export const GENESIS_HASH = '0'.repeat(64);

/** The most an entry's data may hold (canonical JSON): the chain is permanent, and much of what it records comes from hostile reports. */
export const MAX_AUDIT_DATA_BYTES = 64 * 1024;

/**
 * Data over the cap keeps its small top-level fields (code, reason, build...) and records the size
 * and sha256 of what was left out, so the entry still says what happened and how big it was.
 */
function capData(data: Record<string, unknown>): Record<string, unknown> {
  const json = canonicalJson(data);
  const bytes = Buffer.byteLength(json);
  if (bytes <= MAX_AUDIT_DATA_BYTES) return data;
  const small = Object.entries(data).filter(([, v]) => v !== undefined && Buffer.byteLength(JSON.stringify(v)) <= 1024);
  return { ...Object.fromEntries(small.slice(0, 32)), truncated: { bytes, sha256: sha256Hex(json), limit: MAX_AUDIT_DATA_BYTES } };
}

/** The hashed content of an entry: everything but `seq` (a storage detail) and `hash` itself. */
export function entryHash(e: Omit<AuditEntry, 'seq' | 'hash'>): string {
  return sha256Hex(
    canonicalJson({
      id: e.id,
      at: e.at,
      type: e.type,
      project: e.project,
      version: e.version,
      releaseId: e.releaseId,
      actor: e.actor,
      data: e.data,
      prevHash: e.prevHash,
    }),
  );
}

interface Row {
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

export function rowToEntry(r: Row): AuditEntry {
  return {
    seq: r.seq,
    id: r.id,
    at: r.at,
    type: r.type as AuditType,
    project: r.project,
    version: r.version,
    releaseId: r.release_id,
    actor: JSON.parse(r.actor_json) as AuditActor,
    data: JSON.parse(r.data_json) as Record<string, unknown>,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/**
 * The append-only audit log. Every entry carries the hash of the one before it (SHA-256 over a
 * canonical encoding), so an edited, removed or reordered entry breaks the chain. Values pass the
 * redactor before they are stored: an entry names Conjur variable ids, never their values.
 */
export class AuditLog {
  private readonly listeners: ((entry: AuditEntry) => void)[] = [];

  constructor(
    private readonly db: Db,
    private readonly redactor: Redactor,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Called after each committed append (forwarders: syslog, JSONL). A throwing listener never undoes the entry. */
  onAppend(listener: (entry: AuditEntry) => void): void {
    this.listeners.push(listener);
  }

  append(input: AuditInput): AuditEntry {
    const entry = this.db
      .transaction((): AuditEntry => {
        const last = this.db.prepare('SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { hash: string } | undefined;
        const base = {
          id: `aud_${randomBytes(9).toString('base64url')}`,
          at: this.now().toISOString(),
          type: input.type,
          project: input.project ?? null,
          version: input.version ?? null,
          releaseId: input.releaseId ?? null,
          actor: this.redactor.redactDeep(input.actor),
          data: capData(this.redactor.redactDeep(input.data)),
          prevHash: last?.hash ?? GENESIS_HASH,
        };
        const hash = entryHash(base);
        const info = this.db
          .prepare(
            `INSERT INTO audit_log (id, at, type, project, version, release_id, actor_json, data_json, prev_hash, hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            base.id,
            base.at,
            base.type,
            base.project,
            base.version,
            base.releaseId,
            canonicalJson(base.actor),
            canonicalJson(base.data),
            base.prevHash,
            hash,
          );
        return { ...base, seq: Number(info.lastInsertRowid), hash };
      })
      .immediate();
    for (const listener of this.listeners) {
      try {
        listener(entry);
      } catch {
        // Forwarding is best effort by design; forwarders retry on their own and log their failures.
      }
    }
    return entry;
  }

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
    return (this.db.prepare(sql).all(...args, filter.limit ?? 50) as Row[]).map(rowToEntry);
  }

  get(id: string): AuditEntry | undefined {
    const row = this.db.prepare('SELECT * FROM audit_log WHERE id = ?').get(id) as Row | undefined;
    return row && rowToEntry(row);
  }

  /**
   * Entries appended after `seq` (by this or any other process on the same database), oldest first:
   * what a reader that polls the log has not seen yet.
   */
  entriesAfter(seq: number, limit = 100): AuditEntry[] {
    return (this.db.prepare('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq ASC LIMIT ?').all(seq, limit) as Row[]).map(rowToEntry);
  }

  /** Every entry, oldest first, for verification and export. */
  *all(): IterableIterator<AuditEntry> {
    for (const row of this.db.prepare('SELECT * FROM audit_log ORDER BY seq ASC').iterate() as IterableIterator<Row>) yield rowToEntry(row);
  }
}

import { randomBytes } from 'node:crypto';
import { AuditRows, rowToEntry } from '../store/audit.js';
import type { Db } from '../store/db.js';
import { EventBus } from '../events.js';
import type { Redactor } from '../redact.js';
import { canonicalJson, sha256Hex } from './canonical.js';
import type { AuditDataByType, AuditEntry, AuditEntryOf, AuditInputOf, AuditType, Truncation } from './entries.js';

export type {
  ArtifactDigests,
  AuditActor,
  AuditDataByType,
  AuditEntry,
  AuditEntryOf,
  AuditInput,
  AuditInputOf,
  AuditType,
} from './entries.js';
export { rowToEntry } from '../store/audit.js';

export const GENESIS_HASH = '0'.repeat(64);

/** The most an entry's data may hold (canonical JSON): the chain is permanent, and much of what it records comes from hostile reports. */
export const MAX_AUDIT_DATA_BYTES = 64 * 1024;

/**
 * Data over the cap keeps its small top-level fields (code, reason, build...) and records the size
 * and sha256 of what was left out, so the entry still says what happened and how big it was.
 */
function capData<T extends object>(data: T): T | (Partial<T> & { truncated: Truncation }) {
  const json = canonicalJson(data);
  const bytes = Buffer.byteLength(json);
  if (bytes <= MAX_AUDIT_DATA_BYTES) return data;
  const small = Object.entries(data).filter(([, v]) => v !== undefined && Buffer.byteLength(JSON.stringify(v)) <= 1024);
  const kept = Object.fromEntries(small.slice(0, 32)) as Partial<T>;
  return { ...kept, truncated: { bytes, sha256: sha256Hex(json), limit: MAX_AUDIT_DATA_BYTES } };
}

/** The hashed content of an entry: everything but `seq` (a storage detail) and `hash` itself. */
export function entryHash(e: Omit<AuditEntryOf<AuditType>, 'seq' | 'hash'>): string {
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

export interface AuditLogOptions {
  /** The app's bus, where each committed entry is announced; by default the log's own. */
  bus?: EventBus;
  /**
   * serve's release thread: each append counted up before it commits (down again if it fails); the
   * serving thread counts it down once its bus carried the entry (app/release-thread.ts).
   */
  appendsOnTheirWay?: { up(): void; down(): void };
  /**
   * serve's serving thread: whether its release thread committed entries its bus has not carried yet.
   * Meanwhile `entriesAfter` reads the log as if they were not there, so the audit watcher never takes
   * the thread's entry for another process's work before its listeners know it as this process's own.
   */
  unheardAppends?: () => boolean;
}

/**
 * The append-only audit log. Every entry carries the hash of the one before it (SHA-256 over a
 * canonical encoding), so an edited, removed or reordered entry breaks the chain. Values pass the
 * redactor before they are stored: an entry names Conjur variable ids, never their values.
 */
export class AuditLog {
  private readonly rows: AuditRows;
  /** Where each committed entry is announced (`audit-appended`): the app's bus, or one of its own. */
  private readonly bus: EventBus;
  /** Entries of the transaction `announcingAfter` runs, announced once it committed. */
  private held: AuditEntry[] | undefined;

  constructor(
    db: Db,
    private readonly redactor: Redactor,
    private readonly now: () => Date = () => new Date(),
    private readonly options: AuditLogOptions = {},
  ) {
    this.rows = new AuditRows(db);
    this.bus = options.bus ?? new EventBus();
  }

  /** Called after each committed append (the bus's `audit-appended`). A throwing listener never undoes the entry. */
  onAppend(listener: (entry: AuditEntry) => void): void {
    this.bus.on('audit-appended', (entry) => {
      try {
        listener(entry);
      } catch {
        // Forwarding is best effort by design; forwarders retry on their own and log their failures.
      }
    });
  }

  /** Appends an entry of one kind, its data checked against that kind's type (src/audit/entries.ts). */
  append<T extends AuditType>(input: AuditInputOf<T>): AuditEntryOf<T> & AuditEntry {
    const counted = this.options.appendsOnTheirWay;
    counted?.up();
    try {
      return this.commit(input);
    } catch (err) {
      counted?.down();
      throw err;
    }
  }

  private commit<T extends AuditType>(input: AuditInputOf<T>): AuditEntryOf<T> & AuditEntry {
    let base: Omit<AuditEntryOf<T>, 'seq' | 'hash'> | undefined;
    const { seq, row } = this.rows.append((lastHash) => {
      base = {
        id: `aud_${randomBytes(9).toString('base64url')}`,
        at: this.now().toISOString(),
        type: input.type,
        project: input.project ?? null,
        version: input.version ?? null,
        releaseId: input.releaseId ?? null,
        actor: this.redactor.redactDeep(input.actor),
        // Redaction replaces values by markers and the cap drops large fields: the kind's type still describes what is left.
        data: capData(this.redactor.redactDeep(input.data)) as AuditDataByType[T],
        prevHash: lastHash ?? GENESIS_HASH,
      };
      return {
        id: base.id,
        at: base.at,
        type: base.type,
        project: base.project,
        version: base.version,
        release_id: base.releaseId,
        actor_json: canonicalJson(base.actor),
        data_json: canonicalJson(base.data),
        prev_hash: base.prevHash,
        hash: entryHash(base),
      };
    });
    const entry = { ...(base as Omit<AuditEntryOf<T>, 'seq' | 'hash'>), seq, hash: row.hash } as AuditEntryOf<T> & AuditEntry;
    if (this.held) this.held.push(entry);
    else this.announce(entry);
    return entry;
  }

  /**
   * Runs `fn`, a transaction that appends, and announces its entries only once it has returned, that
   * is once the transaction committed: the forwarders and the chat never hear of an entry rolled back
   * with the rest of its transaction (a report's staged build, src/store/staging-commit.ts).
   */
  announcingAfter<R>(fn: () => R): R {
    const outer = this.held;
    const held: AuditEntry[] = [];
    this.held = held;
    try {
      const result = fn();
      this.held = outer;
      if (outer) outer.push(...held);
      else held.forEach((entry) => this.announce(entry));
      return result;
    } catch (err) {
      this.held = outer;
      held.forEach(() => this.options.appendsOnTheirWay?.down());
      throw err;
    }
  }

  private announce(entry: AuditEntry): void {
    try {
      this.bus.emit('audit-appended', entry);
    } catch {
      // A listener must not throw; if one does, the entry stays committed.
    }
  }

  list(filter: { project?: string | undefined; version?: string | undefined; limit?: number | undefined } = {}): AuditEntry[] {
    return this.rows.list(filter);
  }

  get(id: string): AuditEntry | undefined {
    return this.rows.get(id);
  }

  /**
   * Entries appended after `seq` (by this or any other process on the same database), oldest first:
   * what a reader that polls the log has not seen yet.
   */
  entriesAfter(seq: number, limit = 100): AuditEntry[] {
    // serve: an entry its release thread committed is read once the bus carried it here, never before.
    if (this.options.unheardAppends?.()) return [];
    return this.rows.after(seq, limit);
  }

  /** Every entry, oldest first, for verification and export. */
  *all(): IterableIterator<AuditEntry> {
    for (const row of this.rows.rows()) yield rowToEntry(row);
  }
}

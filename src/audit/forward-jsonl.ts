import { open } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from './canonical.js';
import type { AuditSink } from './forwarder.js';
import type { AuditEntry } from './log.js';

/**
 * Appends entries to a JSON Lines file, one canonical JSON object per line, the same form as
 * `audit export --jsonl` (so `audit verify --input` checks it). Each batch is synced to disk before
 * it counts as forwarded; the file is created 0600.
 */
export class JsonlSink implements AuditSink {
  readonly name: string;
  private readonly file: string;

  constructor(file: string) {
    this.file = path.resolve(file);
    this.name = `jsonl:${this.file}`;
  }

  async send(entries: readonly AuditEntry[]): Promise<void> {
    const handle = await open(this.file, 'a', 0o600);
    try {
      await handle.appendFile(entries.map((e) => `${canonicalJson(e)}\n`).join(''), 'utf8');
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  async close(): Promise<void> {
    // Nothing stays open between batches.
  }
}

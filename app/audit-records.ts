import { existsSync } from 'node:fs';
import path from 'node:path';
import { AuditLog } from '../src/audit/log.js';
import { chainFromDb, type ChainItem } from '../src/audit/verify.js';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { Redactor } from '../src/redact.js';
import { DATABASE_FILE, openDatabaseReadOnly } from '../src/store/db.js';

/** The audit log as an auditor reads it: its entries and its hash chain, nothing that writes. */
export interface AuditRecords {
  entries: Pick<AuditLog, 'list' | 'get' | 'all'>;
  /** Every entry's chain fields, in seq order (for `verifyChain`). */
  chain(): Iterable<ChainItem>;
}

/**
 * Reading the audit needs only the database, not Conjur or the projects file: an auditor can verify
 * and export it with nothing but RELEASE_BOT_DATA_DIR (or --data-dir). It is opened read-only and
 * never migrated: an audit read must work on a read-only copy and must not change the evidence.
 */
export function readAuditRecords<T>(dataDir: string | undefined, body: (records: AuditRecords) => T): T {
  const dir = path.resolve(dataDir ?? (process.env.RELEASE_BOT_DATA_DIR || './data'));
  if (!existsSync(path.join(dir, DATABASE_FILE))) {
    throw new ReleaseBotError(
      ErrorCode.NotFound,
      `no release-bot database in ${dir}: set RELEASE_BOT_DATA_DIR (or --data-dir) to the bot's data directory`,
    );
  }
  const db = openDatabaseReadOnly(dir);
  try {
    return body({ entries: new AuditLog(db, new Redactor()), chain: () => chainFromDb(db) });
  } finally {
    db.close();
  }
}

import { chainFromDb, verifyChain, type VerifyResult } from '../src/audit/verify.js';
import { AuditForwardingMarks } from '../src/store/audit.js';
import { schemaVersion, type Db } from '../src/store/db.js';

/** What `doctor` reports of the database: handlers never open the store, the wiring reads it for them. */
export function databaseHealth(db: Db): { schema: number; chain: VerifyResult } {
  return { schema: schemaVersion(db), chain: verifyChain(chainFromDb(db)) };
}

/** Audit entries each forwarder has not delivered yet (only the forwarders with a backlog). */
export function forwardingBacklog(db: Db): { forwarder: string; n: number }[] {
  return new AuditForwardingMarks(db).pending().filter((x) => x.n > 0);
}

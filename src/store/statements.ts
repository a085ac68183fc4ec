import type Database from 'better-sqlite3';
import type { Db } from './db.js';

type Statement = Database.Statement<unknown[]>;

const prepared = new WeakMap<Db, Map<string, Statement>>();

/**
 * The statement for `sql` on `db`, prepared once per connection: better-sqlite3 keeps no cache, and
 * preparing (parsing and planning the SQL) the same few statements again for every webhook report was
 * part of its time (BENCHMARKS.md, "Where a report's time went"). Only for fixed SQL text, never for
 * text built from input (the cache would grow with it); not for `iterate()`, which holds its statement.
 */
export function statement(db: Db, sql: string): Statement {
  let forDb = prepared.get(db);
  if (!forDb) prepared.set(db, (forDb = new Map()));
  let stmt = forDb.get(sql);
  if (!stmt) forDb.set(sql, (stmt = db.prepare<unknown[]>(sql)));
  return stmt;
}

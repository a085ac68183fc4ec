import type { Db } from './db.js';
import { statement } from './statements.js';

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** A row as SQLite returns it (snake_case columns) with its keys camelCased, as the records are. */
export function fromRow<T>(row: Record<string, unknown>): T {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [camel(k), v])) as T;
}

type Row = Record<string, unknown>;

/**
 * The row a query selects, as a record (`toRecord`), or undefined when it selects none. `sql` is fixed
 * text (the statement is prepared once per connection: src/store/statements.ts), never built from input.
 */
export function selectOne<T>(db: Db, toRecord: (row: Row) => T, sql: string, ...params: unknown[]): T | undefined {
  const row = statement(db, sql).get(...params) as Row | undefined;
  return row && toRecord(row);
}

/** Every row a query selects, as records; `sql` is fixed text, as for selectOne. */
export function selectAll<T>(db: Db, toRecord: (row: Row) => T, sql: string, ...params: unknown[]): T[] {
  return (statement(db, sql).all(...params) as Row[]).map(toRecord);
}

/** The statements a table of requests (releases, yanks) is read by; see RequestReads. */
export interface RequestQueries<T> {
  toRecord: (row: Row) => T;
  /** One `?`: the id. */
  byId: string;
  /** Two `?`: project and version; the row that holds the version's lock. */
  lockHolder: string;
  /** @project, @version (null: every version) and @limit, newest first. */
  newest: string;
  newestLimit: number;
}

/** The reads releases and yanks share: one by its id, the holder of a version's lock, the newest of a project. */
export class RequestReads<T> {
  constructor(
    protected readonly db: Db,
    private readonly queries: RequestQueries<T>,
  ) {}

  get(id: string): T | undefined {
    return selectOne(this.db, this.queries.toRecord, this.queries.byId, id);
  }

  /** The one holding the lock on project+version, if any. */
  live(project: string, version: string): T | undefined {
    return selectOne(this.db, this.queries.toRecord, this.queries.lockHolder, project, version);
  }

  /** The newest of a project, or of one version of it. */
  latest(project: string, version?: string, limit = this.queries.newestLimit): T[] {
    return selectAll(this.db, this.queries.toRecord, this.queries.newest, { project, version: version || null, limit });
  }
}

import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import { migrations } from './migrations.js';

export type Db = Database.Database;

/** The database file's name inside the data directory. */
export const DATABASE_FILE = 'release-bot.sqlite';

/**
 * Opens (and migrates) the bot's SQLite database under the data directory. WAL mode, so a crash
 * loses no committed entry and a CLI process can read while the server writes.
 */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(path.join(dataDir, DATABASE_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 10000');
  migrate(db);
  return db;
}

/** The schema version: how many migrations the database has had. */
export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Runs the cheapest query there is: throws when the connection cannot answer one (readiness). */
export function ping(db: Db): void {
  db.prepare('SELECT 1').get();
}

export function migrate(db: Db): void {
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new Error(
      `the database is at schema version ${current}, newer than this release-bot (${migrations.length}): upgrade release-bot`,
    );
  }
  for (let v = current; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

/**
 * Opens the database only to read it (the audit commands): no migration, no pragma that writes, and
 * no file created or changed, so an auditor can read a read-only copy or the live database without
 * write access, and reading never alters the evidence.
 *
 * SQLite reads a WAL database read-only only when its `-wal` and `-shm` files exist (else it creates
 * them, or fails in a read-only directory). So:
 * - both exist (the bot has it open, or a copy kept all three): SQLite reads it read-only, with the
 *   shared locks that keep a live writer's commits consistent;
 * - no `-wal`, or an empty one: every committed entry is in the main file (the WAL holds nothing to
 *   replay), which is read into memory and opened from there; the main file changes only when a
 *   checkpoint copies WAL content into it, and there is none;
 * - a non-empty `-wal` without `-shm`: refused, since reading it would mean creating the `-shm` or
 *   leaving the WAL's entries out.
 */
export function openDatabaseReadOnly(dataDir: string): Db {
  const file = path.join(dataDir, DATABASE_FILE);
  if (!existsSync(file)) {
    throw new ReleaseBotError(
      ErrorCode.NotFound,
      `no release-bot database in ${dataDir}: point it at the bot's data directory (RELEASE_BOT_DATA_DIR)`,
    );
  }
  const walSize = sizeOf(`${file}-wal`);
  const hasShm = existsSync(`${file}-shm`);
  let db: Db;
  try {
    if (walSize !== undefined && hasShm) {
      db = new Database(file, { readonly: true, fileMustExist: true });
    } else if (!walSize) {
      db = new Database(asRollbackImage(readFileSync(file)), { readonly: true });
    } else {
      throw new ReleaseBotError(
        ErrorCode.BadInput,
        `${file}-wal holds entries not yet in ${DATABASE_FILE}, and ${DATABASE_FILE}-shm is missing: copy all three files together, or checkpoint before copying (sqlite3 ${DATABASE_FILE} 'PRAGMA wal_checkpoint(TRUNCATE)' where the bot can write)`,
      );
    }
    db.pragma('query_only = ON');
    db.pragma('busy_timeout = 10000');
  } catch (err) {
    if (err instanceof ReleaseBotError) throw err;
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `${file} cannot be opened for reading (${(err as { code?: string }).code ?? 'error'}): check that this user may read it and its -wal and -shm files`,
      { cause: err },
    );
  }
  try {
    assertKnownSchema(db, file);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function sizeOf(file: string): number | undefined {
  try {
    return statSync(file).size;
  } catch {
    return undefined;
  }
}

/**
 * The header of a WAL database says so (bytes 18 and 19 are 2), and SQLite would then look for the
 * `-wal` beside an in-memory image, which has none: the copy in memory is marked a rollback-journal
 * database (1), which changes nothing of its content. The file on disk is never touched.
 */
function asRollbackImage(image: Buffer): Buffer {
  if (image.length >= 100 && image.subarray(0, 16).toString('latin1') === 'SQLite format 3\0' && image[18] === 2 && image[19] === 2) {
    image[18] = 1;
    image[19] = 1;
  }
  return image;
}

/** A read never migrates: a schema other than the one this code knows is refused, saying what to do. */
function assertKnownSchema(db: Db, file: string): void {
  let version: number;
  try {
    version = schemaVersion(db);
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
  } catch (err) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `${file} is not a readable SQLite database (${(err as { code?: string }).code ?? 'error'}): point RELEASE_BOT_DATA_DIR at the bot's data directory`,
      { cause: err },
    );
  }
  const known = migrations.length;
  if (version === 0) {
    throw new ReleaseBotError(
      ErrorCode.NotFound,
      `${file} has no release-bot schema (it was never opened by release-bot): point RELEASE_BOT_DATA_DIR at the bot's data directory`,
    );
  }
  if (version > known) {
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `${file} is at schema version ${version}, newer than this release-bot knows (${known}): read it with the release-bot version that wrote it, or upgrade`,
    );
  }
  if (version < known) {
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `${file} is at schema version ${version}, older than this release-bot (${known}), and a read never migrates it: read it with the release-bot version that wrote it, or let this version migrate it first (release-bot serve does at start)`,
    );
  }
}

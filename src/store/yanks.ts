import { randomBytes } from 'node:crypto';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { Db } from './db.js';
import { publications, type Publication } from './publications.js';
import type { OwnerIdentity } from './releases.js';
import { fromRow, RequestReads } from './rows.js';

export { assertNotYanked, releasedVersions, type Publication } from './publications.js';

/** yanking → yanked | failed | interrupted; dry runs end in `dry-run` and never lock or mark anything. */
export type YankState = 'yanking' | 'yanked' | 'failed' | 'interrupted' | 'dry-run';
export type YankDestinationStatus = 'yanked' | 'already-yanked' | 'cannot-yank' | 'planned' | 'failed';

export interface YankRecord {
  id: string;
  project: string;
  version: string;
  state: YankState;
  reason: string;
  requesterLogin: string;
  requesterChat: string | null;
  via: string;
  approvers: string[];
  dryRun: boolean;
  ownerPid: number | null;
  ownerHost: string | null;
  ownerBootId: string | null;
  ownerStartTime: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface YankDestinationRecord {
  yankId: string;
  destination: string;
  type: string;
  status: YankDestinationStatus;
  detail: string | null;
  location: string | null;
  errorCode: string | null;
  finishedAt: string | null;
}

/** The running yank of a project+version (the partial unique index yanks_live). */
const LOCK_HOLDER = `SELECT * FROM yanks WHERE project = ? AND version = ? AND dry_run = 0 AND state = 'yanking'`;
/** The newest yanks (not dry runs) of a project, or of one version of it when @version is not null. */
const NEWEST = `SELECT * FROM yanks WHERE project = @project AND (@version IS NULL OR version = @version) AND dry_run = 0
  ORDER BY created_at DESC, rowid DESC LIMIT @limit`;

export function newYankId(): string {
  return `yank_${randomBytes(9).toString('base64url')}`;
}

function toYank(row: Record<string, unknown>): YankRecord {
  const { approversJson, dryRun, ...rest } = fromRow<Omit<YankRecord, 'approvers' | 'dryRun'> & { approversJson: string; dryRun: number }>(
    row,
  );
  return { ...rest, dryRun: Boolean(dryRun), approvers: JSON.parse(approversJson) as string[] };
}

/** Every SQL statement about yanks; `get`, `live` (the running yank of a version) and `latest` (not dry runs) are RequestReads'. */
export class Yanks extends RequestReads<YankRecord> {
  constructor(
    db: Db,
    private readonly now: () => Date,
    private readonly owner: OwnerIdentity,
  ) {
    super(db, { toRecord: toYank, byId: 'SELECT * FROM yanks WHERE id = ?', lockHolder: LOCK_HOLDER, newest: NEWEST, newestLimit: 20 });
  }

  /**
   * Creates a yank and with it the per-version lock (for a real yank). Refused with IN_PROGRESS when a
   * release of the version is running or another yank of it is. Runs under an immediate transaction,
   * the same write lock the core's release lock is taken under.
   */
  create(
    r: Pick<YankRecord, 'project' | 'version' | 'reason' | 'requesterLogin' | 'requesterChat' | 'via' | 'approvers' | 'dryRun'>,
    id = newYankId(),
  ): YankRecord {
    return (
      this.db
        .transaction(() => {
          const release = this.db
            .prepare(
              `SELECT id, requester_login FROM releases WHERE project = ? AND version = ? AND dry_run = 0 AND state IN ('requested','authorized','verifying','publishing')`,
            )
            .get(r.project, r.version) as { id: string; requester_login: string | null } | undefined;
          if (release) {
            throw new ReleaseBotError(
              ErrorCode.InProgress,
              `${r.project} ${r.version} is being released right now by ${release.requester_login ?? 'someone'} (${release.id}): yank it once that release has finished`,
              {
                details: { releaseId: release.id, by: release.requester_login },
              },
            );
          }
          const live = this.live(r.project, r.version);
          if (live) {
            throw new ReleaseBotError(
              ErrorCode.InProgress,
              `${r.project} ${r.version} is being yanked right now by ${live.requesterLogin} (${live.id})`,
              { details: { yankId: live.id, by: live.requesterLogin } },
            );
          }
          if (r.dryRun) return undefined;
          const at = this.now().toISOString();
          this.db
            .prepare(
              `INSERT INTO yanks (id, project, version, state, reason, requester_login, requester_chat, via, approvers_json, dry_run, owner_pid, owner_host, owner_boot_id, owner_start_time, created_at)
             VALUES (?, ?, ?, 'yanking', ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)`,
            )
            .run(
              id,
              r.project,
              r.version,
              r.reason,
              r.requesterLogin,
              r.requesterChat,
              r.via,
              JSON.stringify(r.approvers),
              this.owner.pid,
              this.owner.host,
              this.owner.bootId,
              this.owner.startTime,
              at,
            );
          return this.get(id);
        })
        .immediate() ?? this.dryRunRecord(r, id)
    );
  }

  /** A dry run is recorded only when it ends (it holds no lock). */
  private dryRunRecord(
    r: Pick<YankRecord, 'project' | 'version' | 'reason' | 'requesterLogin' | 'requesterChat' | 'via' | 'approvers'>,
    id: string,
  ): YankRecord {
    const at = this.now().toISOString();
    return {
      ...r,
      id,
      state: 'dry-run',
      dryRun: true,
      ownerPid: null,
      ownerHost: null,
      ownerBootId: null,
      ownerStartTime: null,
      errorCode: null,
      errorMessage: null,
      createdAt: at,
      finishedAt: null,
    };
  }

  finish(id: string, state: Exclude<YankState, 'yanking'>, error?: { code: string; message: string }): void {
    this.db
      .prepare('UPDATE yanks SET state = ?, finished_at = ?, error_code = ?, error_message = ? WHERE id = ?')
      .run(state, this.now().toISOString(), error?.code ?? null, error?.message ?? null, id);
  }

  /** Marks a running yank interrupted; false when it was no longer running (another process got there first). */
  markInterrupted(id: string): boolean {
    return (
      this.db
        .prepare(
          `UPDATE yanks SET state = 'interrupted', finished_at = ?, error_code = 'INTERRUPTED', error_message = 'release-bot stopped while this yank was running' WHERE id = ? AND state = 'yanking'`,
        )
        .run(this.now().toISOString(), id).changes === 1
    );
  }

  /** Versions of a project that were yanked (or are being yanked). */
  yankedVersions(project: string): Set<string> {
    return new Set(
      (this.db.prepare('SELECT DISTINCT version FROM yanks WHERE project = ? AND dry_run = 0').all(project) as { version: string }[]).map(
        (r) => r.version,
      ),
    );
  }

  setDestination(d: Omit<YankDestinationRecord, 'finishedAt'>): void {
    this.db
      .prepare(
        `INSERT INTO yank_destinations (yank_id, destination, type, status, detail, location, error_code, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (yank_id, destination) DO UPDATE SET status = excluded.status, detail = excluded.detail, location = excluded.location, error_code = excluded.error_code, finished_at = excluded.finished_at`,
      )
      .run(d.yankId, d.destination, d.type, d.status, d.detail, d.location, d.errorCode, this.now().toISOString());
  }

  destinations(yankId: string): YankDestinationRecord[] {
    return (
      this.db.prepare('SELECT * FROM yank_destinations WHERE yank_id = ? ORDER BY rowid').all(yankId) as Record<string, unknown>[]
    ).map((row) => fromRow<YankDestinationRecord>(row));
  }

  /** What each destination published, for every version of the project (see publications.ts). */
  publications(project: string): Publication[] {
    return publications(this.db, project);
  }
}

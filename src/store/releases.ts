import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { Db } from './db.js';
import { fromRow, RequestReads } from './rows.js';

/** requested → authorized → verifying → publishing → published | failed | denied | interrupted; dry runs end in `dry-run`. */
export type ReleaseState =
  'requested' | 'authorized' | 'verifying' | 'publishing' | 'published' | 'failed' | 'denied' | 'interrupted' | 'dry-run';
export const LIVE_STATES: readonly ReleaseState[] = ['requested', 'authorized', 'verifying', 'publishing'];
export const FINAL_STATES: readonly ReleaseState[] = ['published', 'failed', 'denied', 'interrupted', 'dry-run'];

export type DestinationStatus = 'pending' | 'running' | 'published' | 'already-present' | 'failed' | 'planned';

export interface ReleaseRecord {
  id: string;
  project: string;
  version: string;
  stagedBuildId: number | null;
  state: ReleaseState;
  requesterLogin: string | null;
  requesterChat: string | null;
  via: string;
  dryRun: boolean;
  resumeOf: string | null;
  approvers: string[];
  errorCode: string | null;
  errorMessage: string | null;
  ownerPid: number | null;
  ownerHost: string | null;
  ownerBootId: string | null;
  ownerStartTime: string | null;
  /** sha256 of the projects file (the policy) the release ran under; null for rows older than migration 5. */
  policySha256: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface DestinationRecord {
  releaseId: string;
  destination: string;
  type: string;
  status: DestinationStatus;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  readBackDigest: string | null;
  location: string | null;
  detail: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  /** JSON of the AttestationRecord[] the destination published; null without provenance. */
  attestationsJson: string | null;
}

function toRelease(row: Record<string, unknown>): ReleaseRecord {
  const { approversJson, dryRun, ...rest } = fromRow<
    Omit<ReleaseRecord, 'approvers' | 'dryRun'> & { approversJson: string; dryRun: number }
  >(row);
  return { ...rest, dryRun: Boolean(dryRun), approvers: JSON.parse(approversJson) as string[] };
}

/** The release that holds the lock on a project+version (the partial unique index releases_live). */
const LOCK_HOLDER = `SELECT * FROM releases WHERE project = ? AND version = ? AND dry_run = 0 AND state IN ('requested','authorized','verifying','publishing','published')`;
/** The newest releases of a project, or of one version of it when @version is not null. */
const NEWEST = `SELECT * FROM releases WHERE project = @project AND (@version IS NULL OR version = @version)
  ORDER BY created_at DESC, rowid DESC LIMIT @limit`;

/** A release id: allocated when a request arrives, so that every log line of it, even before the lock, names it. */
export function newReleaseId(): string {
  return `rel_${randomBytes(9).toString('base64url')}`;
}

/** The process that runs a release (see src/release/owner.ts): host, boot, pid and start time. */
export interface OwnerIdentity {
  host: string;
  bootId: string | null;
  pid: number;
  startTime: string | null;
}

/** Every SQL statement about releases; `get`, `live` (the lock holder: live or published) and `latest` are RequestReads'. */
export class Releases extends RequestReads<ReleaseRecord> {
  private readonly owner: OwnerIdentity;

  constructor(
    db: Db,
    private readonly now: () => Date = () => new Date(),
    owner?: OwnerIdentity,
  ) {
    super(db, {
      toRecord: toRelease,
      byId: 'SELECT * FROM releases WHERE id = ?',
      lockHolder: LOCK_HOLDER,
      newest: NEWEST,
      newestLimit: 10,
    });
    this.owner = owner ?? { host: hostname(), bootId: null, pid: process.pid, startTime: null };
  }

  /**
   * Creates a release in state `requested` and with it the lock on project+version (a partial unique
   * index). A second live request, or one for a published version, fails with IN_PROGRESS or ALREADY_RELEASED.
   */
  create(
    r: Pick<
      ReleaseRecord,
      'project' | 'version' | 'stagedBuildId' | 'requesterLogin' | 'requesterChat' | 'via' | 'dryRun' | 'resumeOf' | 'approvers'
    > & { policySha256?: string | null | undefined },
    id = newReleaseId(),
  ): ReleaseRecord {
    try {
      this.insert(id, r, { state: 'requested', resumeOf: r.resumeOf, approvers: r.approvers, owner: this.owner });
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw err;
      this.assertUnlocked(r.project, r.version);
      throw new ReleaseBotError(ErrorCode.InProgress, `${r.project} ${r.version} is being released right now`);
    }
    return this.get(id) as ReleaseRecord;
  }

  /**
   * Throws what `create` would for a version that is released (ALREADY_RELEASED) or being released
   * (IN_PROGRESS). Dry runs take no lock, but they refuse what the real release would refuse.
   */
  assertUnlocked(project: string, version: string): void {
    const holder = this.live(project, version);
    if (!holder) return;
    if (holder.state === 'published') {
      throw new ReleaseBotError(
        ErrorCode.AlreadyReleased,
        `${project} ${version} was already released on ${holder.finishedAt ?? holder.updatedAt} by ${holder.requesterLogin ?? 'unknown'} (${holder.id})`,
        {
          details: { releaseId: holder.id, at: holder.finishedAt ?? holder.updatedAt, by: holder.requesterLogin },
        },
      );
    }
    throw new ReleaseBotError(
      ErrorCode.InProgress,
      `${project} ${version} is being released right now by ${holder.requesterLogin ?? 'someone'} (${holder.id})`,
      {
        details: { releaseId: holder.id, by: holder.requesterLogin },
      },
    );
  }

  /** A denied request never held the lock; it is recorded for the audit trail and status views. */
  recordDenied(
    r: Pick<ReleaseRecord, 'project' | 'version' | 'stagedBuildId' | 'requesterLogin' | 'requesterChat' | 'via' | 'dryRun'> & {
      policySha256?: string | null | undefined;
    },
    errorCode: string,
    errorMessage: string,
    id = newReleaseId(),
  ): ReleaseRecord {
    this.insert(id, r, { state: 'denied', errorCode, errorMessage });
    return this.get(id) as ReleaseRecord;
  }

  /** Inserts a release row: what every request records, plus what its state adds (a request: its lock's owner; a denial: why). */
  private insert(
    id: string,
    r: Pick<ReleaseRecord, 'project' | 'version' | 'stagedBuildId' | 'requesterLogin' | 'requesterChat' | 'via' | 'dryRun'> & {
      policySha256?: string | null | undefined;
    },
    row:
      | { state: 'requested'; resumeOf: string | null; approvers: string[]; owner: OwnerIdentity }
      | { state: 'denied'; errorCode: string; errorMessage: string },
  ): void {
    const at = this.now().toISOString();
    const requested = row.state === 'requested' ? row : undefined;
    const denied = row.state === 'denied' ? row : undefined;
    this.db
      .prepare(
        `INSERT INTO releases (id, project, version, staged_build_id, state, requester_login, requester_chat, via, dry_run, resume_of, approvers_json, owner_pid, owner_host, owner_boot_id, owner_start_time, error_code, error_message, policy_sha256, created_at, updated_at, finished_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        r.project,
        r.version,
        r.stagedBuildId,
        row.state,
        r.requesterLogin,
        r.requesterChat,
        r.via,
        r.dryRun ? 1 : 0,
        requested?.resumeOf ?? null,
        JSON.stringify(requested?.approvers ?? []),
        requested?.owner.pid ?? null,
        requested?.owner.host ?? null,
        requested?.owner.bootId ?? null,
        requested?.owner.startTime ?? null,
        denied?.errorCode ?? null,
        denied?.errorMessage ?? null,
        r.policySha256 ?? null,
        at,
        at,
        denied ? at : null,
      );
  }

  setState(id: string, state: ReleaseState, error?: { code: string; message: string }): void {
    const at = this.now().toISOString();
    const final = FINAL_STATES.includes(state);
    this.db
      .prepare(
        'UPDATE releases SET state = ?, updated_at = ?, finished_at = CASE WHEN ? THEN ? ELSE finished_at END, error_code = COALESCE(?, error_code), error_message = COALESCE(?, error_message) WHERE id = ?',
      )
      .run(state, at, final ? 1 : 0, at, error?.code ?? null, error?.message ?? null, id);
  }

  /** Releases in a live state; of one project+version when given. */
  inFlight(project?: string, version?: string): ReleaseRecord[] {
    const live = `state IN ('requested','authorized','verifying','publishing')`;
    const rows =
      project !== undefined && version !== undefined
        ? this.db.prepare(`SELECT * FROM releases WHERE ${live} AND project = ? AND version = ? ORDER BY created_at`).all(project, version)
        : this.db.prepare(`SELECT * FROM releases WHERE ${live} ORDER BY created_at`).all();
    return (rows as Record<string, unknown>[]).map(toRelease);
  }

  /**
   * Marks a live release interrupted; false when it was no longer live (another process recovered
   * it first, or it finished), so that only one recovery audits and announces it.
   */
  markInterrupted(id: string, error: { code: string; message: string }): boolean {
    const at = this.now().toISOString();
    return (
      this.db
        .prepare(
          `UPDATE releases SET state = 'interrupted', updated_at = ?, finished_at = ?, error_code = ?, error_message = ? WHERE id = ? AND state IN ('requested','authorized','verifying','publishing')`,
        )
        .run(at, at, error.code, error.message, id).changes === 1
    );
  }

  upsertDestination(d: Partial<DestinationRecord> & Pick<DestinationRecord, 'releaseId' | 'destination' | 'type' | 'status'>): void {
    this.db
      .prepare(
        `INSERT INTO destination_results (release_id, destination, type, status, attempts, started_at, finished_at, duration_ms, read_back_digest, location, detail, error_code, error_message, attestations_json)
         VALUES (@releaseId, @destination, @type, @status, @attempts, @startedAt, @finishedAt, @durationMs, @readBackDigest, @location, @detail, @errorCode, @errorMessage, @attestationsJson)
         ON CONFLICT (release_id, destination) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
           started_at = COALESCE(excluded.started_at, started_at), finished_at = excluded.finished_at, duration_ms = excluded.duration_ms,
           read_back_digest = excluded.read_back_digest, location = excluded.location, detail = excluded.detail,
           error_code = excluded.error_code, error_message = excluded.error_message, attestations_json = excluded.attestations_json`,
      )
      .run({
        attempts: 0,
        startedAt: null,
        finishedAt: null,
        durationMs: null,
        readBackDigest: null,
        location: null,
        detail: null,
        errorCode: null,
        errorMessage: null,
        attestationsJson: null,
        ...d,
      });
  }

  destinations(releaseId: string): DestinationRecord[] {
    return (
      this.db.prepare('SELECT * FROM destination_results WHERE release_id = ? ORDER BY rowid').all(releaseId) as Record<string, unknown>[]
    ).map((r) => fromRow<DestinationRecord>(r));
  }

  /** Records the channel message that shows this release (Slack's channel and ts). */
  recordMessage(releaseId: string, channel: string, ts: string): void {
    this.db
      .prepare(
        'INSERT INTO release_messages (release_id, channel, ts) VALUES (?, ?, ?) ON CONFLICT (release_id) DO UPDATE SET channel = excluded.channel, ts = excluded.ts',
      )
      .run(releaseId, channel, ts);
  }

  /** The channel message recorded for this release, if one was posted. */
  message(releaseId: string): { channel: string; ts: string } | undefined {
    return this.db.prepare('SELECT channel, ts FROM release_messages WHERE release_id = ?').get(releaseId) as
      { channel: string; ts: string } | undefined;
  }
}

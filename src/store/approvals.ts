import type { Requester } from '../release/types.js';
import type { Db } from './db.js';

export type ApprovalStatus = 'open' | 'approved' | 'expired' | 'void';
/** What an approval authorizes: a release never authorizes a yank, nor a yank a release. */
export type ApprovalAction = 'release' | 'yank';

export interface Approval {
  login: string;
  chatUserId: string | null;
  at: string;
}

/**
 * A request for a release or a yank that waits for approvals (two-person rule). A release request is
 * bound to one staged build (its id and fingerprint: digests + build info), so re-staging the version
 * voids it. A yank request names the build that was published (shown to approvers) and is bound to
 * its reason and `noLock`: the yank that runs is the one approved, word for word.
 */
export interface ApprovalRequest {
  id: string;
  action: ApprovalAction;
  project: string;
  version: string;
  stagedBuildId: number;
  fingerprint: string;
  requester: Requester;
  needed: number;
  approverGroup: string;
  resume: boolean;
  /** A yank's reason (null for a release). */
  reason: string | null;
  /** A yank that does not freeze the project afterwards. */
  noLock: boolean;
  status: ApprovalStatus;
  createdAt: string;
  expiresAt: string;
  closedAt: string | null;
  closedReason: string | null;
  approvals: Approval[];
}

/** The approval tables (migrations 2 and 10): rows in, typed requests out. No rules here; they are in release/approvals.ts. */
export class ApprovalRecords {
  constructor(private readonly db: Db) {}

  get(id: string): ApprovalRequest | undefined {
    const row = this.db.prepare('SELECT * FROM approval_requests WHERE id = ?').get(id) as Row | undefined;
    return row && this.toRequest(row);
  }

  /**
   * Open requests, newest first. With `unexpiredAt` (an ISO time), only those that have not expired
   * by then: an expired request stays `open` in the table until the sweep closes it, but nobody may
   * approve it any more, so it is not waiting for anything.
   */
  open(project?: string, unexpiredAt?: string): ApprovalRequest[] {
    const where = [`status = 'open'`, ...(project ? ['project = ?'] : []), ...(unexpiredAt ? ['expires_at > ?'] : [])];
    const args = [...(project ? [project] : []), ...(unexpiredAt ? [unexpiredAt] : [])];
    const rows = this.db.prepare(`SELECT * FROM approval_requests WHERE ${where.join(' AND ')} ORDER BY created_at DESC`).all(...args);
    return (rows as Row[]).map((r) => this.toRequest(r));
  }

  /** The one open request of a version for this action, if any (a partial unique index keeps it one). */
  openFor(project: string, version: string, action: ApprovalAction = 'release'): ApprovalRequest | undefined {
    const row = this.db
      .prepare(`SELECT * FROM approval_requests WHERE action = ? AND project = ? AND version = ? AND status = 'open'`)
      .get(action, project, version) as Row | undefined;
    return row && this.toRequest(row);
  }

  /** Inserts an open request; false when another open request of the version won the race. */
  insert(r: ApprovalRequest): boolean {
    try {
      this.db
        .prepare(
          `INSERT INTO approval_requests (id, action, project, version, staged_build_id, fingerprint, requester_login, requester_chat, via, needed, approver_group, resume, reason, no_lock, status, created_at, expires_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)`,
        )
        .run(
          r.id,
          r.action,
          r.project,
          r.version,
          r.stagedBuildId,
          r.fingerprint,
          r.requester.login,
          r.requester.chatUserId ?? null,
          r.requester.via,
          r.needed,
          r.approverGroup,
          r.resume ? 1 : 0,
          r.reason,
          r.noLock ? 1 : 0,
          r.createdAt,
          r.expiresAt,
        );
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return false;
      throw err;
    }
  }

  /** Adds an approval; false when this login already approved the request. */
  addApproval(requestId: string, approver: Requester, at: string): boolean {
    try {
      this.db
        .prepare('INSERT INTO approvals (request_id, approver_login, approver_chat, approved_at) VALUES (?, ?, ?, ?)')
        .run(requestId, approver.login, approver.chatUserId ?? null, at);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return false;
      throw err;
    }
  }

  count(requestId: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM approvals WHERE request_id = ?').get(requestId) as { n: number }).n;
  }

  /** Closes an open request; false when it was no longer open (someone else closed it first). */
  close(id: string, status: Exclude<ApprovalStatus, 'open'>, reason: string, at: string): boolean {
    return (
      this.db
        .prepare(`UPDATE approval_requests SET status = ?, closed_at = ?, closed_reason = ? WHERE id = ? AND status = 'open'`)
        .run(status, at, reason, id).changes === 1
    );
  }

  /** Runs `work` in one write transaction (BEGIN IMMEDIATE): a throw rolls everything back. */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  private toRequest(r: Row): ApprovalRequest {
    const approvals = (
      this.db
        .prepare('SELECT approver_login, approver_chat, approved_at FROM approvals WHERE request_id = ? ORDER BY approved_at, rowid')
        .all(r.id) as ApprovalRow[]
    ).map((a) => ({
      login: a.approver_login,
      chatUserId: a.approver_chat,
      at: a.approved_at,
    }));
    return {
      id: r.id,
      action: r.action,
      project: r.project,
      version: r.version,
      stagedBuildId: r.staged_build_id,
      fingerprint: r.fingerprint,
      requester: {
        login: r.requester_login,
        via: r.via as Requester['via'],
        ...(r.requester_chat ? { chatUserId: r.requester_chat } : {}),
      },
      needed: r.needed,
      approverGroup: r.approver_group,
      resume: r.resume === 1,
      reason: r.reason,
      noLock: r.no_lock === 1,
      status: r.status,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      closedAt: r.closed_at,
      closedReason: r.closed_reason,
      approvals,
    };
  }
}

interface Row {
  id: string;
  action: ApprovalAction;
  project: string;
  version: string;
  staged_build_id: number;
  fingerprint: string;
  requester_login: string;
  requester_chat: string | null;
  via: string;
  needed: number;
  approver_group: string;
  resume: number;
  reason: string | null;
  no_lock: number;
  status: ApprovalStatus;
  created_at: string;
  expires_at: string;
  closed_at: string | null;
  closed_reason: string | null;
}

interface ApprovalRow {
  approver_login: string;
  approver_chat: string | null;
  approved_at: string;
}

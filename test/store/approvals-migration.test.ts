import Database from 'better-sqlite3';
import { ApprovalRecords, type ApprovalRequest } from '../../src/store/approvals.js';
import { migrate } from '../../src/store/db.js';
import { migrations } from '../../src/store/migrations.js';

const request = (over: Partial<ApprovalRequest>): ApprovalRequest => ({
  id: 'apr_AAAAAAAAAAAAAAAA',
  action: 'release',
  project: 'gated',
  version: '1.0.0',
  stagedBuildId: 1,
  fingerprint: 'f'.repeat(64),
  requester: { login: 'alice', via: 'slack', chatUserId: 'U0ALICE' },
  needed: 1,
  approverGroup: 'release/approvers',
  resume: false,
  reason: null,
  noLock: false,
  status: 'open',
  createdAt: '2026-12-01T10:00:00.000Z',
  expiresAt: '2026-12-01T11:00:00.000Z',
  closedAt: null,
  closedReason: null,
  approvals: [],
  ...over,
});

/**
 * Migration 10 (approvals of yanks): a request that was open before the upgrade stays an open release
 * request with its approvals, and a yank request of the same version is a request of its own.
 */
describe('approval requests name their action (migration 10)', () => {
  it('keeps an open release request across the upgrade and lets a yank request of the same version open beside it, one per action', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    const upTo = migrations.indexOf(migrations.find((m) => m.includes('ADD COLUMN action')) as string);
    for (const sql of migrations.slice(0, upTo)) db.exec(sql);
    db.pragma(`user_version = ${upTo}`);
    db.prepare(
      `INSERT INTO staged_builds (id, project, version, artifact_kind, files_json, reported_by, fingerprint, staged_at) VALUES (1, 'gated', '1.0.0', 'files', '[]', 'jenkins:gated', ?, '2026-12-01T09:00:00.000Z')`,
    ).run('f'.repeat(64));
    db.prepare(
      `INSERT INTO approval_requests (id, project, version, staged_build_id, fingerprint, requester_login, requester_chat, via, needed, approver_group, status, created_at, expires_at)
       VALUES ('apr_BEFOREUPGRADE00', 'gated', '1.0.0', 1, ?, 'alice', 'U0ALICE', 'slack', 2, 'release/approvers', 'open', '2026-12-01T10:00:00.000Z', '2026-12-01T11:00:00.000Z')`,
    ).run('f'.repeat(64));
    db.prepare(
      `INSERT INTO approvals (request_id, approver_login, approved_at) VALUES ('apr_BEFOREUPGRADE00', 'bob', '2026-12-01T10:01:00.000Z')`,
    ).run();

    migrate(db);
    const records = new ApprovalRecords(db);
    expect(records.get('apr_BEFOREUPGRADE00')).toMatchObject({
      action: 'release',
      reason: null,
      noLock: false,
      status: 'open',
      approvals: [{ login: 'bob' }],
    });
    expect(records.openFor('gated', '1.0.0', 'yank')).toBeUndefined();

    const yank = request({ id: 'apr_YANKYANKYANKYANK', action: 'yank', reason: 'broken', noLock: true, approverGroup: 'release/gated' });
    expect(records.insert(yank)).toBe(true);
    expect(records.openFor('gated', '1.0.0', 'yank')).toMatchObject({ id: yank.id, action: 'yank', reason: 'broken', noLock: true });
    expect(records.openFor('gated', '1.0.0')?.id).toBe('apr_BEFOREUPGRADE00');
    // Still one open request per action and version.
    expect(records.insert(request({ id: 'apr_YANKTWICEYANKTW', action: 'yank', reason: 'other' }))).toBe(false);
    expect(records.insert(request({ id: 'apr_RELEASETWICE00' }))).toBe(false);
    db.close();
  });
});

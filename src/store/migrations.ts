/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
 * Append only: a released migration is never edited, a change is a new entry.
 */

/**
 * The audit chain's columns after `seq`: migration 1 creates the table with them, migration 6 rebuilds
 * it with the same ones (only `seq` changes). Part of both released migrations: never edit it
 * (test/store/migrations-frozen.test.ts pins the text of every released migration).
 */
const AUDIT_LOG_COLUMNS = `id TEXT NOT NULL UNIQUE,
    at TEXT NOT NULL,
    type TEXT NOT NULL,
    project TEXT,
    version TEXT,
    release_id TEXT,
    actor_json TEXT NOT NULL,
    data_json TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL`;

/** A destination's row of a release (migration 1) and of a yank (migration 9) begin alike. Never edit it either. */
const DESTINATION_COLUMNS = `destination TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,`;

export const migrations: readonly string[] = [
  // 1: staged builds, releases, destination results, the audit chain, used webhook token ids, freezes
  `
  CREATE TABLE staged_builds (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    version TEXT NOT NULL,
    artifact_kind TEXT NOT NULL CHECK (artifact_kind IN ('files', 'docker')),
    files_json TEXT,
    image_ref TEXT,
    image_digest TEXT,
    build_job TEXT,
    build_number INTEGER,
    build_url TEXT,
    build_commit TEXT,
    reported_by TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    staged_at TEXT NOT NULL,
    superseded_at TEXT
  );
  CREATE UNIQUE INDEX staged_builds_current ON staged_builds (project, version) WHERE superseded_at IS NULL;

  CREATE TABLE releases (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    version TEXT NOT NULL,
    staged_build_id INTEGER REFERENCES staged_builds (id),
    state TEXT NOT NULL,
    requester_login TEXT,
    requester_chat TEXT,
    via TEXT NOT NULL,
    dry_run INTEGER NOT NULL DEFAULT 0,
    resume_of TEXT REFERENCES releases (id),
    approvers_json TEXT NOT NULL DEFAULT '[]',
    error_code TEXT,
    error_message TEXT,
    owner_pid INTEGER,
    owner_host TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
  );
  -- The lock on project+version: one live or published release at a time, enforced by SQLite
  -- so that the server and a CLI process sharing the database cannot both run it.
  CREATE UNIQUE INDEX releases_live ON releases (project, version)
    WHERE dry_run = 0 AND state IN ('requested', 'authorized', 'verifying', 'publishing', 'published');
  CREATE INDEX releases_by_project ON releases (project, version, created_at);

  CREATE TABLE destination_results (
    release_id TEXT NOT NULL REFERENCES releases (id),
    ${DESTINATION_COLUMNS}
    attempts INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    finished_at TEXT,
    duration_ms INTEGER,
    read_back_digest TEXT,
    location TEXT,
    detail TEXT,
    error_code TEXT,
    error_message TEXT,
    PRIMARY KEY (release_id, destination)
  );

  CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    ${AUDIT_LOG_COLUMNS}
  );
  CREATE INDEX audit_by_project ON audit_log (project, version);

  CREATE TABLE used_token_ids (
    jti TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
  );

  CREATE TABLE freezes (
    project TEXT PRIMARY KEY,
    locked_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    locked_at TEXT NOT NULL
  );
  `,
  // 2: two-person rule: approval requests bound to one staged build (id + fingerprint), and their approvals
  `
  CREATE TABLE approval_requests (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    version TEXT NOT NULL,
    staged_build_id INTEGER NOT NULL REFERENCES staged_builds (id),
    fingerprint TEXT NOT NULL,
    requester_login TEXT NOT NULL,
    requester_chat TEXT,
    via TEXT NOT NULL,
    needed INTEGER NOT NULL,
    approver_group TEXT NOT NULL,
    resume INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('open', 'approved', 'expired', 'void')),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    closed_at TEXT,
    closed_reason TEXT
  );
  CREATE UNIQUE INDEX approval_requests_open ON approval_requests (project, version) WHERE status = 'open';

  CREATE TABLE approvals (
    request_id TEXT NOT NULL REFERENCES approval_requests (id),
    approver_login TEXT NOT NULL,
    approver_chat TEXT,
    approved_at TEXT NOT NULL,
    PRIMARY KEY (request_id, approver_login)
  );
  `,
  // 3: audit forwarding: how far each forwarder (syslog, JSONL) got, so a restart resumes, losing nothing
  `
  CREATE TABLE audit_forwarding (
    forwarder TEXT PRIMARY KEY,
    forwarded_seq INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
  );
  `,
  // 4: the owner of a live release beyond its pid: the boot it ran in and its start time
  // (/proc/<pid>/stat field 22), so a reused pid (after a reboot, in a container) is not taken for it
  `
  ALTER TABLE releases ADD COLUMN owner_boot_id TEXT;
  ALTER TABLE releases ADD COLUMN owner_start_time TEXT;
  `,
  // 5: Jenkins builds that reported with a token without jti (the OIDC provider plugin's): one report per (issuer, job, build number)
  `
  CREATE TABLE jenkins_build_reports (
    issuer TEXT NOT NULL,
    job TEXT NOT NULL,
    build_number INTEGER NOT NULL,
    project TEXT NOT NULL,
    version TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('staging', 'staged')),
    claimed_at TEXT NOT NULL,
    PRIMARY KEY (issuer, job, build_number)
  );
  `,
  // 6: audit sequence numbers are never reused (AUTOINCREMENT: a deleted last entry's seq is not
  // handed to the next one, so a deletion always leaves a gap `audit verify` reports); the table is
  // rebuilt with every row kept as it was. Releases record the sha256 of the projects file they ran under.
  `
  CREATE TABLE audit_log_new (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ${AUDIT_LOG_COLUMNS}
  );
  INSERT INTO audit_log_new (seq, id, at, type, project, version, release_id, actor_json, data_json, prev_hash, hash)
    SELECT seq, id, at, type, project, version, release_id, actor_json, data_json, prev_hash, hash FROM audit_log ORDER BY seq;
  DROP TABLE audit_log;
  ALTER TABLE audit_log_new RENAME TO audit_log;
  CREATE INDEX audit_by_project ON audit_log (project, version);

  ALTER TABLE releases ADD COLUMN policy_sha256 TEXT;
  `,
  // 7: the channel message that shows a release as it goes, so a restart after a crash can update it in place.
  `
  CREATE TABLE release_messages (
    release_id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    ts TEXT NOT NULL
  );
  `,
  // 8: the signed provenance each destination published (subject, envelope sha256, key id, where), as JSON,
  // so a resume that skips a finished destination still reports its attestation.
  `
  ALTER TABLE destination_results ADD COLUMN attestations_json TEXT;
  `,
  // 9: yanks (`/release yank`): one row per attempt, the per-version lock of a running yank (a
  // partial unique index, as releases_live), and each destination's answer; a version with a yank row
  // that is not a dry run is yanked and is never released again.
  `
  CREATE TABLE yanks (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    version TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('yanking', 'yanked', 'failed', 'interrupted', 'dry-run')),
    reason TEXT NOT NULL,
    requester_login TEXT NOT NULL,
    requester_chat TEXT,
    via TEXT NOT NULL,
    approvers_json TEXT NOT NULL DEFAULT '[]',
    dry_run INTEGER NOT NULL DEFAULT 0,
    owner_pid INTEGER,
    owner_host TEXT,
    owner_boot_id TEXT,
    owner_start_time TEXT,
    error_code TEXT,
    error_message TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT
  );
  CREATE UNIQUE INDEX yanks_live ON yanks (project, version) WHERE dry_run = 0 AND state = 'yanking';
  CREATE INDEX yanks_by_project ON yanks (project, version, created_at);

  CREATE TABLE yank_destinations (
    yank_id TEXT NOT NULL REFERENCES yanks (id),
    ${DESTINATION_COLUMNS}
    detail TEXT,
    location TEXT,
    error_code TEXT,
    finished_at TEXT,
    PRIMARY KEY (yank_id, destination)
  );
  `,
  // 10: approvals of yanks (issue 17): a request names its action; a yank request is bound to its reason
  // and --no-lock as well, and one release request and one yank request of a version may be open at once.
  `
  ALTER TABLE approval_requests ADD COLUMN action TEXT NOT NULL DEFAULT 'release' CHECK (action IN ('release', 'yank'));
  ALTER TABLE approval_requests ADD COLUMN reason TEXT;
  ALTER TABLE approval_requests ADD COLUMN no_lock INTEGER NOT NULL DEFAULT 0;
  DROP INDEX approval_requests_open;
  CREATE UNIQUE INDEX approval_requests_open ON approval_requests (action, project, version) WHERE status = 'open';
  `,
];

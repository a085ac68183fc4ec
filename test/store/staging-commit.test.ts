import { jest } from '@jest/globals';
import { AuditLog } from '../../src/audit/log.js';
import { verifyChain, chainFromDb } from '../../src/audit/verify.js';
import { Redactor } from '../../src/redact.js';
import { openDatabase } from '../../src/store/db.js';
import { Releases } from '../../src/store/releases.js';
import { ReportClaims, type ReportClaim } from '../../src/store/report-claims.js';
import { StagedBuilds } from '../../src/store/staged-builds.js';
import { commitStagedReport } from '../../src/store/staging-commit.js';
import { UsedTokenIds } from '../../src/store/token-ids.js';
import { makeTmpDir } from '../support/tmp.js';

/** The staging commit when a replay of the report committed first (the jti check before staging is a read; the record is here). */
describe('commitStagedReport', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  beforeEach(() => (tmp = makeTmpDir('release-bot-staging-commit-')));
  afterEach(() => tmp.cleanup());

  const staged = (version: string) => ({
    project: 'conjur-cli',
    version,
    artifact: { kind: 'files' as const, files: [{ path: 'a.gem', sha256: 'a'.repeat(64), size: 1 }] },
    build: { job: 'conjur-cli', number: 1 },
    reportedBy: 'jenkins:conjur-cli (jwt)',
    fingerprint: 'f'.repeat(64),
    stagedAt: new Date().toISOString(),
  });
  const nowSeconds = Math.floor(Date.now() / 1000);
  /** The staged build's audit entry, as the staging commit appends it. */
  const stagedEntry = (audit: AuditLog, version: string) => () =>
    audit.append({
      project: 'conjur-cli',
      version,
      actor: { via: 'test' },
      type: 'staged',
      data: { build: {}, artifact: { kind: 'files', files: [] }, reportedBy: 'test' },
    });

  it.each<[string, ReportClaim]>([
    ['a jti', { kind: 'token', jti: 'jti-raced-0001', expiresAt: nowSeconds + 300, nowSeconds }],
    [
      'a build',
      {
        kind: 'build',
        key: { issuer: 'https://jenkins.example/oidc', job: 'conjur-cli', number: 9 },
        report: { project: 'conjur-cli', version: '1.0.0', bodySha256: 'b'.repeat(64) },
      },
    ],
  ])('a report whose replay record (%s) is already there writes nothing, its audit entry included', (_what, claim) => {
    const db = openDatabase(tmp.dir);
    const stores = { releases: new Releases(db), staged: new StagedBuilds(db), now: () => new Date() };
    const audit = new AuditLog(db, new Redactor());
    const entry = (version: string) => stagedEntry(audit, version);

    const first = commitStagedReport(db, stores, { staged: staged('1.0.0'), claim, audit: entry('1.0.0') });
    expect(first.kind).toBe('recorded');
    expect(new ReportClaims(db).recorded(claim)).toBe(true);

    const raced = commitStagedReport(db, stores, { staged: staged('1.0.1'), claim, audit: entry('1.0.1') });
    expect(raced).toEqual({ kind: 'replayed' });
    expect(stores.staged.current('conjur-cli', '1.0.1')).toBeUndefined();
    expect(audit.list({ limit: 10 }).map((e) => e.version)).toEqual(['1.0.0']);
    expect(verifyChain(chainFromDb(db))).toMatchObject({ ok: true, count: 1 });
    db.close();
  });

  // better-sqlite3 keeps no cache of its own: src/store/statements.ts prepares each once per connection. Counted, not timed.
  it('the second report (jti read, staging commit, audit entry) prepares none of the statements the first did', () => {
    const db = openDatabase(tmp.dir);
    const stores = { releases: new Releases(db), staged: new StagedBuilds(db), now: () => new Date() };
    const audit = new AuditLog(db, new Redactor());
    const tokens = new UsedTokenIds(db);
    const prepared: string[] = [];
    const prepare = db.prepare.bind(db);
    jest.spyOn(db, 'prepare').mockImplementation(((sql: string) => {
      prepared.push(sql);
      return prepare(sql);
    }) as typeof db.prepare);
    const report = (version: string) => {
      const claim = { kind: 'token' as const, jti: `jti-${version}`, expiresAt: nowSeconds + 300, nowSeconds };
      expect(tokens.used(claim.jti, nowSeconds)).toBe(false);
      expect(stores.staged.current('conjur-cli', version)).toBeUndefined();
      expect(commitStagedReport(db, stores, { staged: staged(version), claim, audit: stagedEntry(audit, version) })).toMatchObject({
        kind: 'recorded',
      });
    };
    report('1.0.1');
    const first = prepared.splice(0);
    expect(first.filter((sql) => /used_token_ids|staged_builds|audit_log/.test(sql)).length).toBeGreaterThanOrEqual(7);
    report('1.0.2');
    expect(prepared.filter((sql) => /used_token_ids|staged_builds|audit_log|releases/.test(sql))).toEqual([]);
    // The cached statements chain the second entry to the first as fresh ones would.
    expect(verifyChain(chainFromDb(db))).toMatchObject({ ok: true, count: 2 });
    db.close();
  });
});

import { jest } from '@jest/globals';
import { AuditLog } from '../../src/audit/log.js';
import { verifyChain, chainFromDb } from '../../src/audit/verify.js';
import { Redactor } from '../../src/redact.js';
import { openDatabase } from '../../src/store/db.js';
import { JenkinsBuildReports } from '../../src/store/jenkins-build-reports.js';
import { Releases } from '../../src/store/releases.js';
import { StagedBuilds } from '../../src/store/staged-builds.js';
import { commitStagedReport } from '../../src/store/staging-commit.js';
import { UsedTokenIds } from '../../src/store/token-ids.js';
import { makeTmpDir } from '../support/tmp.js';

/**
 * A webhook report's statements on the replay records and the staged builds are prepared once per
 * connection (src/store/statements.ts), not once per report: better-sqlite3 keeps no cache of its own.
 * Counted on the connection's prepare, not timed.
 */
describe("a report's statements are prepared once per connection", () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  beforeEach(() => (tmp = makeTmpDir('release-bot-prepared-')));
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
    const report = (n: number) => {
      const claim = { kind: 'token' as const, jti: `jti-${n}`, expiresAt: nowSeconds + 300, nowSeconds };
      expect(tokens.used(claim.jti, nowSeconds)).toBe(false);
      expect(stores.staged.current('conjur-cli', `1.0.${n}`)).toBeUndefined();
      const entry = () =>
        audit.append({
          project: 'conjur-cli',
          version: `1.0.${n}`,
          actor: { via: 'test' },
          type: 'staged',
          data: { build: {}, artifact: { kind: 'files', files: [] }, reportedBy: 'test' },
        });
      expect(commitStagedReport(db, stores, { staged: staged(`1.0.${n}`), claim, audit: entry })).toMatchObject({
        kind: 'recorded',
      });
    };
    report(1);
    const first = prepared.splice(0);
    expect(first.filter((sql) => /used_token_ids|staged_builds|audit_log/.test(sql)).length).toBeGreaterThanOrEqual(7);
    report(2);
    expect(prepared.filter((sql) => /used_token_ids|staged_builds|audit_log/.test(sql))).toEqual([]);
    // The cached statements chain the second entry to the first as fresh ones would.
    expect(verifyChain(chainFromDb(db))).toMatchObject({ ok: true, count: 2 });
  });

  it("a build's report (a token without jti): its statements too", () => {
    const db = openDatabase(tmp.dir);
    const builds = new JenkinsBuildReports(db);
    const report = { project: 'conjur-cli', version: '1.0.0', bodySha256: 'b'.repeat(64) };
    const first = { issuer: 'https://jenkins.example/oidc', job: 'conjur-cli', number: 1 };
    expect(builds.get(first)).toBeUndefined();
    builds.claimStaged(first, report);
    const spy = jest.spyOn(db, 'prepare');
    const key = { issuer: 'https://jenkins.example/oidc', job: 'conjur-cli', number: 2 };
    expect(builds.get(key)).toBeUndefined();
    expect(new JenkinsBuildReports(db).claimStaged(key, report)).toBe(true);
    expect(builds.get(key)).toMatchObject({ state: 'staged', number: 2 });
    expect(spy).not.toHaveBeenCalled();
  });
});

import { AuditLog } from '../../src/audit/log.js';
import { verifyChain, chainFromDb } from '../../src/audit/verify.js';
import { Redactor } from '../../src/redact.js';
import { openDatabase } from '../../src/store/db.js';
import { Releases } from '../../src/store/releases.js';
import { ReportClaims, type ReportClaim } from '../../src/store/report-claims.js';
import { StagedBuilds } from '../../src/store/staged-builds.js';
import { commitStagedReport } from '../../src/store/staging-commit.js';
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
    const entry = (version: string) => () =>
      audit.append({
        project: 'conjur-cli',
        version,
        actor: { via: 'test' },
        type: 'staged',
        data: { build: {}, artifact: { kind: 'files', files: [] }, reportedBy: 'test' },
      });

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
});

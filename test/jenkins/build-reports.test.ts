import { jest } from '@jest/globals';
import { openDatabase } from '../../src/store/db.js';
import { JenkinsBuildReports } from '../../src/store/jenkins-build-reports.js';
import { makeTmpDir } from '../support/tmp.js';

describe('JenkinsBuildReports (one report per build for tokens without jti)', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  beforeEach(() => (tmp = makeTmpDir('release-bot-build-reports-')));
  afterEach(() => tmp.cleanup());

  const key = { issuer: 'https://jenkins.example/oidc', job: 'team/conjur-cli', number: 123 };
  const report = { project: 'conjur-cli', version: '4.2.0', bodySha256: 'a'.repeat(64) };

  it('claims a build once; the same report is `same`, anything else `other`; a staged claim survives a restart', () => {
    const db = openDatabase(tmp.dir);
    const reports = new JenkinsBuildReports(db);
    expect(reports.claim(key, report)).toEqual({ kind: 'claimed' });
    reports.confirm(key);
    expect(reports.claim(key, report)).toMatchObject({ kind: 'same', report: { state: 'staged', ...report } });
    expect(reports.claim(key, { ...report, version: '4.2.1' })).toMatchObject({ kind: 'other' });
    expect(reports.claim(key, { ...report, bodySha256: 'b'.repeat(64) })).toMatchObject({ kind: 'other' });
    // Another issuer's or job's build of the same number is another build.
    expect(reports.claim({ ...key, issuer: 'https://other.example/oidc' }, report)).toEqual({ kind: 'claimed' });
    expect(reports.claim({ ...key, job: 'conjur-cli' }, report)).toEqual({ kind: 'claimed' });
    // A release never frees a staged build.
    reports.release(key);
    db.close();
    const again = new JenkinsBuildReports(openDatabase(tmp.dir));
    expect(again.claim(key, { ...report, version: '4.2.1' })).toMatchObject({ kind: 'other', report: { version: '4.2.0' } });
  });

  it('frees a build whose staging failed, and one left staging by a process that died', () => {
    let now = new Date('2026-03-01T12:00:00Z');
    const db = openDatabase(tmp.dir);
    const reports = new JenkinsBuildReports(db, () => now);
    expect(reports.claim(key, report).kind).toBe('claimed');
    reports.release(key);
    expect(reports.claim(key, { ...report, version: '4.2.1' }).kind).toBe('claimed');
    expect(reports.claim(key, report)).toMatchObject({ kind: 'other', report: { state: 'staging' } });
    now = new Date(now.getTime() + 31 * 60_000);
    expect(reports.claim(key, report).kind).toBe('claimed');
    db.close();
  });

  it("a build's report prepares its statements once per connection (src/store/statements.ts), not per report", () => {
    const db = openDatabase(tmp.dir);
    const reports = new JenkinsBuildReports(db);
    expect(reports.get(key)).toBeUndefined();
    reports.claimStaged(key, report);
    const spy = jest.spyOn(db, 'prepare');
    const next = { ...key, number: key.number + 1 };
    expect(reports.get(next)).toBeUndefined();
    expect(new JenkinsBuildReports(db).claimStaged(next, report)).toBe(true);
    expect(reports.get(next)).toMatchObject({ state: 'staged', number: next.number });
    expect(spy).not.toHaveBeenCalled();
    db.close();
  });
});

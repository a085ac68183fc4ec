import { createHash } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { chainFromDb, verifyChain } from '../../src/audit/verify.js';
import { DATABASE_FILE } from '../../src/store/db.js';
import { startBot, type Bot } from './helpers/bot.js';
import { startJwksServer, type JwksServer } from './helpers/jwks-server.js';
import { pluginJwk, pluginToken } from './helpers/oidc-plugin.js';
import { botReport } from './helpers/reports.js';
import { token } from './helpers/tokens.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/**
 * A report is one transaction: its replay record (the build of a token without jti, or the jti), the
 * staged build and its audit entry commit together. The failure is injected after the first writes of
 * that transaction, where the disk or the database would fail: a trigger on the audit log (another
 * connection to the bot's own database, as an operator's sqlite3 would) refuses the `staged` entry.
 * Before the one commit, the build and the replay record were already committed by then: the build was
 * staged without its audit entry, and Jenkins' retry of the report was refused as a replay.
 */
describe('a build report is staged in one commit', () => {
  let bot: Bot;
  let jwks: JwksServer;
  let issuer: string;
  let root: string;
  let db: Database.Database;

  beforeAll(async () => {
    jwks = await startJwksServer({ keys: [pluginJwk()] }, { path: '/oidc/jwks' });
    root = jwks.root;
    issuer = `${root}oidc`;
    bot = await startBot({ JENKINS_JWKS_URL: jwks.url, JENKINS_JWT_ISSUER: issuer });
    db = new Database(path.join(bot.dataDir, DATABASE_FILE));
  }, 30_000);
  afterAll(async () => {
    db.close();
    await bot.stop();
    await jwks.close();
  });

  const failStagedEntries = () =>
    db.exec(
      `CREATE TRIGGER inject_failure BEFORE INSERT ON audit_log WHEN NEW.type = 'staged' BEGIN SELECT RAISE(ABORT, 'injected: the disk failed'); END`,
    );
  const heal = () => db.exec('DROP TRIGGER inject_failure');
  const report = (version: string, number: number) =>
    botReport({ version, build: { number }, artifacts: [{ path: `conjur-cli-${version}.gem`, sha256: sha(`gem ${version}`) }] });
  const stage = (version: string) => bot.stageFiles('conjur-cli', version, { [`conjur-cli-${version}.gem`]: `gem ${version}` });
  const stagedRows = (version: string) =>
    db.prepare("SELECT count(*) AS n FROM staged_builds WHERE project = 'conjur-cli' AND version = ?").get(version);
  const stagedEntries = (version: string) =>
    db.prepare("SELECT count(*) AS n FROM audit_log WHERE type = 'staged' AND project = 'conjur-cli' AND version = ?").get(version);

  it('a failure after the first write leaves neither the build record nor the staged build; the same token retried is staged once', async () => {
    const t = pluginToken({ issuer, jobUrl: `${root}job/conjur-cli/`, buildNumber: 777 });
    stage('7.7.0');
    failStagedEntries();
    try {
      const failed = await bot.post('/webhooks/jenkins', report('7.7.0', 777), bearer(t));
      expect(failed.status).toBe(500);
      expect(failed.raw).not.toContain('injected');
    } finally {
      heal();
    }
    expect(stagedRows('7.7.0')).toEqual({ n: 0 });
    expect(stagedEntries('7.7.0')).toEqual({ n: 0 });
    expect(db.prepare('SELECT count(*) AS n FROM jenkins_build_reports WHERE build_number = 777').get()).toEqual({ n: 0 });
    expect(bot.running.app.staged.current('conjur-cli', '7.7.0')).toBeUndefined();

    // Jenkins retries the same request: accepted, staged once, its build recorded as staged.
    const retried = await bot.post('/webhooks/jenkins', report('7.7.0', 777), bearer(t));
    expect(retried.status).toBe(202);
    expect(stagedRows('7.7.0')).toEqual({ n: 1 });
    expect(stagedEntries('7.7.0')).toEqual({ n: 1 });
    expect(db.prepare('SELECT state FROM jenkins_build_reports WHERE build_number = 777').all()).toEqual([{ state: 'staged' }]);
    // The refusal is audited, the staged entry chains after it: the chain is intact.
    expect(verifyChain(chainFromDb(db))).toMatchObject({ ok: true });
    const kinds = (db.prepare("SELECT type FROM audit_log WHERE version = '7.7.0' ORDER BY seq").all() as { type: string }[]).map(
      (r) => r.type,
    );
    expect(kinds).toEqual(['stage-refused', 'staged']);
  });

  it('with a jti: nothing is staged by the failed report, its token stays used, a new token stages it', async () => {
    stage('7.8.0');
    const body = JSON.stringify(report('7.8.0', 780));
    const t = token({ body, iss: issuer });
    failStagedEntries();
    try {
      expect((await bot.post('/webhooks/jenkins', body, bearer(t))).status).toBe(500);
    } finally {
      heal();
    }
    expect(stagedRows('7.8.0')).toEqual({ n: 0 });
    expect(stagedEntries('7.8.0')).toEqual({ n: 0 });
    // A token is good for one request, whatever its answer (as before the one commit).
    const replayed = await bot.post('/webhooks/jenkins', body, bearer(t));
    expect(replayed.status).toBe(401);
    expect(replayed.json.error).toMatch(/already used \(same jti\)/);
    expect(stagedRows('7.8.0')).toEqual({ n: 0 });
    const fresh = await bot.post('/webhooks/jenkins', body, bearer(token({ body, iss: issuer })));
    expect(fresh.status).toBe(202);
    expect(stagedRows('7.8.0')).toEqual({ n: 1 });
    expect(stagedEntries('7.8.0')).toEqual({ n: 1 });
    expect(verifyChain(chainFromDb(db))).toMatchObject({ ok: true });
  });
});

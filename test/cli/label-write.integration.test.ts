import { execFile } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { startBotEnv, type BotEnv } from '../audit/bot-env.js';
import { project } from '../support/projects-file.js';
import { repoRoot, type CliResult } from '../support/cli.js';

const NOBODY = 65534;
const canRunAsNobody = process.getuid?.() === 0 && existsSync('/usr/sbin/runuser');

/** Chowns a tree: modes stop writes only for a non-root user, so these tests run the CLI as nobody. */
function chownTree(p: string, uid: number): void {
  chownSync(p, uid, uid);
  if (statSync(p).isDirectory()) for (const e of readdirSync(p)) chownTree(path.join(p, e), uid);
}

/**
 * The release label goes beside the staged files, and the same label to every destination: a
 * staging directory release-bot cannot write to fails the release before any destination runs,
 * instead of a release that reports published without its label.
 */
(canRunAsNobody ? describe : describe.skip)('a release label that cannot be written fails the release before any destination runs', () => {
  let bot: BotEnv;
  let out: string;
  const asNobody = (...args: string[]): Promise<CliResult> =>
    new Promise((resolve) => {
      const env = Object.entries({ PATH: process.env.PATH, ...bot.env }).map(([k, v]) => `${k}=${v}`);
      execFile(
        '/usr/sbin/runuser',
        ['-u', 'nobody', '--', 'env', '-i', ...env, process.execPath, path.join(repoRoot, 'bin/release-bot.js'), ...args],
        { cwd: '/', timeout: 60_000 },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    bot = await startBotEnv((dir) => {
      out = path.join(dir, 'out');
      return { 'conjur-cli': project('conjur-cli', [{ name: 'mirror', type: 'directory', path: `${out}/{project}/{version}` }]) };
    });
  });
  afterAll(async () => {
    await bot.close();
  });

  it('refuses (audited, nothing published) while the staging directory is read-only to the bot; once writable, publishes with the label in place', async () => {
    const versionDir = bot.stageFiles('conjur-cli', '4.2.0', { 'conjur-cli-4.2.0.gem': 'gem bytes' });
    chownTree(bot.dir, NOBODY);
    // The version's directory is root's, 0755: readable, not writable, by the bot.
    chownSync(versionDir, 0, 0);
    expect((await asNobody('stage', 'conjur-cli', '4.2.0')).code).toBe(0);

    const dry = await asNobody('publish', 'conjur-cli', '4.2.0', '--as', 'alice', '--dry-run');
    expect(dry.code).toBe(78);
    expect(dry.stdout).toContain('cannot write the release label into the staging directory');

    const r = await asNobody('publish', 'conjur-cli', '4.2.0', '--as', 'alice');
    expect(r.code).toBe(78);
    expect(r.stdout).toMatch(/^Release FAILED: conjur-cli 4\.2\.0 \(failed\)/);
    expect(r.stdout).toContain('(EACCES): release-bot writes it beside the staged files; give it write access there');
    expect(existsSync(out)).toBe(false);
    const audit = JSON.parse((await asNobody('audit', 'list', '--json', '--limit', '1')).stdout);
    expect(audit).toMatchObject({ type: 'failed', version: '4.2.0', data: { error: { code: 'CONFIG_INVALID' }, destinations: [] } });

    chownSync(versionDir, NOBODY, NOBODY);
    const ok = await asNobody('publish', 'conjur-cli', '4.2.0', '--as', 'alice');
    expect(ok.code).toBe(0);
    expect(JSON.parse(readFileSync(path.join(versionDir, 'conjur-cli-4.2.0.release.json'), 'utf8'))).toMatchObject({
      project: 'conjur-cli',
      version: '4.2.0',
      requester: 'alice',
    });
    expect(readdirSync(versionDir).sort()).toEqual(['conjur-cli-4.2.0.gem', 'conjur-cli-4.2.0.release.json']);
    expect(readFileSync(path.join(out, 'conjur-cli/4.2.0/conjur-cli-4.2.0.release.json'), 'utf8')).toBe(
      readFileSync(path.join(versionDir, 'conjur-cli-4.2.0.release.json'), 'utf8'),
    );
    const published = JSON.parse((await asNobody('audit', 'list', '--json', '--limit', '1')).stdout);
    expect(published).toMatchObject({ type: 'published', data: { labelWritten: true } });
  });
});

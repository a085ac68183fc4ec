import { mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { CliResult } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { startBot, type Bot } from './helpers/bot.js';
import { notifyForms } from './helpers/notify-forms.js';
import { HS_SECRET } from './helpers/tokens.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * `release-bot notify` run as a process (the built CLI), as a Jenkins stage runs it, against a running
 * bot; and the single file Jenkins agents run without the package, which must answer the same.
 */
describe.each(notifyForms)('$name (a process) against a running release-bot', ({ run }) => {
  let bot: Bot;
  let workspace: string;
  const outputs: string[] = [];
  const notify = async (args: string[], env: NodeJS.ProcessEnv = { JENKINS_JWT_SECRET: HS_SECRET }): Promise<CliResult> => {
    const r = await run(args, env);
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  /** The Jenkins side builds files in its workspace, then "scp"s them to the staging directory. */
  const build = (version: string, files: Record<string, string>, staged: Record<string, string> = files) => {
    const dir = path.join(workspace, version);
    mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), content);
    }
    bot.stageFiles('conjur-cli', version, staged);
    return Object.keys(files).map((f) => path.join(dir, f));
  };

  beforeAll(async () => {
    bot = await startBot();
    workspace = path.join(bot.tmpDir, 'workspace');
    mkdirSync(workspace);
  });
  afterAll(() => bot.stop());

  it('hashes the files, signs, posts, prints the digests and exits 0 when staged', async () => {
    const files = build('12.0.0', { 'conjur-cli-12.0.0.gem': 'twelve', 'conjur-cli-12.0.0.gem.sig': 'sig' });
    const r = await notify([
      '--url',
      bot.url,
      '--project',
      'conjur-cli',
      '--version',
      '12.0.0',
      '--job',
      'conjur-cli',
      '--build-number',
      '55',
      '--build-url',
      'https://jenkins.example/job/conjur-cli/55/',
      '--commit',
      'abc1234',
      ...files,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `staged: conjur-cli 12.0.0\n  ${sha('twelve')}  conjur-cli-12.0.0.gem\n  ${sha('sig')}  conjur-cli-12.0.0.gem.sig\n`,
    );
    expect(bot.running.app.staged.current('conjur-cli', '12.0.0')).toMatchObject({
      build: { job: 'conjur-cli', number: 55, commit: 'abc1234' },
      reportedBy: 'jenkins:conjur-cli (jwt)',
    });
  });

  it("exits 0 for the same build again (unchanged), reading Jenkins' own variables", async () => {
    const files = build('12.0.0', { 'conjur-cli-12.0.0.gem': 'twelve', 'conjur-cli-12.0.0.gem.sig': 'sig' });
    const r = await notify(['--url', `${bot.url}/webhooks/jenkins`, '--project', 'conjur-cli', '--version', '12.0.0', ...files], {
      JENKINS_JWT_SECRET: HS_SECRET,
      JOB_NAME: 'conjur-cli',
      BUILD_NUMBER: '55',
      BUILD_URL: 'https://jenkins.example/job/conjur-cli/55/',
      GIT_COMMIT: 'abc1234',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^unchanged: conjur-cli 12\.0\.0/);
  });

  it('reports paths relative to --base', async () => {
    const files = build('12.1.0', { 'pkg/conjur-cli.deb': 'deb', 'pkg/conjur-cli.rpm': 'rpm' });
    const r = await notify([
      '--url',
      bot.url,
      '--project',
      'conjur-cli',
      '--version',
      '12.1.0',
      '--base',
      path.join(workspace, '12.1.0'),
      ...files,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pkg/conjur-cli.deb');
    const json = await notify([
      '--url',
      bot.url,
      '--project',
      'conjur-cli',
      '--version',
      '12.1.0',
      '--base',
      path.join(workspace, '12.1.0'),
      '--json',
      ...files,
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      httpStatus: 200,
      status: 'unchanged',
      digests: {
        files: [
          { path: 'pkg/conjur-cli.deb', sha256: sha('deb') },
          { path: 'pkg/conjur-cli.rpm', sha256: sha('rpm') },
        ],
      },
    });
  });

  it('exits 65 when the staged file is not what Jenkins built, printing the problem', async () => {
    const files = build('12.2.0', { 'conjur-cli-12.2.0.gem': 'built' }, { 'conjur-cli-12.2.0.gem': 'tampered in transit' });
    const r = await notify(['--url', bot.url, '--project', 'conjur-cli', '--version', '12.2.0', ...files]);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(
      /^release-bot: HTTP 422: the staged files do not match the report.* \[ARTIFACT_MISMATCH\]\n {2}- conjur-cli-12\.2\.0\.gem has sha256/,
    );
    expect(bot.running.app.staged.current('conjur-cli', '12.2.0')).toBeUndefined();
  });

  it('exits 77 when the job may not report the project (403)', async () => {
    const files = build('12.3.0', { 'conjur-cli-12.3.0.gem': 'x' });
    const r = await notify(['--url', bot.url, '--project', 'conjur-cli', '--version', '12.3.0', '--job', 'team/secretless', ...files]);
    expect(r.code).toBe(77);
    expect(r.stderr).toMatch(/HTTP 403: job team\/secretless may not report builds of conjur-cli/);
  });

  it("exits 77 when the secret is not the bot's (401)", async () => {
    const files = build('12.4.0', { 'conjur-cli-12.4.0.gem': 'x' });
    const r = await notify(['--url', bot.url, '--project', 'conjur-cli', '--version', '12.4.0', ...files], {
      JENKINS_JWT_SECRET: `wrong-${HS_SECRET}`,
    });
    expect(r.code).toBe(77);
    expect(r.stderr).toMatch(/HTTP 401: the token signature is invalid \[WEBHOOK_UNAUTHENTICATED\]/);
  });

  it('fails before posting without a usable secret, with missing files, or when the bot is down', async () => {
    const files = build('12.5.0', { 'conjur-cli-12.5.0.gem': 'x' });
    const noSecret = await notify(['--url', bot.url, '--project', 'conjur-cli', '--version', '12.5.0', ...files], {});
    expect(noSecret.code).toBe(78);
    expect(noSecret.stderr).toMatch(/JENKINS_JWT_SECRET is not set: bind the shared secret/);
    const missing = await notify(['--url', bot.url, '--project', 'conjur-cli', '--version', '12.5.0', path.join(workspace, 'nope.gem')]);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toMatch(/nope\.gem is not a readable file/);
    const down = await notify([
      '--retries',
      '0',
      '--url',
      `http://127.0.0.1:${await freePort()}`,
      '--project',
      'conjur-cli',
      '--version',
      '12.5.0',
      ...files,
    ]);
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/cannot reach release-bot at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    expect(bot.running.app.staged.current('conjur-cli', '12.5.0')).toBeUndefined();
  });

  it('never prints the secret', () => {
    expect(outputs.join('')).toContain('conjur-cli');
    expect(outputs.join('')).not.toContain(HS_SECRET);
  });
});

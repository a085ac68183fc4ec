import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/cli.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { API_KEY, startBotEnv, type BotEnv, mirrorProject } from '../audit/bot-env.js';

const TOKEN = 'ssh-mirror-token-canary-9a7c1e5b3f';

interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The forced command runs the built CLI through a real sshd: `restrict` plus `command="..."` in
 * authorized_keys, exactly as deploy/ssh/authorized_keys.example shows. The bot's configuration
 * reaches it through --environment-file, as in production (the systemd EnvironmentFile).
 */
describe('release-bot ssh-command through a real sshd', () => {
  let bot: BotEnv;
  let sshd: TestSshd;
  let envFile: string;
  const outputs: string[] = [];
  const forced = (login: string) =>
    `restrict,command="${process.execPath} ${path.join(repoRoot, 'bin', 'release-bot.js')} ssh-command --as ${login} --environment-file ${envFile}"`;

  /** `ssh 127.0.0.1 <command>`; without a command the client asks for a shell. */
  const ssh = (command?: string): Promise<SshResult> =>
    new Promise((resolve) => {
      const args = [...sshd.sshArgs, '-T', '--', '127.0.0.1', ...(command === undefined ? [] : [command])];
      execFile('ssh', args, { timeout: 60_000 }, (err, stdout, stderr) => {
        outputs.push(stdout, stderr);
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 255) : 0, stdout, stderr });
      });
    });

  beforeAll(async () => {
    bot = await startBotEnv((dir) => mirrorProject(dir), {
      variables: { 'release/mirror/token': { value: TOKEN, readers: ['host:release-bot'] } },
    });
    envFile = path.join(bot.dir, 'release-bot.env');
    writeFileSync(
      envFile,
      `${Object.entries(bot.env)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n')}\n`,
      { mode: 0o600 },
    );
    sshd = await startSshd({ authorizedKeys: (key) => `${forced('alice')} ${key}` });
    bot.stageFiles('conjur-cli', '4.2.0', { 'conjur-cli-4.2.0.gem': 'gem bytes 4.2.0' });
    expect((await bot.cli('stage', 'conjur-cli', '4.2.0', '--build-number', '123')).code).toBe(0);
  });

  afterAll(async () => {
    await sshd?.stop();
    await bot?.close();
  });

  it('publishes for `publish <project> <version>`, as the login the key names', async () => {
    const r = await ssh('publish conjur-cli 4.2.0');
    expect(r.stderr).not.toMatch(/"level":(50|60)|^release-bot: (error|fatal):/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Released conjur-cli 4\.2\.0 \(published\)/);
    expect(r.stdout).toContain('requested by: alice');
    expect(readFileSync(path.join(bot.dir, 'mirror/conjur-cli/4.2.0/conjur-cli-4.2.0.gem'), 'utf8')).toBe('gem bytes 4.2.0');
    const audit = JSON.parse((await bot.cli('audit', 'list', '--json', '--limit', '1')).stdout);
    expect(audit).toMatchObject({ type: 'published', version: '4.2.0', actor: { via: 'ssh', conjurLogin: 'alice' } });
  });

  it('answers status, and refuses to publish a released version again', async () => {
    const status = await ssh('status conjur-cli 4.2.0');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/releases:\n {2}4\.2\.0 published by alice/);
    const again = await ssh('publish conjur-cli 4.2.0');
    expect(again.code).toBe(73);
    expect(again.stderr).toContain('already released');
  });

  const refusals: [string, string | undefined, RegExp][] = [
    ['a shell', 'bash', /unknown command "bash"/],
    ['a command after ;', 'publish x; rm -rf /', /shell syntax is not accepted: ";"/],
    ['a command after &&', 'publish conjur-cli 4.2.0 && id', /shell syntax is not accepted: "&"/],
    ['command substitution', 'publish conjur-cli $(id)', /shell syntax is not accepted: "\$"/],
    ['a pipe', 'status conjur-cli | sh', /shell syntax is not accepted: "\|"/],
    ['a second line', 'status conjur-cli\nid', /shell syntax is not accepted: a newline/],
    ['scp', 'scp -t /tmp', /unknown command "scp"/],
    ['an unknown command', 'deploy conjur-cli 4.2.0', /unknown command "deploy"/],
    ['an extra argument', 'publish conjur-cli 4.2.0 now', /unexpected extra argument "now"/],
    ['another identity', 'publish conjur-cli 4.2.0 --as root', /publish: unexpected extra argument "--as"/],
    [
      'a dry run (not in the contract)',
      'publish conjur-cli 4.3.0 --dry-run',
      /publish: unexpected extra argument "--dry-run": over ssh, publish takes exactly <project> <version>/,
    ],
    ['a resume (not in the contract)', 'publish conjur-cli 4.2.0 --resume', /publish: unexpected extra argument "--resume"/],
    ['an unknown stage option', 'stage conjur-cli 4.3.0 --image registry/x', /stage: unknown option or extra argument "--image"/],
    ['an invalid stage value', 'stage conjur-cli 4.3.0 --commit HEAD', /stage: --commit must be a commit hash/],
    ['a missing argument', 'publish conjur-cli', /publish: missing <version>/],
    ['an interactive login', undefined, /no command given: interactive logins are not allowed/],
  ];

  it.each(refusals)('refuses %s with a clear message and exit 64', async (_what, command, message) => {
    const marker = path.join(bot.dir, 'pwned');
    const r = await ssh(command?.replace('rm -rf /', `touch ${marker}`));
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('This key runs only: publish <project> <version>');
    expect(r.stdout).toBe('');
    expect(r.stdout + r.stderr).not.toMatch(/uid=\d+/);
    expect(existsSync(marker)).toBe(false);
  });

  it('audits every refused command with the command text and client address', async () => {
    const entries = (await bot.cli('audit', 'list', '--json', '--limit', '100')).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const refused = entries.filter((e) => e.type === 'denied' && e.actor.via === 'ssh' && e.data.code === 'BAD_INPUT');
    expect(refused.length).toBe(refusals.length);
    expect(refused.map((e) => e.data.sshCommand)).toContain('bash');
    expect(refused.map((e) => e.data.sshCommand)).toContain(null);
    expect(refused[0].data.sshClient).toBe('127.0.0.1');
    expect(refused[0].actor.conjurLogin).toBe('alice');
  });

  it('stages for a member of the project group, and refuses a key whose login is not one', async () => {
    bot.stageFiles('conjur-cli', '4.3.0', { 'conjur-cli-4.3.0.gem': 'gem bytes 4.3.0' });
    const staged = await ssh('stage conjur-cli 4.3.0 --build-number 7 --commit 9fceb02');
    expect(staged.code).toBe(0);
    expect(staged.stdout).toMatch(/^staged: conjur-cli 4\.3\.0\n {2}[0-9a-f]{64} {2}conjur-cli-4\.3\.0\.gem/);

    sshd.setAuthorizedKeys(`${forced('bob')} ${sshd.clientKey.publicKey}`);
    try {
      const publish = await ssh('publish conjur-cli 4.3.0');
      expect(publish.code).toBe(77);
      expect(publish.stderr).toContain('bob is not a member of the Conjur group release/conjur-cli');
      const stage = await ssh('stage conjur-cli 4.3.0 --build-number 8');
      expect(stage.code).toBe(77);
      expect(existsSync(path.join(bot.dir, 'mirror/conjur-cli/4.3.0'))).toBe(false);
      const latest = JSON.parse((await bot.cli('audit', 'list', '--json', '--limit', '1')).stdout);
      expect(latest).toMatchObject({ type: 'stage-refused', actor: { via: 'ssh', conjurLogin: 'bob' }, data: { code: 'NOT_AUTHORIZED' } });
    } finally {
      sshd.setAuthorizedKeys(`${forced('alice')} ${sshd.clientKey.publicKey}`);
    }
  });

  it('never shows a secret to the ssh client', () => {
    const all = outputs.join('\n');
    expect(all).toContain('conjur-cli');
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain(API_KEY);
  });
});

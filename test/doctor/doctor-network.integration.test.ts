import path from 'node:path';
import { startSlackStandIn, type SlackStandIn } from '../../dev/slack-stand-in.js';
import { API_KEY, mirrorDestination, startBotEnv, type BotEnv } from '../audit/bot-env.js';
import { project } from '../support/projects-file.js';
import { startJwksServer, type JwksServer } from '../jenkins/helpers/jwks-server.js';
import { pluginJwk } from '../jenkins/helpers/oidc-plugin.js';
import { runCli } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { makeTmpDir } from '../support/tmp.js';
import { startVerdaccio, type Verdaccio } from '../support/verdaccio.js';

const BOT_TOKEN = 'xoxb-doctor-integration-canary-4d2a7f19c3';
const MIRROR = 'doctor-net-mirror-canary-8e1c5a3f7b';

/**
 * `release-bot doctor` as an operator runs it, against the loopback stand-ins: the Slack Web API
 * stand-in (auth.test with x-oauth-scopes), a JWKS as Jenkins' OIDC provider plugin serves it, a real
 * Verdaccio (npm), a real sshd (ssh) and a GitHub API URL where nothing listens.
 */
describe('release-bot doctor: the network', () => {
  let bot: BotEnv;
  let slack: SlackStandIn;
  let jwks: JwksServer;
  let verdaccio: Verdaccio;
  let sshd: TestSshd;
  let deadPort: number;
  const tmp = makeTmpDir('release-bot-doctor-net-');

  beforeAll(async () => {
    // chat:write missing: the app was installed before the manifest asked for it.
    slack = await startSlackStandIn({ token: BOT_TOKEN, scopes: ['commands', 'users:read'] });
    jwks = await startJwksServer({ keys: [pluginJwk()] }, { path: '/oidc/jwks' });
    verdaccio = await startVerdaccio(path.join(tmp.dir, 'registry'));
    sshd = await startSshd();
    deadPort = await freePort();
    bot = await startBotEnv(
      (dir) => ({
        'conjur-cli': project('conjur-cli', [
          mirrorDestination(dir),
          { name: 'npmjs', type: 'npm', registry: verdaccio.url, credentials: { NPM_TOKEN: 'release/mirror/token' } },
          {
            name: 'downloads',
            type: 'ssh',
            host: sshd.host,
            port: sshd.port,
            user: sshd.user,
            path: '/srv/{project}/{version}',
            known_hosts: sshd.hostKeyLine,
            credentials: { SSH_PRIVATE_KEY: 'release/mirror/token' },
          },
          {
            name: 'gh',
            type: 'github',
            repository: 'cyberark/conjur-cli',
            api_url: `http://127.0.0.1:${deadPort}`,
            credentials: { GITHUB_TOKEN: 'release/mirror/token' },
          },
        ]),
      }),
      { variables: { 'release/mirror/token': { value: MIRROR, readers: ['host:release-bot'] } } },
    );
    bot.env = {
      ...bot.env,
      SLACK_SIGNING_SECRET: 's'.repeat(32),
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: slack.apiUrl,
      JENKINS_JWKS_URL: jwks.url,
    };
  });

  afterAll(async () => {
    await bot?.close();
    await sshd?.stop();
    await verdaccio?.stop();
    await jwks?.close();
    await slack?.close();
    tmp.cleanup();
  });

  it('checks Slack, the JWKS and every destination, one line each, with the fix for each failure', async () => {
    const mark = slack.mark();
    const r = await runCli(['doctor'], bot.env);
    expect(r.stdout).toContain('  ok    Slack bot token: auth.test ok (release-bot in stand-in)');
    expect(r.stdout).toMatch(
      /^ {2}FAIL {2}Slack scopes: the bot token lacks chat:write: add it under OAuth & Permissions -> Bot Token Scopes \(deploy\/slack\/manifest\.yml lists them\) and reinstall the app/m,
    );
    expect(r.stdout).toContain(`  ok    Jenkins JWKS ${jwks.url}: 1 RS256 and 0 ES256 key(s)`);
    expect(r.stdout).toContain(
      `  ok    destination conjur-cli/npmjs (${verdaccio.url.replace(/\/$/, '')}/-/ping): npm registry answers (HTTP 200)`,
    );
    expect(r.stdout).toContain(`  ok    destination conjur-cli/downloads (127.0.0.1:${sshd.port}): ssh server answers`);
    expect(r.stdout).toMatch(
      new RegExp(
        `^ {2}FAIL {2}destination conjur-cli/gh \\(http://127\\.0\\.0\\.1:${deadPort}/\\): the connection was refused \\(ECONNREFUSED\\): nothing listens there`,
        'm',
      ),
    );
    expect(r.code).toBe(1);
    // One auth.test with the bot token; nothing posted anywhere.
    expect(slack.callsSince(mark).map((c) => [c.method, c.authorized])).toEqual([['auth.test', true]]);
    for (const canary of [BOT_TOKEN, MIRROR, API_KEY]) expect(r.stdout + r.stderr).not.toContain(canary);
  });

  it('names the refused Slack token and the refused Conjur API key once each, and does not call a 401 "no answer"', async () => {
    const wrongToken = 'xoxb-doctor-wrong-canary-77aa31';
    const wrongKey = `apikey-wrong-canary-${'w'.repeat(35)}`;
    const r = await runCli(['doctor'], { ...bot.env, SLACK_BOT_TOKEN: wrongToken, CONJUR_AUTHN_API_KEY: wrongKey });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^ {2}FAIL {2}Slack bot token: Slack refused SLACK_BOT_TOKEN \(invalid_auth\): copy the Bot User OAuth Token/m,
    );
    expect(r.stdout).toContain(
      `  FAIL  Conjur identity: ${bot.conjur.url} refused the API key of host/release-bot (401): CONJUR_AUTHN_API_KEY is wrong or was rotated; rotate it (conjur host rotate-api-key -i release-bot)`,
    );
    expect(r.stdout).toContain(
      "  FAIL  Conjur variable release/mirror/token: not checked: Conjur refused the bot's login (see Conjur identity)",
    );
    expect(r.stdout).not.toContain('did not answer');
    expect(r.stdout.match(/host\/release-bot/g)?.length).toBeLessThanOrEqual(2);
    for (const canary of [wrongToken, wrongKey, BOT_TOKEN, MIRROR, API_KEY]) expect(r.stdout + r.stderr).not.toContain(canary);
  });

  it('fails a JWKS that is not public, saying which variable and what it must be', async () => {
    jwks.setStatus(403);
    try {
      const r = await runCli(['doctor', '--json'], bot.env);
      const checks = JSON.parse(r.stdout) as Array<{ ok: boolean; name: string; detail: string }>;
      expect(checks.find((c) => c.name === `Jenkins JWKS ${jwks.url}`)).toEqual({
        ok: false,
        name: `Jenkins JWKS ${jwks.url}`,
        detail: expect.stringMatching(/^answers 403: the bot reads it without credentials, so it must be public/),
      });
    } finally {
      jwks.setStatus(200);
    }
  });
});

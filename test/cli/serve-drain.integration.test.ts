import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sendSlackRequest, slashCommand } from '../../dev/slack-requests.js';
import { startSlackStandIn, type SlackStandIn } from '../../dev/slack-stand-in.js';
import { startBotEnv, type BotEnv } from '../audit/bot-env.js';
import { project } from '../support/projects-file.js';
import { repoRoot } from '../support/cli.js';
import { spawnServe, waitFor, type ServeProcess } from '../support/serve-process.js';
import { stopChild } from '../support/stop-child.js';

const SIGNING_SECRET = 'signing-secret-drain-test-4f8a2c6e';
const BOT_TOKEN = 'xoxb-drain-test-000000000-bot-token';
const DOWNLOADS_TOKEN = 'dl-token-canary-drain-71c3e9';

/**
 * SIGTERM while a release runs: `release-bot serve` stops taking requests, lets the release finish
 * (published, audited, announced), and exits 0.
 */
describe('release-bot serve drains on SIGTERM', () => {
  let bot: BotEnv;
  let slack: SlackStandIn;
  let out: string;
  let serve: ServeProcess | undefined;

  beforeAll(async () => {
    bot = await startBotEnv(
      (dir) => {
        out = path.join(dir, 'downloads');
        return {
          'conjur-cli': project('conjur-cli', [
            {
              name: 'downloads',
              type: 'exec',
              command: [path.join(repoRoot, 'test/fixtures/slack/slow-publish.sh'), '{project}', '{version}', '{dir}'],
              env: { OUT_DIR: out, SLEEP_SECONDS: '4' },
              credentials: { DOWNLOADS_TOKEN: 'release/downloads/token' },
              retries: 0,
            },
          ]),
        };
      },
      { variables: { 'release/downloads/token': { value: DOWNLOADS_TOKEN, readers: ['host:release-bot'] } } },
    );
    slack = await startSlackStandIn({ token: BOT_TOKEN, users: [{ id: 'U024BE7LH', name: 'alice' }] });
  });

  afterAll(async () => {
    if (serve) await stopChild(serve.child);
    await slack.close();
    await bot.close();
  });

  it('finishes the running release (published, audited), refuses new requests meanwhile, and exits 0', async () => {
    bot.stageFiles('conjur-cli', '5.0.0', { 'conjur-cli-5.0.0.gem': 'gem bytes 5.0.0' });
    expect((await bot.cli('stage', 'conjur-cli', '5.0.0', '--build-number', '50')).code).toBe(0);
    serve = await spawnServe(bot.env, { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, apiUrl: slack.apiUrl });
    const { port, output, exited } = serve;
    const events = `http://127.0.0.1:${port}/slack/events`;

    const ask = await sendSlackRequest(events, slashCommand({ text: 'conjur-cli 5.0.0', response_url: slack.responseUrl() }), {
      signingSecret: SIGNING_SECRET,
    });
    expect(ask.status).toBe(200);
    // The release message says the destination runs (it is posted once the destinations start): the script is now sleeping.
    await slack.waitFor(
      (c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && String(c.body.text).includes('- downloads: running'),
    );
    expect(existsSync(path.join(out, 'conjur-cli/5.0.0'))).toBe(false);

    serve.child.kill('SIGTERM');
    await waitFor('serve to start draining', () => output().includes('stopping: draining in-flight releases'), 30_000);
    // Draining: no new request gets in.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    await expect(
      sendSlackRequest(events, slashCommand({ text: 'list', response_url: slack.responseUrl() }), { signingSecret: SIGNING_SECRET }),
    ).rejects.toThrow();
    expect(serve.child.exitCode).toBeNull();

    expect(await exited).toBe(0);
    serve = undefined;
    expect(
      JSON.parse(
        output()
          .split('\n')
          .find((l) => l.includes('stopping: draining')) as string,
      ),
    ).toMatchObject({ inFlight: 1 });
    expect(readFileSync(path.join(out, 'conjur-cli/5.0.0/conjur-cli-5.0.0.gem'), 'utf8')).toBe('gem bytes 5.0.0');
    const status = JSON.parse((await bot.cli('status', 'conjur-cli', '5.0.0', '--json')).stdout);
    expect(status.releases[0]).toMatchObject({ state: 'published' });
    const latest = JSON.parse((await bot.cli('audit', 'list', '--json', '--limit', '1')).stdout);
    expect(latest).toMatchObject({
      type: 'published',
      version: '5.0.0',
      releaseId: status.releases[0].id,
      actor: { via: 'slack', conjurLogin: 'alice' },
    });
    expect((await bot.cli('audit', 'verify')).code).toBe(0);
    // The channel got the final summary before the process went.
    const summary = slack.calls.find(
      (c) => c.method === 'chat.update' && JSON.stringify(c.body).includes(status.releases[0].id) && /published/i.test(String(c.body.text)),
    );
    expect(summary).toBeDefined();
    expect(output()).not.toContain(DOWNLOADS_TOKEN);
  });
});

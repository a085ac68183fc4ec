import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { sendSlackRequest, slashCommand } from '../../dev/slack-requests.js';
import { startSlackStandIn, type SlackStandIn } from '../../dev/slack-stand-in.js';
import { mirrorProject, startBotEnv, type BotEnv } from '../audit/bot-env.js';
import { spawnServe, waitFor, type ServeProcess } from '../support/serve-process.js';
import { stopChild } from '../support/stop-child.js';

const SIGNING_SECRET = 'signing-secret-thread-test-9b1d3f5a';
const BOT_TOKEN = 'xoxb-thread-test-000000000-bot-token';
const MIRROR_TOKEN = 'mirror-token-canary-thread-5c2e8a';

/**
 * `release-bot serve` runs releases in a worker thread (app/release-thread.ts): a release stalled
 * synchronously in SQLite (another connection holds the write lock, so its commit busy-waits, which
 * blocks the thread that runs it) does not hold up the event loop that acknowledges Slack. Run
 * in-process, the stalled commit would block the acknowledgement until SQLite gave up (busy_timeout)
 * and the release would fail; in its thread the release waits, then publishes.
 */
describe('release-bot serve: releases run off the thread that acknowledges Slack', () => {
  let bot: BotEnv;
  let slack: SlackStandIn;
  let serve: ServeProcess | undefined;

  beforeAll(async () => {
    bot = await startBotEnv((dir) => mirrorProject(dir), {
      variables: { 'release/mirror/token': { value: MIRROR_TOKEN, readers: ['host:release-bot'] } },
    });
    slack = await startSlackStandIn({ token: BOT_TOKEN, users: [{ id: 'U024BE7LH', name: 'alice' }] });
  });

  afterAll(async () => {
    if (serve) await stopChild(serve.child);
    await slack.close();
    await bot.close();
  });

  it('answers /release help while a release is stalled in a synchronous SQLite wait, then publishes it', async () => {
    bot.stageFiles('conjur-cli', '5.1.0', { 'conjur-cli-5.1.0.gem': 'gem bytes 5.1.0' });
    expect((await bot.cli('stage', 'conjur-cli', '5.1.0', '--build-number', '51')).code).toBe(0);
    serve = await spawnServe(bot.env, { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, apiUrl: slack.apiUrl });
    const { port, output } = serve;
    const events = `http://127.0.0.1:${port}/slack/events`;
    // Another writer holds the database's write lock: the release's first commit waits for it.
    const holder = new Database(path.join(bot.dataDir, 'release-bot.sqlite'));
    holder.pragma('busy_timeout = 10000');
    holder.prepare('BEGIN IMMEDIATE').run();
    try {
      const seen = bot.conjur.requests.length;
      const ask = await sendSlackRequest(events, slashCommand({ text: 'conjur-cli 5.1.0', response_url: slack.responseUrl() }), {
        signingSecret: SIGNING_SECRET,
      });
      expect(ask.status).toBe(200);
      // Membership (the group's sentinel) is checked just before the release takes its lock in the database.
      await waitFor('the membership check', () => bot.conjur.requests.slice(seen).some((r) => /conjur-cli|alice/.test(r.path)));
      // Time for the release to reach its commit (not needed to pass: it makes an in-process stall certain to be caught).
      await new Promise((r) => setTimeout(r, 1_000));
      const help = await sendSlackRequest(events, slashCommand({ text: 'help', response_url: slack.responseUrl() }), {
        signingSecret: SIGNING_SECRET,
      });
      expect(help.status).toBe(200);
      expect(help.body).toContain('release-bot commands');
      // Nothing of the release is recorded yet: it still waits for the lock.
      expect(holder.prepare("SELECT count(*) AS n FROM releases WHERE project = 'conjur-cli'").get()).toEqual({ n: 0 });
    } finally {
      holder.prepare('ROLLBACK').run();
      holder.close();
    }
    await waitFor('the release to be published', async () => {
      const status = JSON.parse((await bot.cli('status', 'conjur-cli', '5.1.0', '--json')).stdout) as { releases: { state: string }[] };
      return status.releases[0]?.state === 'published';
    });
    expect(readFileSync(path.join(bot.dir, 'mirror/conjur-cli/5.1.0/conjur-cli-5.1.0.gem'), 'utf8')).toBe('gem bytes 5.1.0');
    // The release's messages still reach the channel from the serving thread, and no credential leaves.
    await slack.waitFor((c) => c.method === 'chat.update' && /published/i.test(String(c.body.text)));
    expect(JSON.stringify(slack.calls)).not.toContain(MIRROR_TOKEN);
    expect(output()).not.toContain(MIRROR_TOKEN);
    // Announced once, by the progress message: not again as a release run by another process.
    expect(output()).not.toContain('announcing a release run by another process');
    // The release thread's log lines are written by serve, as its own were.
    expect(output()).toMatch(/"state":"published".*"msg":"release finished"/);
  }, 180_000);
});

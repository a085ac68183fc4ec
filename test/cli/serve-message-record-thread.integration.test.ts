import { createServer, type Server } from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { sendSlackRequest, slashCommand } from '../../dev/slack-requests.js';
import { startSlackStandIn, type SlackStandIn } from '../../dev/slack-stand-in.js';
import { mirrorProject, startBotEnv, type BotEnv } from '../audit/bot-env.js';
import { spawnServe, waitFor, type ServeProcess } from '../support/serve-process.js';
import { stopChild } from '../support/stop-child.js';

const SIGNING_SECRET = 'signing-secret-record-test-4e7a1c9d';
const BOT_TOKEN = 'xoxb-record-test-000000000-bot-token';
const MIRROR_TOKEN = 'mirror-token-canary-record-8d3f1b';

/**
 * Between the bot and the Slack stand-in: passes every call through unchanged, but holds the answer to
 * a release's channel message (a chat.postMessage outside a thread) until `open()`. Nothing is added
 * or changed: the bot sees Slack's answer, only later.
 */
async function gatedSlack(
  slack: SlackStandIn,
): Promise<{ apiUrl: string; held: () => boolean; delivered: () => boolean; open(): void; close(): Promise<void> }> {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let held = false;
  let delivered = false;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const hold = req.url === '/api/chat.postMessage' && !body.toString('utf8').includes('thread_ts');
      if (hold) held = true;
      void (hold ? gate : Promise.resolve())
        .then(async () => {
          const headers: Record<string, string> = {};
          for (const name of ['content-type', 'authorization']) if (req.headers[name]) headers[name] = String(req.headers[name]);
          const answer = await fetch(`${slack.url}${req.url ?? '/'}`, { method: req.method ?? 'POST', headers, body });
          const out: Record<string, string> = {};
          answer.headers.forEach((value, name) => {
            if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(name)) out[name] = value;
          });
          res.writeHead(answer.status, out);
          res.end(Buffer.from(await answer.arrayBuffer()), () => {
            if (hold) delivered = true;
          });
        })
        .catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    held: () => held,
    delivered: () => delivered,
    open: () => open(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The announcer remembers each release's channel message in the database (so a restart after a crash
 * updates it in place): a durable commit, which waits for the disk and, when another connection holds
 * the write lock, busy-waits. Made on the serving thread, that commit would hold up every
 * acknowledgement behind it; `serve` has the release thread make it.
 */
describe('release-bot serve: the release message is recorded off the thread that acknowledges Slack', () => {
  let bot: BotEnv;
  let slack: SlackStandIn;
  let gated: Awaited<ReturnType<typeof gatedSlack>>;
  let serve: ServeProcess | undefined;

  beforeAll(async () => {
    bot = await startBotEnv((dir) => mirrorProject(dir), {
      variables: { 'release/mirror/token': { value: MIRROR_TOKEN, readers: ['host:release-bot'] } },
    });
    slack = await startSlackStandIn({ token: BOT_TOKEN, users: [{ id: 'U024BE7LH', name: 'alice' }] });
    gated = await gatedSlack(slack);
  });

  afterAll(async () => {
    if (serve) await stopChild(serve.child);
    await gated.close();
    await slack.close();
    await bot.close();
  });

  it('answers /release help while the commit that records the release message waits for the write lock; the message is recorded once it is free', async () => {
    bot.stageFiles('conjur-cli', '5.2.0', { 'conjur-cli-5.2.0.gem': 'gem bytes 5.2.0' });
    expect((await bot.cli('stage', 'conjur-cli', '5.2.0', '--build-number', '52')).code).toBe(0);
    serve = await spawnServe(bot.env, { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, apiUrl: gated.apiUrl });
    const { port, output } = serve;
    const events = `http://127.0.0.1:${port}/slack/events`;
    const ask = await sendSlackRequest(events, slashCommand({ text: 'conjur-cli 5.2.0', response_url: slack.responseUrl() }), {
      signingSecret: SIGNING_SECRET,
    });
    expect(ask.status).toBe(200);
    // The release's channel message is posted; its answer (the ts to record) waits at the gate.
    await waitFor('the release message to be posted', () => gated.held());
    await waitFor('the release to finish', async () => {
      const status = JSON.parse((await bot.cli('status', 'conjur-cli', '5.2.0', '--json')).stdout) as { releases: { state: string }[] };
      return status.releases[0]?.state === 'published';
    });
    const holder = new Database(path.join(bot.dataDir, 'release-bot.sqlite'));
    holder.pragma('busy_timeout = 10000');
    // Another writer holds the write lock: the commit that records the message must wait for it.
    holder.prepare('BEGIN IMMEDIATE').run();
    try {
      gated.open();
      await waitFor("Slack's answer (the ts) to reach serve", () => gated.delivered());
      // Time for serve to read it and reach the commit (not needed to pass: it makes a stall on the serving thread certain to be caught).
      await new Promise((r) => setTimeout(r, 1_000));
      // On the serving thread, this answer would wait until SQLite gave up on the lock (busy_timeout, 10 s).
      const help = await sendSlackRequest(events, slashCommand({ text: 'help', response_url: slack.responseUrl() }), {
        signingSecret: SIGNING_SECRET,
      });
      expect(help.status).toBe(200);
      expect(help.body).toContain('release-bot commands');
      expect(holder.prepare('SELECT count(*) AS n FROM release_messages').get()).toEqual({ n: 0 });
    } finally {
      holder.prepare('ROLLBACK').run();
      holder.close();
    }
    // Recorded once the lock is free: the ts Slack answered, in the release's channel.
    const posted = slack.calls.find(
      (c) => c.method === 'chat.postMessage' && !c.body.thread_ts && String(c.body.text).includes('conjur-cli'),
    );
    const db = new Database(path.join(bot.dataDir, 'release-bot.sqlite'), { readonly: true });
    try {
      await waitFor(
        'the message to be recorded',
        () => (db.prepare('SELECT count(*) AS n FROM release_messages').get() as { n: number }).n === 1,
      );
      expect(db.prepare('SELECT channel, ts FROM release_messages').get()).toEqual({
        channel: posted?.body.channel,
        ts: posted?.response.ts,
      });
    } finally {
      db.close();
    }
    expect(output()).not.toContain('could not record the release message');
    expect(output()).not.toContain(MIRROR_TOKEN);
  }, 180_000);
});

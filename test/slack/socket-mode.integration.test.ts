import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RecordedSlackCall } from '../../dev/slack-stand-in.js';
import { CANARY, startSlackWorld, type SlackWorld } from '../support/slack-world.js';

const text = (c: RecordedSlackCall) => String(c.body.text ?? '');

/**
 * Socket Mode for real: `release-bot serve` with SLACK_APP_TOKEN asks the stand-in's
 * `apps.connections.open` (at SLACK_API_URL) for a WebSocket URL, connects to the stand-in's
 * loopback WebSocket, gets `hello`, and answers envelopes with acks carrying their envelope_id.
 */
describe('Slack Socket Mode against the loopback stand-in', () => {
  let w: SlackWorld;

  beforeAll(async () => {
    w = await startSlackWorld({ socketMode: true, sleepSeconds: 1 });
    await w.slack.socketMode.waitForConnection();
  });

  afterAll(async () => {
    await w.stop();
  });

  it('opens the connection through SLACK_API_URL with the app-level token, never the bot token', () => {
    const opens = w.slack.callsTo('apps.connections.open');
    expect(opens.length).toBeGreaterThanOrEqual(1);
    expect(opens.every((c) => c.authorized)).toBe(true);
    expect(w.slack.callsTo('socket_mode.hello')).toHaveLength(opens.length);
    expect(w.slack.socketMode.connections()).toBe(1);
  });

  it('acks a /release help envelope with its envelope_id and the answer in the ack payload', async () => {
    const { ack } = await w.socketCommand('mallory', 'help');
    const sent = w.slack.callsTo('socket_mode.ack').at(-1);
    expect(sent?.body.envelope_id).toBe(ack.envelope_id);
    expect(ack.payload).toMatchObject({ response_type: 'ephemeral' });
    expect(String(ack.payload?.text)).toContain('/release &lt;project&gt; &lt;version&gt; --dry-run');
  });

  it('runs /release over Socket Mode: accepted in the ack, progress and summary in the channel, the files out', async () => {
    await w.stage('conjur-cli', '6.0.0', { 'conjur-cli-6.0.0.gem': 'over a socket' });
    const { ack, responseUrl } = await w.socketCommand('alice', 'conjur-cli 6.0.0');
    expect(String(ack.payload?.text)).toContain('Release of conjur-cli 6.0.0: checking who you are');
    const final = await w.slack.waitFor((c) => c.method === 'chat.update' && text(c).startsWith('Released conjur-cli 6.0.0'), 30_000);
    expect(final.body.channel).toBe('C0RELEASES');
    expect(text(final)).toContain('requested by: alice');
    expect(text(await w.reply(responseUrl))).toContain('conjur-cli 6.0.0: published');
    expect(readFileSync(path.join(w.outDir, 'conjur-cli/6.0.0/conjur-cli-6.0.0.gem'), 'utf8')).toBe('over a socket');
  });

  it('refuses a user outside the group over Socket Mode too, privately', async () => {
    await w.stage('conjur-cli', '6.0.1', { 'conjur-cli-6.0.1.gem': 'not for mallory' });
    const { responseUrl } = await w.socketCommand('mallory', 'conjur-cli 6.0.1');
    expect(text(await w.reply(responseUrl))).toContain('mallory is not a member of the Conjur group release/conjur-cli');
    expect(existsSync(path.join(w.outDir, 'conjur-cli/6.0.1'))).toBe(false);
  });

  it('takes no Slack requests over HTTP in Socket Mode', async () => {
    const res = await fetch(w.eventsUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'command=%2Frelease&text=help',
    });
    expect(res.status).toBe(404);
  });

  it('connects again after a restart, and the old connection is closed', async () => {
    await w.restart();
    await w.slack.socketMode.waitForConnection();
    expect(w.slack.socketMode.connections()).toBe(1);
    const { ack } = await w.socketCommand('alice', 'help');
    expect(String(ack.payload?.text)).toContain('/release &lt;project&gt; &lt;version&gt;');
  });

  it('opens a new connection when Slack asks it to reconnect, and when the connection drops', async () => {
    for (const cut of ['refresh', 'drop'] as const) {
      const hellos = w.slack.callsTo('socket_mode.hello').length;
      w.slack.socketMode[cut]();
      await w.slack.waitFor(
        (c) => c.method === 'socket_mode.hello' && c.seq > (w.slack.callsTo('socket_mode.hello')[hellos - 1]?.seq ?? 0),
      );
      await w.slack.socketMode.waitForConnection();
      const { ack } = await w.socketCommand('alice', 'help');
      expect(String(ack.payload?.text)).toContain('/release &lt;project&gt; &lt;version&gt;');
    }
    expect(w.slack.socketMode.connections()).toBe(1);
  });

  it('never lets the app token (or another secret) reach a log line or a Slack payload', () => {
    const everything = [...w.slack.calls.map((c) => JSON.stringify(c.body)), ...w.logLines].join('\n');
    expect(everything).toContain('conjur-cli 6.0.0');
    for (const secret of Object.values(CANARY)) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(Buffer.from(secret).toString('base64'));
    }
  });
});

describe('Slack Socket Mode when Slack cannot be reached at start', () => {
  let w: SlackWorld;

  afterAll(async () => {
    await w?.stop();
  });

  it('serves /healthz and the Jenkins webhook at once, keeps trying, and connects once Slack answers', async () => {
    // Nothing listens at SLACK_API_URL yet: serve() must still come up.
    w = await startSlackWorld({ socketMode: true, slackStartsLate: true });
    const health = await fetch(`${w.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    const webhook = await fetch(`${w.baseUrl}/webhooks/jenkins`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(webhook.status).toBe(401);
    await waitUntil('the connection failure to be logged', () => w.logLines.some((l) => l.includes('Socket Mode cannot connect to Slack')));
    const slack = await w.startSlack();
    await slack.socketMode.waitForConnection(30_000);
    const { ack } = await w.socketCommand('alice', 'help');
    expect(String(ack.payload?.text)).toContain('/release &lt;project&gt; &lt;version&gt;');
  });
});

async function waitUntil(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

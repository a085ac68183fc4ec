import { createHash } from 'node:crypto';
import { startSlackStandIn, type RecordedSlackCall, type SlackStandIn } from '../../dev/slack-stand-in.js';
import { CONJUR_API_KEY, startBot, URL_TOKENS, type Bot } from './helpers/bot.js';
import { botReport } from './helpers/reports.js';
import { HS_SECRET, token, WEBHOOK_SECRET } from './helpers/tokens.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const text = (c: RecordedSlackCall) => String(c.body.text ?? '');
const SLACK_BOT_TOKEN = 'xoxb-canary-000000000-jenkins-webhook-test';
const SLACK_SIGNING_SECRET = 'signing-secret-canary-3e7b1d9a0f';
/** conjur-cli has a channel of its own: the notes must go there, not to the file's C0RELEASES. */
const CHANNEL = 'C0CONJURCLI';

interface Block {
  type: string;
  elements?: Array<{ type: string; action_id?: string; value?: string; text?: { text: string } | string }>;
}

/**
 * What the release channel reads when Jenkins reports builds over the webhook: release-bot serve with
 * its Slack side on, the Web API answered by the loopback Slack stand-in (dev/slack-stand-in.ts).
 */
describe('POST /webhooks/jenkins tells the release channel (Slack on, Web API on the stand-in)', () => {
  let slack: SlackStandIn;
  let bot: Bot;
  const current = (version: string) => bot.running.app.staged.current('conjur-cli', version);
  const report = (version: string, files: Record<string, string>, buildNumber: number) => {
    bot.stageFiles('conjur-cli', version, files);
    const artifacts = Object.entries(files).map(([p, content]) => ({ path: p, sha256: sha(content) }));
    return bot.post(
      '/webhooks/jenkins',
      botReport({ version, build: { number: buildNumber, url: `https://jenkins.example/job/conjur-cli/${buildNumber}/` }, artifacts }),
      bearer(token()),
    );
  };
  const posts = (prefix: string) => slack.callsTo('chat.postMessage').filter((c) => text(c).startsWith(prefix));
  const waitForPost = (prefix: string, extra: (c: RecordedSlackCall) => boolean = () => true) =>
    slack.waitFor((c) => c.method === 'chat.postMessage' && text(c).startsWith(prefix) && extra(c));
  const releaseButton = (c: RecordedSlackCall) => {
    const actions = (c.body.blocks as Block[]).find((b) => b.type === 'actions');
    return actions?.elements?.find((e) => e.action_id === 'release_staged');
  };

  beforeAll(async () => {
    slack = await startSlackStandIn({ token: SLACK_BOT_TOKEN });
    bot = await startBot({ SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_API_URL: slack.apiUrl }, { channels: { 'conjur-cli': CHANNEL } });
  });
  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
  });

  it('a signed report posts the readiness note, with a Release button for exactly this staged build, to the project channel', async () => {
    const r = await report('4.2.0', { 'conjur-cli-4.2.0.gem': 'gem bytes 4.2.0' }, 123);
    expect(r.status).toBe(202);
    const note = await waitForPost('conjur-cli 4.2.0 is ready to release');
    expect(note.authorized).toBe(true);
    expect(note.body.channel).toBe(CHANNEL);
    expect(text(note)).toMatch(
      /^conjur-cli 4\.2\.0 is ready to release: build #123 \(conjur-cli\), .*; to mirror \[directory\]; no approvals needed\. Members of release\/conjur-cli may release it\.$/,
    );
    expect(text(note)).not.toContain('re-staged');
    expect(JSON.stringify(note.body.blocks)).toContain(sha('gem bytes 4.2.0').slice(0, 12));
    const button = releaseButton(note);
    expect(button).toMatchObject({ type: 'button', text: { text: 'Release' } });
    expect(JSON.parse(String(button?.value))).toEqual({ p: 'conjur-cli', v: '4.2.0', s: current('4.2.0')?.id });
  });

  it('a different build of the same unreleased version posts a "re-staged: replaces an earlier build" note', async () => {
    const first = current('4.2.0');
    const again = await report('4.2.0', { 'conjur-cli-4.2.0.gem': 'gem bytes 4.2.0' }, 123);
    expect(again.status).toBe(200); // the same build: nothing new to say
    const r = await report('4.2.0', { 'conjur-cli-4.2.0.gem': 'gem bytes 4.2.0 rebuilt' }, 124);
    expect(r.status).toBe(202);
    expect(r.json.status).toBe('replaced');
    const note = await waitForPost('conjur-cli 4.2.0 is ready to release', (c) => text(c).includes('re-staged'));
    expect(note.body.channel).toBe(CHANNEL);
    expect(text(note)).toMatch(
      /^conjur-cli 4\.2\.0 is ready to release: build #124 \(conjur-cli\), .* \(re-staged: replaces build #123 \(conjur-cli\)\); to mirror \[directory\]; no approvals needed/,
    );
    const blocks = JSON.stringify(note.body.blocks);
    expect(blocks).toContain(':warning: re-staged: replaces build <https://jenkins.example/job/conjur-cli/123/|#123>');
    expect(blocks).toContain('approvals given for the earlier build are void');
    // The new note's button is bound to the new build, not the one it replaced.
    const s = (JSON.parse(String(releaseButton(note)?.value)) as { s: number }).s;
    expect(s).toBe(current('4.2.0')?.id);
    expect(s).not.toBe(first?.id);
    // The first report and the replacement: the unchanged report in between said nothing.
    expect(posts('conjur-cli 4.2.0 is ready to release')).toHaveLength(2);
  });

  it('a different build of a released version is refused (409) and the channel is warned', async () => {
    expect((await report('5.0.0', { 'conjur-cli-5.0.0.gem': 'released bytes' }, 200)).status).toBe(202);
    await waitForPost('conjur-cli 5.0.0 is ready to release');
    const summary = await bot.running.app.core.release('conjur-cli', '5.0.0', { login: 'alice', via: 'cli' });
    expect(summary.state).toBe('published');

    const r = await report('5.0.0', { 'conjur-cli-5.0.0.gem': 'other bytes' }, 999);
    expect(r.status).toBe(409);
    expect(r.json).toMatchObject({ code: 'CONFLICT' });
    const warning = await waitForPost('Warning: ');
    expect(warning.body.channel).toBe(CHANNEL);
    expect(text(warning)).toBe(
      `Warning: jenkins:conjur-cli (jwt) reported another build (#999) for conjur-cli 5.0.0 (Jenkins job conjur-cli), which alice already released or is releasing (${summary.releaseId}). The report was refused; nothing changed.`,
    );
    const blocks = JSON.stringify(warning.body.blocks);
    expect(blocks).toContain(':warning: Another build reported for conjur-cli 5.0.0');
    expect(blocks).toContain('<https://jenkins.example/job/conjur-cli/999/|#999>');
    expect(blocks).toContain('a released version is never replaced');
    // No readiness note (no Release button) for the refused build.
    expect(posts('conjur-cli 5.0.0 is ready to release')).toHaveLength(1);
    expect(current('5.0.0')?.build.number).toBe(200);
  });

  it('posts nothing to the file-wide channel, presents the bot token on every call, and no secret reaches Slack', () => {
    const calls = slack.calls;
    expect(calls.length).toBeGreaterThanOrEqual(4);
    expect(calls.every((c) => c.authorized)).toBe(true);
    expect(slack.callsTo('chat.postMessage').filter((c) => c.body.channel !== CHANNEL)).toEqual([]);
    const all = JSON.stringify(calls) + bot.logs.join('');
    for (const secret of [HS_SECRET, WEBHOOK_SECRET, CONJUR_API_KEY, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, ...Object.values(URL_TOKENS)])
      expect(all).not.toContain(secret);
  });
});

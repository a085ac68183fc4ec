import type { RecordedSlackCall } from '../../dev/slack-stand-in.js';
import { startSlackWorld, type SlackWorld } from '../support/slack-world.js';

const text = (c: RecordedSlackCall) => String(c.body.text ?? '');

/**
 * Slack rate-limits chat.update per channel, and a channel full of step-by-step notes hides what
 * matters: a quick two-destination release (the exec script does not sleep) is counted call by call
 * (before coalescing it made 15 calls: an update per step, a thread note per start and progress line).
 */
describe('Slack: a release is quiet in the channel', () => {
  let w: SlackWorld;

  beforeAll(async () => {
    // The count must not depend on how busy the machine is: with a progress interval far longer than any
    // release, no progress update is ever due, and the summary goes out as soon as Slack's limit allows
    // (with a 5 s interval, a release that took over 10 s on a loaded machine made a 7th call).
    w = await startSlackWorld({ sleepSeconds: 0, mount: { updateIntervalMs: 10 * 60_000 } });
  });

  afterAll(async () => {
    await w.stop();
  });

  it('a two-destination release makes at most 6 Slack calls: the message, one thread reply per destination outcome, the final summary in place, and the private answer', async () => {
    await w.stage('conjur-cli', '8.1.0', { 'conjur-cli-8.1.0.gem': 'gem bytes 8.1.0' });
    await w.slack.waitFor((c) => c.method === 'chat.postMessage' && text(c).startsWith('conjur-cli 8.1.0 is ready to release'));
    const mark = w.slack.mark();

    const sent = await w.command('alice', 'conjur-cli 8.1.0');
    expect(sent.status).toBe(200);
    const posted = await w.slack.waitFor((c) => c.method === 'chat.postMessage' && text(c).startsWith('Releasing conjur-cli 8.1.0'));
    const ts = String(posted.response.ts);
    await w.slack.waitFor((c) => c.method === 'chat.update' && c.body.ts === ts && text(c).startsWith('Released conjur-cli 8.1.0'), 30_000);
    await w.reply(sent.responseUrl, 30_000);
    // Time for a stray late call to show up (nothing is expected; the final update is the last by design).
    await new Promise((r) => setTimeout(r, 1500));

    const calls = w.slack.callsSince(mark);
    const methods = calls.map((c) => c.method);
    expect(calls.length).toBeLessThanOrEqual(6);
    // One reply per destination outcome, in the release message's thread: no "started", no progress notes.
    // (The destinations run side by side: either may finish first.)
    const thread = calls
      .filter((c) => c.method === 'chat.postMessage' && c.body.thread_ts === ts)
      .map(text)
      .sort();
    expect(thread).toHaveLength(2);
    expect(thread[0]).toMatch(/^downloads \[exec\]: published in/);
    expect(thread[1]).toMatch(/^mirror \[directory\]: published in/);
    // The message is replaced, never posted again; the last version is the audit summary.
    const updates = calls.filter((c) => c.method === 'chat.update');
    expect(updates.every((c) => c.body.ts === ts)).toBe(true);
    expect(text(updates.at(-1) as RecordedSlackCall)).toMatch(/^Released conjur-cli 8\.1\.0/);
    expect(methods.filter((m) => m === 'chat.postMessage')).toHaveLength(3);
    expect(methods.filter((m) => m === 'response_url')).toHaveLength(1);
  });
});

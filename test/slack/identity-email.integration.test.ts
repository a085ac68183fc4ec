import { existsSync } from 'node:fs';
import path from 'node:path';
import { sendSlackRequest, slashCommand } from '../../dev/slack-requests.js';
import type { RecordedSlackCall } from '../../dev/slack-stand-in.js';
import { CANARY, startSlackWorld, type SlackWorld } from '../support/slack-world.js';

const text = (c: RecordedSlackCall) => String(c.body.text ?? '');

describe('Slack identity by email local part (users.info on the Web API stand-in)', () => {
  let w: SlackWorld;

  beforeAll(async () => {
    w = await startSlackWorld({
      identity: 'email-localpart',
      sleepSeconds: 0,
      extraUsers: [{ id: 'U0GUEST', email: 'alice@partner.example', isRestricted: true }],
    });
    await w.stage('conjur-cli', '7.0.0', { 'conjur-cli-7.0.0.gem': 'seven' });
  });

  afterAll(async () => {
    await w.stop();
  });

  it('releases as the Conjur login taken from the Slack profile email (Bob@Example.com is bob)', async () => {
    const sent = await w.command('bob', 'conjur-cli 7.0.0');
    expect(sent.elapsedMs).toBeLessThan(3000);
    const final = await w.slack.waitFor((c) => c.method === 'chat.update' && text(c).startsWith('Released conjur-cli 7.0.0'), 30_000);
    expect(text(final)).toContain('requested by: bob');
    expect(w.slack.callsTo('users.info').map((c) => c.body.user)).toContain('U0BOB');
    expect(existsSync(path.join(w.outDir, 'conjur-cli/7.0.0/conjur-cli-7.0.0.gem'))).toBe(true);
  });

  it('refuses a guest whose address would map onto a member, and a user Slack does not know', async () => {
    await w.stage('conjur-cli', '7.1.0', { 'conjur-cli-7.1.0.gem': 'seven one' });
    for (const [user, why] of [
      ['U0GUEST', 'guest accounts cannot use release-bot'],
      ['U0GHOST', 'could not read your Slack profile (users.info: An API error occurred: user_not_found)'],
    ] as const) {
      const responseUrl = w.slack.responseUrl();
      await sendSlackRequest(w.eventsUrl, slashCommand({ text: 'conjur-cli 7.1.0', user_id: user, response_url: responseUrl }), {
        signingSecret: CANARY.signingSecret,
      });
      const reply = await w.reply(responseUrl);
      expect(reply.body.response_type).toBe('ephemeral');
      expect(text(reply)).toContain(why);
      expect(w.server.app.audit.list({ limit: 1 })[0]).toMatchObject({
        type: 'denied',
        actor: { via: 'slack', chatUserId: user },
        data: { code: 'IDENTITY_UNRESOLVED', action: 'release' },
      });
    }
    expect(existsSync(path.join(w.outDir, 'conjur-cli/7.1.0'))).toBe(false);
  });
});

import { verifySlackRequest } from '@slack/bolt';
import { buttonClick, signSlackRequest, slashCommand } from '../../dev/slack-requests.js';

describe('the development request signer signs as Slack does', () => {
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';

  it("matches the worked example of Slack's documentation", () => {
    // https://api.slack.com/authentication/verifying-requests-from-slack
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(signSlackRequest(secret, body, 1531420618)['x-slack-signature']).toBe(
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    );
  });

  it('produces signatures Bolt accepts, and Bolt refuses a changed body or an old timestamp', () => {
    const now = Math.floor(Date.now() / 1000);
    for (const body of [
      slashCommand({ text: 'conjur-cli 4.2.0' }),
      buttonClick({ actionId: 'approve_release', value: 'apr_x', userId: 'U1', responseUrl: 'http://127.0.0.1/r' }),
    ]) {
      const headers = signSlackRequest(secret, body, now);
      expect(() =>
        verifySlackRequest({ signingSecret: secret, body, headers: { ...headers, 'x-slack-request-timestamp': now } }),
      ).not.toThrow();
      expect(() =>
        verifySlackRequest({ signingSecret: secret, body: `${body}x`, headers: { ...headers, 'x-slack-request-timestamp': now } }),
      ).toThrow(/signature mismatch/i);
    }
    const old = now - 301;
    const body = slashCommand();
    expect(() =>
      verifySlackRequest({
        signingSecret: secret,
        body,
        headers: { ...signSlackRequest(secret, body, old), 'x-slack-request-timestamp': old },
      }),
    ).toThrow(/stale|old/i);
  });
});

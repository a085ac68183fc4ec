import { resolveLogin, type SlackUserProfile } from '../../handlers/slack/identity.js';
import { ErrorCode } from '../../src/errors.js';

const emailStrategy = { strategy: 'email-localpart' as const, map: {} };
const lookupFrom = (users: Record<string, Partial<SlackUserProfile>>) => async (id: string): Promise<SlackUserProfile> => {
  const u = users[id];
  if (!u) throw new Error('An API error occurred: user_not_found');
  return { id, teamId: 'T1', ...u };
};

describe('resolveLogin', () => {
  it('maps a user id through the identity map, and refuses one not in it', async () => {
    const identity = { strategy: 'map' as const, map: { U024BE7LH: 'alice' } };
    const never = async (): Promise<SlackUserProfile> => {
      throw new Error('the map strategy must not call users.info');
    };
    await expect(resolveLogin('U024BE7LH', identity, never)).resolves.toBe('alice');
    await expect(resolveLogin('U0NOBODY', identity, never)).rejects.toMatchObject({ code: ErrorCode.IdentityUnresolved, message: expect.stringContaining('not in the identity map') });
    // Inherited object keys are not map entries.
    await expect(resolveLogin('Uconstructor'.toUpperCase(), identity, never)).rejects.toMatchObject({ code: ErrorCode.IdentityUnresolved });
  });

  it('takes the local part of the profile email, lower-cased', async () => {
    const lookup = lookupFrom({ U0001: { email: 'alice@example.com' }, U0002: { email: 'Bob.Smith@Example.COM' } });
    await expect(resolveLogin('U0001', emailStrategy, lookup, 'T1')).resolves.toBe('alice');
    await expect(resolveLogin('U0002', emailStrategy, lookup, 'T1')).resolves.toBe('bob.smith');
  });

  it.each([
    ['no email (scope missing)', {}, /no email address/],
    ['a deactivated user', { email: 'a@x.org', deleted: true }, /deactivated/],
    ['a bot', { email: 'a@x.org', isBot: true }, /a bot/],
    ['a guest', { email: 'alice@x.org', isRestricted: true }, /guest/],
    ['another workspace', { email: 'alice@x.org', teamId: 'T2' }, /another workspace/],
    ['a local part that is no login', { email: 'alice+ops@x.org' }, /does not give a Conjur login/],
    ['a path in the local part', { email: '../root@x.org' }, /does not give a Conjur login/],
    ['no @ at all', { email: 'alice' }, /does not give a Conjur login/],
  ])('refuses %s', async (_what, profile, why) => {
    await expect(resolveLogin('U0001', emailStrategy, lookupFrom({ U0001: profile }), 'T1')).rejects.toMatchObject({ code: ErrorCode.IdentityUnresolved, message: expect.stringMatching(why) });
  });

  it('fails closed when users.info fails, and refuses ids that are not Slack user ids', async () => {
    await expect(resolveLogin('U0404', emailStrategy, lookupFrom({}))).rejects.toMatchObject({ code: ErrorCode.IdentityUnresolved, message: expect.stringContaining('user_not_found') });
    await expect(resolveLogin('alice', emailStrategy, lookupFrom({}))).rejects.toMatchObject({ code: ErrorCode.IdentityUnresolved });
  });
});

import pino from 'pino';
import {
  inHome,
  SlackIdentity,
  type IdentitySettings,
  type SlackDirectory,
  type SlackOrg,
  type SlackUserProfile,
} from '../../handlers/slack/identity.js';
import { ErrorCode } from '../../src/errors.js';

const log = pino({ level: 'silent' });
const emailStrategy = (more: Partial<IdentitySettings> = {}): IdentitySettings => ({
  strategy: 'email-localpart',
  map: {},
  allow_guests: false,
  email_domains: ['x.org', 'example.com'],
  ...more,
});
const mapStrategy = (map: Record<string, string>): IdentitySettings => ({ strategy: 'map', map, allow_guests: false });

/** A directory answering users.info from a table (users of workspace T0HOME unless said) and auth.test with `home`. */
function directory(
  users: Record<string, Partial<SlackUserProfile>>,
  home: () => Promise<SlackOrg> = async () => ({ teamId: 'T0HOME' }),
): SlackDirectory & { whoAmICalls: number } {
  const d = {
    whoAmICalls: 0,
    async lookupUser(id: string): Promise<SlackUserProfile> {
      const u = users[id];
      if (!u) throw new Error('An API error occurred: user_not_found');
      return { id, teamId: 'T0HOME', ...u };
    },
    whoAmI() {
      d.whoAmICalls++;
      return home();
    },
  };
  return d;
}

const resolve = (
  settings: IdentitySettings,
  users: Record<string, Partial<SlackUserProfile>>,
  userId = 'U0001',
  origin: Partial<{ teamId: string; enterpriseId: string; userTeamId: string }> = { teamId: 'T0HOME' },
) => new SlackIdentity(() => settings, directory(users), log).resolve({ userId, ...origin });

describe('SlackIdentity', () => {
  it('maps a user id through the identity map, and refuses one not in it', async () => {
    const identity = mapStrategy({ U024BE7LH: 'alice' });
    await expect(resolve(identity, { U024BE7LH: {} }, 'U024BE7LH')).resolves.toBe('alice');
    await expect(resolve(identity, { U0NOBODY: {} }, 'U0NOBODY')).rejects.toMatchObject({
      code: ErrorCode.IdentityUnresolved,
      message: expect.stringContaining('not in the identity map'),
    });
    // Inherited object keys are not map entries.
    await expect(resolve(identity, { UCONSTRUCTOR: {} }, 'UCONSTRUCTOR')).rejects.toMatchObject({ code: ErrorCode.IdentityUnresolved });
  });

  it('takes the local part of an address in one of the company domains, lower-cased', async () => {
    const users = { U0001: { email: 'alice@example.com' }, U0002: { email: 'Bob.Smith@Example.COM' }, U0003: { email: 'carol@X.org' } };
    await expect(resolve(emailStrategy(), users, 'U0001')).resolves.toBe('alice');
    await expect(resolve(emailStrategy(), users, 'U0002')).resolves.toBe('bob.smith');
    await expect(resolve(emailStrategy(), users, 'U0003')).resolves.toBe('carol');
  });

  it.each([
    ['no email (scope missing)', {}, /no email address/],
    ['another domain', { email: 'alice@evil.example' }, /is in "evil.example", which is not one of the company's domains/],
    ['a subdomain', { email: 'alice@mail.example.com' }, /is in "mail.example.com"/],
    ['the domain as a subdomain of another', { email: 'alice@example.com.evil.example' }, /is in "example.com.evil.example"/],
    ['a look-alike', { email: 'alice@evil-example.com' }, /is in "evil-example.com"/],
    ['a trailing dot', { email: 'alice@example.com.' }, /is in "example.com."/],
    ['an IDN homoglyph (Cyrillic a)', { email: 'alice@ex\u0430mple.com' }, /plain ASCII/],
    ['the Kelvin sign, which lower-cases to k', { email: '\u212Aate@example.com' }, /plain ASCII/],
    ['a punycode domain', { email: 'alice@xn--exmple-cua.com' }, /is in "xn--exmple-cua.com"/],
    ['a + tag', { email: 'alice+ops@example.com' }, /does not give a Conjur login/],
    ['a quoted local part', { email: '"alice"@example.com' }, /does not give a Conjur login/],
    ['two @', { email: 'alice@evil.example@example.com' }, /one @/],
    ['a path in the local part', { email: '../root@example.com' }, /does not give a Conjur login/],
    ['no @ at all', { email: 'alice' }, /one @/],
    ['a deactivated user', { email: 'a@x.org', deleted: true }, /deactivated/],
    ['a bot', { email: 'a@x.org', isBot: true }, /a bot/],
    ['a guest', { email: 'alice@x.org', isRestricted: true }, /guest accounts/],
    ['a single-channel guest', { email: 'alice@x.org', isUltraRestricted: true }, /guest accounts/],
    ['a stranger', { email: 'alice@x.org', isStranger: true }, /stranger/],
    [
      'a user of another workspace',
      { email: 'alice@x.org', teamId: 'T0OTHER' },
      /not of this organisation \(a user of workspace T0OTHER\)/,
    ],
    ['a user with no workspace', { email: 'alice@x.org', teamId: undefined }, /not of this organisation/],
  ])('refuses %s', async (_what, profile, why) => {
    await expect(resolve(emailStrategy(), { U0001: profile })).rejects.toMatchObject({
      code: ErrorCode.IdentityUnresolved,
      message: expect.stringMatching(why),
    });
  });

  it('refuses guests under the map strategy too, and lets guests of the home workspace in with allow_guests', async () => {
    await expect(resolve(mapStrategy({ U0001: 'alice' }), { U0001: { isRestricted: true } })).rejects.toMatchObject({
      message: expect.stringContaining('guest accounts'),
    });
    await expect(resolve({ ...mapStrategy({ U0001: 'alice' }), allow_guests: true }, { U0001: { isUltraRestricted: true } })).resolves.toBe(
      'alice',
    );
    await expect(resolve(emailStrategy({ allow_guests: true }), { U0001: { isRestricted: true, email: 'alice@x.org' } })).resolves.toBe(
      'alice',
    );
    // allow_guests lets in guests, never users of elsewhere.
    await expect(
      resolve(emailStrategy({ allow_guests: true }), { U0001: { isRestricted: true, email: 'alice@x.org', teamId: 'T0OTHER' } }),
    ).rejects.toMatchObject({ message: expect.stringContaining('not of this organisation') });
    await expect(
      resolve(emailStrategy({ allow_guests: true }), { U0001: { isStranger: true, email: 'alice@x.org' } }),
    ).rejects.toMatchObject({ message: expect.stringContaining('stranger') });
  });

  it('refuses a request made in another workspace, or clicked by a user of another one, before asking users.info', async () => {
    const users = { U0001: { email: 'alice@x.org' } };
    await expect(resolve(emailStrategy(), users, 'U0001', { teamId: 'T0OTHER' })).rejects.toMatchObject({
      message: expect.stringContaining('a request from T0OTHER'),
    });
    await expect(resolve(emailStrategy(), users, 'U0001', {})).rejects.toMatchObject({
      message: expect.stringContaining('a request from no named workspace'),
    });
    await expect(resolve(emailStrategy(), users, 'U0001', { teamId: 'T0HOME', userTeamId: 'T0OTHER' })).rejects.toMatchObject({
      message: expect.stringContaining('a user of workspace T0OTHER'),
    });
    await expect(resolve(emailStrategy(), users, 'U0001', { teamId: 'T0HOME', userTeamId: 'T0HOME' })).resolves.toBe('alice');
  });

  it('on Enterprise Grid, takes any workspace of the home organisation and no other organisation', async () => {
    const settings = emailStrategy({ team_id: 'T0HOME', enterprise_id: 'E0HOME' });
    const grid = (users: Record<string, Partial<SlackUserProfile>>, origin: { teamId?: string; enterpriseId?: string }) =>
      new SlackIdentity(() => settings, directory(users), log).resolve({ userId: 'U0001', ...origin });
    await expect(
      grid({ U0001: { email: 'alice@x.org', teamId: 'T0SISTER', enterpriseId: 'E0HOME' } }, { teamId: 'T0SISTER', enterpriseId: 'E0HOME' }),
    ).resolves.toBe('alice');
    await expect(
      grid({ U0001: { email: 'alice@x.org', teamId: 'T0SISTER', enterpriseId: 'E0OTHER' } }, { teamId: 'T0HOME', enterpriseId: 'E0HOME' }),
    ).rejects.toMatchObject({ message: expect.stringContaining('not of this organisation') });
    await expect(grid({ U0001: { email: 'alice@x.org' } }, { teamId: 'T0HOME', enterpriseId: 'E0OTHER' })).rejects.toMatchObject({
      message: expect.stringContaining('a request from T0HOME'),
    });
    expect(inHome({ teamId: 'T0HOME' }, { teamId: 'T0HOME', enterpriseId: 'E0NINE' })).toBe(true);
    expect(inHome({ teamId: 'T0HOME', enterpriseId: 'E0HOME' }, { teamId: 'T0HOME', enterpriseId: 'E0NINE' })).toBe(false);
    expect(inHome({ teamId: 'T0HOME' }, {})).toBe(false);
  });

  it('learns the home from auth.test once, and takes the configured team_id without asking', async () => {
    const dir = directory({ U0001: { email: 'alice@x.org' } });
    const identity = new SlackIdentity(() => emailStrategy(), dir, log);
    await Promise.all([identity.resolve({ userId: 'U0001', teamId: 'T0HOME' }), identity.resolve({ userId: 'U0001', teamId: 'T0HOME' })]);
    await identity.resolve({ userId: 'U0001', teamId: 'T0HOME' });
    expect(dir.whoAmICalls).toBe(1);

    const configured = directory({ U0001: { email: 'alice@x.org', teamId: 'T0SEVEN' } });
    await expect(
      new SlackIdentity(() => emailStrategy({ team_id: 'T0SEVEN' }), configured, log).resolve({ userId: 'U0001', teamId: 'T0SEVEN' }),
    ).resolves.toBe('alice');
    expect(configured.whoAmICalls).toBe(0);
  });

  it('fails closed while auth.test fails: everyone refused, retried at most every retryMs, then resolved once it answers', async () => {
    let clock = 0;
    let up = false;
    const dir = directory({ U0001: { email: 'alice@x.org' } }, async () => {
      if (!up) throw new Error('An API error occurred: invalid_auth');
      return { teamId: 'T0HOME' };
    });
    const identity = new SlackIdentity(() => emailStrategy(), dir, log, { retryMs: 1000, now: () => clock });
    identity.start();
    const ask = () => identity.resolve({ userId: 'U0001', teamId: 'T0HOME' });
    await expect(ask()).rejects.toMatchObject({
      code: ErrorCode.IdentityUnresolved,
      message: expect.stringContaining(
        'does not know its home Slack workspace yet (auth.test failed: An API error occurred: invalid_auth)',
      ),
    });
    up = true;
    clock = 999;
    await expect(ask()).rejects.toMatchObject({ details: { reason: 'home-unknown' } });
    expect(dir.whoAmICalls).toBe(1);
    clock = 1000;
    await expect(ask()).resolves.toBe('alice');
    expect(dir.whoAmICalls).toBe(2);
  });

  it('fails closed when users.info fails or auth.test names no workspace, and refuses ids that are not Slack user ids', async () => {
    await expect(resolve(emailStrategy(), {}, 'U0404')).rejects.toMatchObject({
      code: ErrorCode.IdentityUnresolved,
      message: expect.stringContaining('user_not_found'),
    });
    await expect(resolve(emailStrategy(), {}, 'alice')).rejects.toMatchObject({ code: ErrorCode.IdentityUnresolved });
    const nameless = new SlackIdentity(
      () => emailStrategy(),
      directory({ U0001: { email: 'alice@x.org' } }, async () => ({})),
      log,
    );
    await expect(nameless.resolve({ userId: 'U0001', teamId: 'T0HOME' })).rejects.toMatchObject({
      message: expect.stringContaining('auth.test named no workspace'),
    });
  });
});

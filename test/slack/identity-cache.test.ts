import pino from 'pino';
import { PROFILE_TTL_MS, SlackIdentity, type IdentitySettings, type SlackUserProfile } from '../../handlers/slack/identity.js';
import { ErrorCode } from '../../src/errors.js';

const log = pino({ level: 'silent' });
const emailStrategy: IdentitySettings = { strategy: 'email-localpart', map: {}, allow_guests: false, email_domains: ['example.com'] };
const home = { teamId: 'T0HOME' };

/**
 * A directory whose users.info answers from a table that the test changes as Slack's admins would
 * (fields of @slack/web-api's UsersInfoResponse, reduced as handlers/slack/directory.ts reduces them),
 * counting the calls; `gate` holds every answer until opened.
 */
function slackUsers(users: Record<string, Partial<SlackUserProfile>>) {
  let release: () => void = () => undefined;
  let gate: Promise<void> | undefined;
  const d = {
    users,
    calls: [] as string[],
    failing: false,
    hold() {
      gate = new Promise<void>((r) => (release = r));
    },
    open() {
      gate = undefined;
      release();
    },
    async lookupUser(id: string): Promise<SlackUserProfile> {
      d.calls.push(id);
      if (gate) await gate;
      if (d.failing) throw new Error('An API error occurred: ratelimited');
      const u = d.users[id];
      if (!u) throw new Error('An API error occurred: user_not_found');
      return { id, teamId: 'T0HOME', ...u };
    },
    whoAmI: async () => home,
  };
  return d;
}

function identityWith(directory: ReturnType<typeof slackUsers>, settings: () => IdentitySettings = () => emailStrategy) {
  const clock = { now: 1_000_000 };
  const identity = new SlackIdentity(settings, directory, log, { now: () => clock.now });
  return { identity, clock };
}

const from = (userId: string, teamId = 'T0HOME') => ({ userId, teamId });

describe('SlackIdentity: users.info asked once per user and PROFILE_TTL_MS, every check still made per request', () => {
  it('a burst of one user asks users.info once; after the TTL it asks again', async () => {
    const slack = slackUsers({ U0ALICE: { email: 'alice@example.com' } });
    const { identity, clock } = identityWith(slack);
    slack.hold();
    const burst = Array.from({ length: 50 }, () => identity.resolve(from('U0ALICE')));
    slack.open();
    await expect(Promise.all(burst)).resolves.toEqual(Array(50).fill('alice'));
    await expect(identity.resolve(from('U0ALICE'))).resolves.toBe('alice');
    expect(slack.calls).toEqual(['U0ALICE']);
    clock.now += PROFILE_TTL_MS;
    await expect(identity.resolve(from('U0ALICE'))).resolves.toBe('alice');
    expect(slack.calls).toEqual(['U0ALICE', 'U0ALICE']);
  });

  it('a user deactivated, made a guest or given another address in Slack is refused once the TTL has passed', async () => {
    const slack = slackUsers({
      U0ALICE: { email: 'alice@example.com' },
      U0BOB: { email: 'bob@example.com' },
      U0CAROL: { email: 'carol@example.com' },
    });
    const { identity, clock } = identityWith(slack);
    for (const id of ['U0ALICE', 'U0BOB', 'U0CAROL']) await identity.resolve(from(id));
    slack.users.U0ALICE = { email: 'alice@example.com', deleted: true };
    slack.users.U0BOB = { email: 'bob@example.com', isRestricted: true };
    // Mallory's account was carol's: the address changed, and with it the login.
    slack.users.U0CAROL = { email: 'mallory@example.com' };
    clock.now += PROFILE_TTL_MS;
    await expect(identity.resolve(from('U0ALICE'))).rejects.toMatchObject({
      code: ErrorCode.IdentityUnresolved,
      message: expect.stringContaining('deactivated'),
    });
    await expect(identity.resolve(from('U0BOB'))).rejects.toMatchObject({
      code: ErrorCode.IdentityUnresolved,
      message: expect.stringContaining('guest accounts cannot use release-bot'),
    });
    await expect(identity.resolve(from('U0CAROL'))).resolves.toBe('mallory');
  });

  it('a failed users.info is never remembered: everyone waiting for it is refused, and the next request asks Slack again', async () => {
    const slack = slackUsers({ U0ALICE: { email: 'alice@example.com' } });
    const { identity } = identityWith(slack);
    slack.failing = true;
    slack.hold();
    const waiting = [identity.resolve(from('U0ALICE')), identity.resolve(from('U0ALICE'))];
    slack.open();
    for (const w of waiting)
      await expect(w).rejects.toMatchObject({ code: ErrorCode.IdentityUnresolved, message: expect.stringContaining('ratelimited') });
    slack.failing = false;
    await expect(identity.resolve(from('U0ALICE'))).resolves.toBe('alice');
    expect(slack.calls).toEqual(['U0ALICE', 'U0ALICE']);
  });

  it("one user's answer is never another's: concurrent requests of two users each get their own login", async () => {
    const slack = slackUsers({ U0ALICE: { email: 'alice@example.com' }, U0MALLORY: { email: 'mallory@example.com' } });
    const { identity } = identityWith(slack);
    slack.hold();
    const asks = ['U0MALLORY', 'U0ALICE', 'U0MALLORY', 'U0ALICE'].map((id) => identity.resolve(from(id)));
    slack.open();
    await expect(Promise.all(asks)).resolves.toEqual(['mallory', 'alice', 'mallory', 'alice']);
    expect([...slack.calls].sort()).toEqual(['U0ALICE', 'U0MALLORY']);
  });

  it('an answer about another user than the one asked for is refused and not kept', async () => {
    const slack = slackUsers({});
    const { identity } = identityWith(slack);
    slack.lookupUser = async (id: string) => {
      slack.calls.push(id);
      return { id: 'U0ALICE', teamId: 'T0HOME', email: 'alice@example.com' };
    };
    await expect(identity.resolve(from('U0MALLORY'))).rejects.toMatchObject({ message: expect.stringContaining('another user') });
    await expect(identity.resolve(from('U0MALLORY'))).rejects.toMatchObject({ message: expect.stringContaining('another user') });
    expect(slack.calls).toEqual(['U0MALLORY', 'U0MALLORY']);
  });

  it("a known user's id in a request from another workspace is still refused, and a changed identity map applies at once", async () => {
    const slack = slackUsers({ U0ALICE: { email: 'alice@example.com' } });
    let settings: IdentitySettings = { strategy: 'map', map: { U0ALICE: 'alice' }, allow_guests: false };
    const { identity } = identityWith(slack, () => settings);
    await expect(identity.resolve(from('U0ALICE'))).resolves.toBe('alice');
    await expect(identity.resolve(from('U0ALICE', 'T0EVIL'))).rejects.toMatchObject({
      code: ErrorCode.IdentityUnresolved,
      details: { reason: 'foreign' },
    });
    await expect(identity.resolve({ userId: 'U0ALICE', teamId: 'T0HOME', userTeamId: 'T0EVIL' })).rejects.toMatchObject({
      details: { reason: 'foreign' },
    });
    // The reloaded projects file maps alice no more: refused with the profile still fresh.
    settings = { strategy: 'map', map: {}, allow_guests: false };
    await expect(identity.resolve(from('U0ALICE'))).rejects.toMatchObject({ message: expect.stringContaining('not in the identity map') });
    expect(slack.calls).toEqual(['U0ALICE']);
  });
});

import type { ConjurClientOptions } from '../../src/conjur/client.js';
import { membershipSentinels, startConjurStandIn, type ConjurStandIn, type ConjurStandInOptions } from '../../dev/conjur-stand-in.js';
import { ErrorCode, isReleaseBotError } from '../../src/errors.js';
import {
  ACCOUNT,
  BOT_LOGIN,
  CANARY_API_KEY,
  CANARY_MULTILINE,
  CANARY_SECRET,
  captureLogger,
  makeClient,
  rejectionOf,
  testClock,
  visibleText,
} from './helpers.js';

const ALICE_KEY = `alicekey${'9'.repeat(46)}`;

/** The data of a small organisation: alice is in release/conjur-cli through release/devs; bob is not. */
function standInData(overrides: Partial<ConjurStandInOptions> = {}): ConjurStandInOptions {
  return {
    account: ACCOUNT,
    apiKeys: { [BOT_LOGIN]: CANARY_API_KEY, alice: ALICE_KEY },
    groups: {
      'release/conjur-cli': ['group:release/devs'],
      'release/devs': ['user:alice'],
      'release/bots': ['host:release-bot'],
      'ops/oncall': ['user:bob'],
    },
    variables: {
      'release/downloads/token': { value: CANARY_SECRET, readers: ['group:release/bots'] },
      'release/signing/key': { value: CANARY_MULTILINE, readers: ['host:release-bot'] },
      'release/unset': { readers: ['group:release/bots'] },
      'ops/db/password': { value: 'ops-only-value', readers: ['group:ops/oncall'] },
    },
    ...overrides,
  };
}

describe('ConjurClient against the Conjur stand-in (real HTTP on loopback)', () => {
  let server: ConjurStandIn;
  let serverClock: ReturnType<typeof testClock>;
  let clientClock: ReturnType<typeof testClock>;
  const client = (overrides: Partial<ConjurClientOptions> = {}) =>
    makeClient({ applianceUrl: server.url, now: clientClock.now, ...overrides });

  beforeEach(async () => {
    serverClock = testClock();
    clientClock = testClock();
    server = await startConjurStandIn(standInData({ now: serverClock.now }));
  });
  afterEach(() => server.close());

  it('authenticates as host/release-bot and answers whoami', async () => {
    const { client: c } = client();
    await expect(c.whoami()).resolves.toEqual({ account: ACCOUNT, username: BOT_LOGIN });
    expect(server.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /authn/myorg/host%2Frelease-bot/authenticate 200',
      'GET /whoami 200',
    ]);
  });

  it("fetches all of a release's credentials in one round trip after login", async () => {
    const { client: c } = client();
    const secrets = await c.getSecrets(['release/downloads/token', 'release/signing/key']);
    expect(secrets.get('release/downloads/token')).toBe(CANARY_SECRET);
    expect(secrets.get('release/signing/key')).toBe(CANARY_MULTILINE);
    expect(server.requests.filter((r) => r.path === '/secrets')).toHaveLength(1);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]?.login).toBe(BOT_LOGIN);
  });

  it('names a missing or unset variable and refuses one the bot may not read', async () => {
    const { client: c } = client();
    const missing = await rejectionOf(c.getSecrets(['release/downloads/token', 'release/nope']));
    expect(isReleaseBotError(missing, ErrorCode.ConjurNotFound)).toBe(true);
    expect((missing as { details: Record<string, unknown> }).details.missing).toEqual(['release/nope']);
    const unset = await rejectionOf(c.getSecrets(['release/unset']));
    expect(isReleaseBotError(unset, ErrorCode.ConjurNotFound)).toBe(true);
    const forbidden = await rejectionOf(c.getSecrets(['release/downloads/token', 'ops/db/password']));
    expect(isReleaseBotError(forbidden, ErrorCode.ConjurForbidden)).toBe(true);
    for (const err of [missing, unset, forbidden]) expect(visibleText(err)).not.toContain(CANARY_SECRET);
  });

  it('answers membership through nested groups, and follows changes', async () => {
    const { client: c } = client();
    await expect(c.isMember('alice', 'release/conjur-cli')).resolves.toBe(true);
    await expect(c.isMember('bob', 'release/conjur-cli')).resolves.toBe(false);
    await expect(c.isMember(BOT_LOGIN, 'release/bots')).resolves.toBe(true);
    server.addMember('release/devs', 'group:ops/oncall');
    await expect(c.isMember('bob', 'release/conjur-cli')).resolves.toBe(true);
    server.removeMember('release/conjur-cli', 'group:release/devs');
    await expect(c.isMember('alice', 'release/conjur-cli')).resolves.toBe(false);
    // Unknown to Conjur, with no sentinel: the person's side answers 404, as for a hidden person: undetermined.
    await expect(c.isMember('ghost', 'release/conjur-cli')).rejects.toMatchObject({ code: ErrorCode.MembershipUndetermined });
  });

  describe('when Conjur hides roles the bot holds no privilege on (1.19.3 and later)', () => {
    const hidden = (visibility: ConjurStandInOptions['visibility'], more: Partial<ConjurStandInOptions> = {}) =>
      startConjurStandIn(standInData({ now: serverClock.now, visibility, ...more }));
    const asked = (s: ConjurStandIn) => s.requests.filter((r) => r.method === 'GET').map((r) => `${r.path}?${r.query} ${r.status}`);
    const sentinel = membershipSentinels(['release/conjur-cli']);

    it("asks the group's sentinel when the person is not visible: one request, nested groups included, follows changes", async () => {
      await server.close();
      server = await hidden({}, { webservices: sentinel });
      const { client: c } = client();
      await expect(c.isMember('alice', 'release/conjur-cli')).resolves.toBe(true);
      expect(asked(server)).toEqual(['/resources/myorg/webservice/release%2Fconjur-cli?permitted_roles=true&privilege=release 200']);
      await expect(c.isMember('bob', 'release/conjur-cli')).resolves.toBe(false);
      await expect(c.isMember('ghost', 'release/conjur-cli')).resolves.toBe(false);
      server.addMember('release/devs', 'group:ops/oncall');
      await expect(c.isMember('bob', 'release/conjur-cli')).resolves.toBe(true);
      expect(server.requests.some((r) => r.path.startsWith('/roles/'))).toBe(false);
    });

    it("a sentinel the bot may not read is a 404, as if absent: the person's ?all is asked", async () => {
      await server.close();
      server = await hidden(
        { 'user:alice': ['host:release-bot'] },
        { webservices: { 'release/conjur-cli': { owner: 'policy:root', permissions: { release: ['group:release/conjur-cli'] } } } },
      );
      const { client: c } = client();
      await expect(c.isMember('alice', 'release/conjur-cli')).resolves.toBe(true);
      expect(asked(server)).toEqual([
        '/resources/myorg/webservice/release%2Fconjur-cli?permitted_roles=true&privilege=release 404',
        '/roles/myorg/user/alice?all 200',
      ]);
      await expect(c.membershipSentinel('release/conjur-cli')).resolves.toBe('missing');
    });

    it('refuses as membership undetermined when neither the sentinel nor the person is visible, and says so', async () => {
      await server.close();
      server = await hidden({ 'group:release/conjur-cli': ['host:release-bot'], 'group:release/devs': ['host:release-bot'] });
      const logs = captureLogger();
      const { client: c } = client({ log: logs.log });
      const err = await rejectionOf(c.isMember('alice', 'release/conjur-cli'));
      expect(isReleaseBotError(err, ErrorCode.MembershipUndetermined)).toBe(true);
      expect(logs.text()).toContain('Conjur group membership undetermined');
    });
  });

  it("checks the bot's execute privilege", async () => {
    const { client: c } = client();
    await expect(c.canRead('release/downloads/token')).resolves.toBe(true);
    await expect(c.canRead('ops/db/password')).resolves.toBe(false);
    await expect(c.canRead('release/nope')).resolves.toBe(false);
    server.setVariable('ops/db/password', 'rotated-value', ['group:release/bots']);
    await expect(c.canRead('ops/db/password')).resolves.toBe(true);
  });

  it('logs in again when the server has expired the token, and refreshes early by its own clock', async () => {
    const { client: c } = client();
    await c.whoami();
    serverClock.advance(9 * 60_000); // the client's clock stands still: only the server knows
    await c.whoami();
    expect(server.requests.map((r) => r.status)).toEqual([200, 200, 401, 200, 200]);

    // 80 % of the token's own 8 minutes (exp - iat) on the client's clock: a new login before the call.
    clientClock.advance(0.8 * 8 * 60_000);
    serverClock.advance(0.8 * 8 * 60_000);
    await c.whoami();
    expect(server.requests.slice(5).map((r) => `${r.method} ${r.status}`)).toEqual(['POST 200', 'GET 200']);
  });

  describe('tokens refreshed from their own exp', () => {
    /** Calls whoami every `stepMs` for `totalMs`, both clocks moving together (the client's shifted by `skewMs`). */
    async function driveFor(lifetimeMs: number, stepMs: number, totalMs: number, skewMs = 0): Promise<ConjurStandIn> {
      await server.close();
      const shared = testClock();
      server = await startConjurStandIn(standInData({ now: shared.now, tokenLifetimeMs: lifetimeMs }));
      const { client: c } = makeClient({ applianceUrl: server.url, now: () => shared.now() + skewMs });
      for (let t = 0; t <= totalMs; t += stepMs) {
        await c.whoami();
        shared.advance(stepMs);
      }
      return server;
    }
    const unauthorized = (s: ConjurStandIn) => s.requests.filter((r) => r.status === 401);
    const count401 = (s: ConjurStandIn) => s.unauthorizedCount();
    const logins = (s: ConjurStandIn) => s.requests.filter((r) => r.path.startsWith('/authn/'));

    it('a token with a 2-minute life is replaced before it expires, with no 401 in between', async () => {
      const s = await driveFor(2 * 60_000, 5_000, 10 * 60_000);
      expect(unauthorized(s)).toEqual([]);
      expect(count401(s)).toBe(0);
      // 10 minutes of 2-minute tokens renewed at 96 s: at least 6 logins, never one per call.
      expect(logins(s).length).toBeGreaterThanOrEqual(6);
      expect(logins(s).length).toBeLessThan(s.requests.length / 4);
    });

    it("uses only the token's own lifetime, so a release machine an hour off Conjur's clock refreshes just as well", async () => {
      const ahead = await driveFor(2 * 60_000, 5_000, 6 * 60_000, 3600_000);
      expect(unauthorized(ahead)).toEqual([]);
      const behind = await driveFor(2 * 60_000, 5_000, 6 * 60_000, -3600_000);
      expect(unauthorized(behind)).toEqual([]);
    });

    it('keeps a long-lived token (1 hour) instead of logging in every 6 minutes', async () => {
      const s = await driveFor(60 * 60_000, 60_000, 45 * 60_000);
      expect(unauthorized(s)).toEqual([]);
      expect(logins(s)).toHaveLength(1);
    });

    it('still recovers with one retry when Conjur refuses a token early (revoked), the 401 answered by a fresh login', async () => {
      const s = await driveFor(2 * 60_000, 5_000, 0);
      const { client: c } = makeClient({ applianceUrl: s.url });
      await c.whoami();
      s.revokeTokens();
      await expect(c.whoami()).resolves.toHaveProperty('username', BOT_LOGIN);
      expect(unauthorized(s)).toHaveLength(1);
      expect(count401(s)).toBe(1);
    });
  });

  it('logs in again when the server forgets its tokens', async () => {
    const { client: c } = client();
    await c.whoami();
    server.revokeTokens();
    await expect(c.whoami()).resolves.toHaveProperty('username', BOT_LOGIN);
    expect(server.requests.filter((r) => r.path.startsWith('/authn'))).toHaveLength(2);
  });

  it('refuses a wrong API key', async () => {
    const { client: c } = client({ apiKey: `wrong${'k'.repeat(50)}` });
    const err = await rejectionOf(c.whoami());
    expect(isReleaseBotError(err, ErrorCode.ConjurAuthFailed)).toBe(true);
  });

  it('reports Conjur down (503 or dropped connections) as a retryable ConjurUnavailable, and recovers', async () => {
    const { client: c } = client();
    server.setDown(true);
    const down = await rejectionOf(c.isMember('alice', 'release/conjur-cli'));
    expect(isReleaseBotError(down, ErrorCode.ConjurUnavailable)).toBe(true);
    expect((down as { retryable: boolean }).retryable).toBe(true);
    server.setDown('drop');
    const dropped = await rejectionOf(c.getSecrets(['release/downloads/token']));
    expect(isReleaseBotError(dropped, ErrorCode.ConjurUnavailable)).toBe(true);
    server.setDown(false);
    await expect(c.isMember('alice', 'release/conjur-cli')).resolves.toBe(true);
  });

  it("keeps secrets and keys out of the client's and the stand-in's logs", async () => {
    const clientLog = captureLogger();
    const serverLog = captureLogger();
    const logged = await startConjurStandIn(standInData({ log: serverLog.log }));
    try {
      const { client: c } = makeClient({ applianceUrl: logged.url, log: clientLog.log });
      await c.getSecrets(['release/downloads/token', 'release/signing/key']);
      await c.isMember('alice', 'release/conjur-cli');
      expect(serverLog.text()).toContain('DEVELOPMENT STAND-IN');
      const all = clientLog.text() + serverLog.text() + JSON.stringify(logged.requests);
      for (const canary of [CANARY_API_KEY, CANARY_SECRET, 'CANARYmultilinekeymaterial', ALICE_KEY]) expect(all).not.toContain(canary);
    } finally {
      await logged.close();
    }
  });
});

describe('the stand-in as an HTTP server', () => {
  let server: ConjurStandIn;
  const clock = testClock();
  beforeAll(async () => {
    server = await startConjurStandIn(standInData({ now: clock.now }));
  });
  afterAll(() => server.close());

  const authn = (login: string, key: string, base64 = true) =>
    fetch(`${server.url}/authn/${ACCOUNT}/${encodeURIComponent(login)}/authenticate`, {
      method: 'POST',
      body: key,
      headers: base64 ? { 'Accept-Encoding': 'base64' } : {},
    });

  it('issues a {protected, payload, signature} token, base64 only when asked', async () => {
    const json = JSON.parse(await (await authn('alice', ALICE_KEY, false)).text()) as Record<string, string>;
    expect(Object.keys(json).sort()).toEqual(['payload', 'protected', 'signature']);
    const b64 = await (await authn('alice', ALICE_KEY)).text();
    expect(Object.keys(JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as object).sort()).toEqual([
      'payload',
      'protected',
      'signature',
    ]);
    expect((await authn('alice', BOT_LOGIN)).status).toBe(401);
    expect((await authn('mallory', ALICE_KEY)).status).toBe(401);
  });

  it('demands a valid token on every other call', async () => {
    const token = await (await authn('alice', ALICE_KEY)).text();
    const get = (path: string, auth?: string) => fetch(`${server.url}${path}`, { headers: auth ? { Authorization: auth } : {} });
    expect((await get('/whoami')).status).toBe(401);
    expect((await get('/whoami', `Token token="${Buffer.from('{"signature":"forged"}').toString('base64')}"`)).status).toBe(401);
    const roles = await get('/roles/myorg/user/alice?all', `Token token="${token}"`);
    expect(await roles.json()).toEqual(['myorg:user:alice', 'myorg:group:release/devs', 'myorg:group:release/conjur-cli']);
    clock.advance(8 * 60_000);
    expect((await get('/whoami', `Token token="${token}"`)).status).toBe(401);
  });

  // cyberark/conjur spec/controllers/resources_controller_spec.rb#permitted_roles and
  // cucumber/api/features/permitted_roles.feature: an array of role ids (the owner's side included),
  // 422 {argument_error, "privilege"} without a privilege, 404 for a resource absent or not visible.
  it('answers permitted_roles as Conjur does: the permitted roles and the owner, expanded downwards; 422 without a privilege; 404 when not visible', async () => {
    const token = await (await authn('alice', ALICE_KEY)).text();
    const get = (path: string) => fetch(`${server.url}${path}`, { headers: { Authorization: `Token token="${token}"` } });
    server.setWebservice('release/conjur-cli', {
      owner: 'group:release/bots',
      permissions: { release: ['group:release/conjur-cli'], read: ['user:alice'] },
    });
    const ok = await get('/resources/myorg/webservice/release%2Fconjur-cli?permitted_roles=true&privilege=release');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual([
      'myorg:group:release/bots',
      'myorg:group:release/conjur-cli',
      'myorg:group:release/devs',
      'myorg:host:release-bot',
      'myorg:user:alice',
    ]);
    const none = await get('/resources/myorg/webservice/release%2Fconjur-cli?permitted_roles=true');
    expect([none.status, await none.json()]).toEqual([422, { error: { code: 'argument_error', message: 'privilege' } }]);
    server.setWebservice('release/conjur-cli', { owner: 'policy:root', permissions: { release: ['group:release/conjur-cli'] } });
    // Visible to whoever holds a privilege on it, through memberships too (is_resource_visible): alice
    // holds the group; the bot holds nothing there, so to it the sentinel does not exist.
    expect((await get('/resources/myorg/webservice/release%2Fconjur-cli?permitted_roles=true&privilege=release')).status).toBe(200);
    const botToken = await (await authn(BOT_LOGIN, CANARY_API_KEY)).text();
    const asBot = await fetch(`${server.url}/resources/myorg/webservice/release%2Fconjur-cli?permitted_roles=true&privilege=release`, {
      headers: { Authorization: `Token token="${botToken}"` },
    });
    expect(asBot.status).toBe(404);
    expect((await get('/resources/myorg/webservice/release%2Fnope?permitted_roles=true&privilege=release')).status).toBe(404);
    server.setWebservice('release/conjur-cli', undefined);
  });

  it('refuses data that does not name roles as kind:id', async () => {
    await expect(startConjurStandIn(standInData({ groups: { g: ['alice' as 'user:alice'] } }))).rejects.toThrow('user:alice');
  });
});

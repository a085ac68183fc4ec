import nock from 'nock';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { REDACTED } from '../../src/redact.js';
import { freePort } from '../support/ports.js';
import {
  ACCOUNT,
  CANARY_API_KEY,
  CANARY_MULTILINE,
  CANARY_SECRET,
  captureLogger,
  fakeToken,
  makeClient,
  rejectionOf,
  testClock,
  tokenHeader,
  visibleText,
} from './helpers.js';

const BASE = 'https://conjur.test';
const AUTHN_PATH = '/authn/myorg/host%2Frelease-bot/authenticate';

/** Expects `times` authn calls carrying the API key, each answered with the next token (base64, as asked). */
function expectAuthn(...tokens: { base64: string }[]): nock.Scope {
  const scope = nock(BASE);
  for (const t of tokens) {
    scope
      .post(AUTHN_PATH, (body) => body === CANARY_API_KEY)
      .matchHeader('accept-encoding', 'base64')
      .reply(200, t.base64, { 'Content-Type': 'text/plain' });
  }
  return scope;
}

function expectWhoami(token: { base64: string }, times = 1): nock.Scope {
  return nock(BASE)
    .get('/whoami')
    .matchHeader('authorization', tokenHeader(token.base64))
    .times(times)
    .reply(200, { account: ACCOUNT, username: 'host/release-bot', client_ip: '127.0.0.1' });
}

function expectError(err: unknown, code: ErrorCode): ReleaseBotError {
  expect(err).toBeInstanceOf(ReleaseBotError);
  expect((err as ReleaseBotError).code).toBe(code);
  return err as ReleaseBotError;
}

describe('ConjurClient authentication', () => {
  it('logs in with the URL-encoded host login and the API key, then sends the base64 token', async () => {
    const token = fakeToken();
    expectAuthn(token);
    expectWhoami(token);
    const { client } = makeClient();
    await expect(client.whoami()).resolves.toEqual({ account: ACCOUNT, username: 'host/release-bot' });
  });

  it('keeps a path prefix of the appliance URL', async () => {
    const token = fakeToken();
    nock(BASE).post(`/api${AUTHN_PATH}`, CANARY_API_KEY).reply(200, token.base64);
    nock(BASE).get('/api/whoami').matchHeader('authorization', tokenHeader(token.base64)).reply(200, { account: ACCOUNT, username: 'x' });
    const { client } = makeClient({ applianceUrl: `${BASE}/api/` });
    await expect(client.whoami()).resolves.toEqual({ account: ACCOUNT, username: 'x' });
  });

  it('base64-encodes a token the server sent as raw JSON', async () => {
    const token = fakeToken();
    nock(BASE).post(AUTHN_PATH).reply(200, token.json, { 'Content-Type': 'application/json' });
    expectWhoami(token);
    const { client } = makeClient();
    await client.whoami();
  });

  it('authenticates once for several calls, including concurrent ones', async () => {
    const token = fakeToken();
    expectAuthn(token); // a second authn would find no interceptor and fail
    expectWhoami(token, 4);
    const { client } = makeClient();
    await Promise.all([client.whoami(), client.whoami(), client.whoami()]);
    await client.whoami();
  });

  it('keeps the token for 6 minutes and fetches a new one before its 8-minute life ends', async () => {
    const clock = testClock();
    const first = fakeToken();
    const second = fakeToken();
    expectAuthn(first);
    expectWhoami(first, 2);
    const { client } = makeClient({ now: clock.now });
    await client.whoami();
    clock.advance(5 * 60_000 + 59_000);
    await client.whoami();
    expect(nock.isDone()).toBe(true);

    expectAuthn(second);
    expectWhoami(second);
    clock.advance(2 * 60_000); // 7m59s: still valid for Conjur, but too close to its end to use
    await client.whoami();
  });

  it('refreshes a token at 80 % of the life its own exp gives it (2 minutes: after 96 s), not on a fixed timer', async () => {
    const clock = testClock();
    const first = fakeToken(undefined, 120);
    const second = fakeToken(undefined, 3600);
    expectAuthn(first);
    expectWhoami(first, 2);
    const { client } = makeClient({ now: clock.now });
    await client.whoami();
    clock.advance(95_000);
    await client.whoami();
    expect(nock.isDone()).toBe(true);

    expectAuthn(second);
    expectWhoami(second, 2);
    clock.advance(1_000);
    await client.whoami();
    clock.advance(47 * 60_000); // a 1-hour token is kept for 48 minutes
    await client.whoami();
  });

  it('re-authenticates once when Conjur refuses the cached token, and retries the call', async () => {
    const stale = fakeToken();
    const fresh = fakeToken();
    expectAuthn(stale, fresh);
    nock(BASE).get('/whoami').matchHeader('authorization', tokenHeader(stale.base64)).reply(200, { account: ACCOUNT, username: 'b' });
    nock(BASE).get('/whoami').matchHeader('authorization', tokenHeader(stale.base64)).reply(401);
    expectWhoami(fresh);
    const { client } = makeClient();
    await client.whoami();
    await expect(client.whoami()).resolves.toEqual({ account: ACCOUNT, username: 'host/release-bot' });
  });

  it('gives up with ConjurAuthFailed when the fresh token is refused too (no loop)', async () => {
    const a = fakeToken();
    const b = fakeToken();
    expectAuthn(a, b);
    nock(BASE).get('/whoami').times(2).reply(401);
    const { client } = makeClient();
    const err = expectError(await rejectionOf(client.whoami()), ErrorCode.ConjurAuthFailed);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('CONJUR_AUTHN_API_KEY');
  });

  it('maps a refused login to ConjurAuthFailed without the API key in the error', async () => {
    nock(BASE).post(AUTHN_PATH).reply(401, 'Unauthorized');
    const { client } = makeClient();
    const err = expectError(await rejectionOf(client.whoami()), ErrorCode.ConjurAuthFailed);
    expect(visibleText(err)).not.toContain(CANARY_API_KEY);
  });

  it('refuses an authn answer that is not a token', async () => {
    nock(BASE).post(AUTHN_PATH).reply(200, 'not a token');
    const { client } = makeClient();
    expectError(await rejectionOf(client.whoami()), ErrorCode.ConjurUnavailable);
  });
});

describe('ConjurClient.getSecrets', () => {
  const ids = ['release/downloads/token', 'release/npm/token', 'team@ops/key'];
  const batchPath =
    '/secrets?variable_ids=myorg%3Avariable%3Arelease%2Fdownloads%2Ftoken,myorg%3Avariable%3Arelease%2Fnpm%2Ftoken,myorg%3Avariable%3Ateam%40ops%2Fkey';

  it('fetches every value in one batch call with encoded qualified ids and registers each with the redactor', async () => {
    const token = fakeToken();
    expectAuthn(token);
    nock(BASE)
      .get((uri) => uri === batchPath)
      .matchHeader('authorization', tokenHeader(token.base64))
      .reply(200, {
        'myorg:variable:release/downloads/token': CANARY_SECRET,
        'myorg:variable:release/npm/token': 'npm_abcdefghijklmnop',
        'myorg:variable:team@ops/key': CANARY_MULTILINE,
      });
    const { client, redactor } = makeClient();
    const secrets = await client.getSecrets(ids);
    expect([...secrets.entries()]).toEqual([
      ['release/downloads/token', CANARY_SECRET],
      ['release/npm/token', 'npm_abcdefghijklmnop'],
      ['team@ops/key', CANARY_MULTILINE],
    ]);
    expect(redactor.redact(`a ${CANARY_SECRET} b`)).toBe(`a ${REDACTED} b`);
    expect(redactor.redact(Buffer.from(CANARY_SECRET).toString('base64'))).toBe(REDACTED);
    expect(redactor.redact('CANARYmultilinekeymaterial0123456789')).toBe(REDACTED);
    expect(redactor.redact(token.base64)).toBe(REDACTED);
    expect(redactor.redact(token.json)).not.toContain(token.signature);
  });

  it('makes no call for an empty list', async () => {
    const { client } = makeClient();
    await expect(client.getSecrets([])).resolves.toEqual(new Map());
  });

  it('names the missing variable when Conjur says which one it is', async () => {
    expectAuthn(fakeToken());
    nock(BASE)
      .get((uri) => uri === batchPath)
      .reply(404, {
        error: {
          code: 'not_found',
          message: 'CONJ00076E Variable myorg:variable:release/npm/token is empty or not found.',
          target: 'variable',
        },
      });
    const { client } = makeClient();
    const err = expectError(await rejectionOf(client.getSecrets(ids)), ErrorCode.ConjurNotFound);
    expect(err.details.missing).toEqual(['release/npm/token']);
    expect(err.message).toContain('release/npm/token');
    expect(err.message).not.toContain('release/downloads/token');
  });

  it('does not mistake a longer id for a requested one', async () => {
    expectAuthn(fakeToken());
    nock(BASE)
      .get((uri) => uri.startsWith('/secrets'))
      .reply(404, { error: { message: "Variable 'myorg:variable:release/npm/token-old' not found" } });
    const { client } = makeClient();
    const err = expectError(await rejectionOf(client.getSecrets(['release/npm/token', 'release/a'])), ErrorCode.ConjurNotFound);
    expect(err.details.missing).toEqual(['release/npm/token', 'release/a']);
  });

  it('lists the requested ids when the 404 does not say which is missing', async () => {
    expectAuthn(fakeToken());
    nock(BASE)
      .get((uri) => uri === batchPath)
      .reply(404);
    const { client } = makeClient();
    const err = expectError(await rejectionOf(client.getSecrets(ids)), ErrorCode.ConjurNotFound);
    expect(err.details.missing).toEqual(ids);
  });

  it('maps 403 to ConjurForbidden and 500 to a retryable ConjurUnavailable', async () => {
    expectAuthn(fakeToken());
    nock(BASE)
      .get((uri) => uri.startsWith('/secrets'))
      .reply(403)
      .get((uri) => uri.startsWith('/secrets'))
      .reply(500);
    const { client } = makeClient();
    expectError(await rejectionOf(client.getSecrets(ids)), ErrorCode.ConjurForbidden);
    const err = expectError(await rejectionOf(client.getSecrets(ids)), ErrorCode.ConjurUnavailable);
    expect(err.retryable).toBe(true);
  });

  it('fails closed when the answer lacks a requested variable, and still never shows the values it got', async () => {
    expectAuthn(fakeToken());
    nock(BASE)
      .get((uri) => uri === batchPath)
      .reply(200, { 'myorg:variable:release/downloads/token': CANARY_SECRET });
    const { client, redactor } = makeClient();
    const err = expectError(await rejectionOf(client.getSecrets(ids)), ErrorCode.ConjurNotFound);
    expect(err.details.missing).toEqual(['release/npm/token']);
    expect(visibleText(err)).not.toContain(CANARY_SECRET);
    expect(redactor.redact(CANARY_SECRET)).toBe(REDACTED);
  });

  it('fails closed on an answer that is not a JSON object', async () => {
    expectAuthn(fakeToken());
    nock(BASE)
      .get((uri) => uri.startsWith('/secrets'))
      .reply(200, '<html>proxy login</html>')
      .get((uri) => uri.startsWith('/secrets'))
      .reply(200, [CANARY_SECRET]);
    const { client } = makeClient();
    expectError(await rejectionOf(client.getSecrets(['release/a'])), ErrorCode.ConjurUnavailable);
    const err = expectError(await rejectionOf(client.getSecrets(['release/a'])), ErrorCode.ConjurUnavailable);
    expect(visibleText(err)).not.toContain(CANARY_SECRET);
  });
});

describe('ConjurClient.isMember', () => {
  const rolesOf = (path: string, roles: unknown, status = 200): nock.Scope =>
    nock(BASE)
      .get((uri) => uri === `${path}?all`)
      .reply(status, roles as nock.Body);
  /** The group's membership sentinel: `GET /resources/<account>/webservice/<group>?permitted_roles=true&privilege=release` (cyberark/conjur config/routes.rb, resources#permitted_roles). */
  const sentinel = (group: string, body: unknown, status = 200): nock.Scope =>
    nock(BASE)
      .get((uri) => uri === `/resources/myorg/webservice/${encodeURIComponent(group)}?permitted_roles=true&privilege=release`)
      .matchHeader('authorization', /^Token token="/)
      .reply(status, body as nock.Body);
  /** Conjur's 404 for a resource the bot may not see (RecordNotFound, app/controllers/application_controller.rb). */
  const noSentinel = (group = 'release/conjur-cli') =>
    sentinel(group, { error: { code: 'not_found', message: `Webservice 'myorg:webservice:${group}' not found` } }, 404);

  it("asks the group's sentinel first: a member iff Conjur lists the person's own role id, in one request", async () => {
    expectAuthn(fakeToken());
    // roles_that_can answers the permitted group, the owner's side and everyone below them (a JSON array of ids).
    const answer = [
      'myorg:group:release/conjur-cli',
      'myorg:group:release/devs',
      'myorg:policy:release',
      'myorg:user:admin',
      'myorg:user:alice',
      'myorg:host:ci/jenkins',
      'other:user:bob',
      'myorg:group:bob',
    ];
    for (let i = 0; i < 4; i++) sentinel('release/conjur-cli', answer);
    const { client } = makeClient();
    await expect(client.isMember('alice', 'release/conjur-cli')).resolves.toBe(true);
    await expect(client.isMember('host/ci/jenkins', 'release/conjur-cli')).resolves.toBe(true);
    // Another account's bob, a group named bob: not the user bob.
    await expect(client.isMember('bob', 'release/conjur-cli')).resolves.toBe(false);
    await expect(client.isMember('alice@devops', 'release/conjur-cli')).resolves.toBe(false);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('refuses a sentinel answer that is not an array of role ids, and a sentinel that does not list its group', async () => {
    expectAuthn(fakeToken());
    sentinel('release/conjur-cli', { id: 'myorg:webservice:release/conjur-cli', permissions: [] });
    sentinel('release/conjur-cli', ['myorg:group:release/conjur-cli', { id: 'myorg:user:alice' }]);
    sentinel('release/conjur-cli', ['myorg:user:admin', 'myorg:user:alice']);
    const { client } = makeClient();
    expectError(await rejectionOf(client.isMember('alice', 'release/conjur-cli')), ErrorCode.ConjurUnavailable);
    expectError(await rejectionOf(client.isMember('alice', 'release/conjur-cli')), ErrorCode.ConjurUnavailable);
    const stray = expectError(await rejectionOf(client.isMember('alice', 'release/conjur-cli')), ErrorCode.MembershipUndetermined);
    expect(stray.message).toContain('does not permit the group release/conjur-cli');
  });

  it('a sentinel answering 403 or 500 is an error, never a fall back to another path', async () => {
    expectAuthn(fakeToken());
    sentinel('release/conjur-cli', '', 403);
    sentinel('release/conjur-cli', 'boom', 500);
    const { client } = makeClient();
    expectError(await rejectionOf(client.isMember('alice', 'release/conjur-cli')), ErrorCode.ConjurForbidden);
    expect(expectError(await rejectionOf(client.isMember('alice', 'release/conjur-cli')), ErrorCode.ConjurUnavailable).retryable).toBe(
      true,
    );
  });

  it("without a sentinel, reads the person's ?all memberships: true for a member through nested groups", async () => {
    expectAuthn(fakeToken());
    noSentinel();
    rolesOf('/roles/myorg/user/alice', ['myorg:user:alice', 'myorg:group:release/devs', 'myorg:group:release/conjur-cli']);
    const { client } = makeClient();
    await expect(client.isMember('alice', 'release/conjur-cli')).resolves.toBe(true);
  });

  it("is false when only a look-alike group or another account's group is listed", async () => {
    expectAuthn(fakeToken());
    noSentinel();
    rolesOf('/roles/myorg/user/bob', [
      'myorg:user:bob',
      'myorg:group:release/conjur-cli-readers',
      'other:group:release/conjur-cli',
      'myorg:user:release/conjur-cli',
    ]);
    const { client } = makeClient();
    await expect(client.isMember('bob', 'release/conjur-cli')).resolves.toBe(false);
  });

  it('asks about a host role for a host/ login, with its id encoded as one path segment', async () => {
    expectAuthn(fakeToken());
    noSentinel();
    noSentinel();
    rolesOf('/roles/myorg/host/ci%2Fjenkins', ['myorg:host:ci/jenkins', 'myorg:group:release/conjur-cli']);
    rolesOf('/roles/myorg/user/alice%40devops', ['myorg:user:alice@devops']);
    const { client } = makeClient();
    await expect(client.isMember('host/ci/jenkins', 'release/conjur-cli')).resolves.toBe(true);
    await expect(client.isMember('alice@devops', 'release/conjur-cli')).resolves.toBe(false);
  });

  it('refuses the object form and any array that is not all role ids: it fails closed', async () => {
    expectAuthn(fakeToken());
    for (let i = 0; i < 3; i++) noSentinel();
    rolesOf('/roles/myorg/user/alice', { id: 'myorg:user:alice', members: [{ member: 'myorg:group:release/conjur-cli' }] });
    rolesOf('/roles/myorg/user/alice', ['myorg:group:release/conjur-cli', { role: 'x' }]);
    rolesOf('/roles/myorg/user/alice', 'myorg:group:release/conjur-cli');
    const { client } = makeClient();
    for (let i = 0; i < 3; i++) expectError(await rejectionOf(client.isMember('alice', 'release/conjur-cli')), ErrorCode.ConjurUnavailable);
  });

  it('neither the sentinel nor the person visible: MembershipUndetermined naming the fix; 403 on the person is ConjurForbidden; no walk', async () => {
    expectAuthn(fakeToken());
    noSentinel();
    rolesOf('/roles/myorg/user/ghost', {}, 404);
    noSentinel();
    rolesOf('/roles/myorg/user/alice', {}, 403);
    const { client } = makeClient();
    const err = expectError(await rejectionOf(client.isMember('ghost', 'release/conjur-cli')), ErrorCode.MembershipUndetermined);
    expect(err.message).toBe(
      "cannot tell whether ghost is a member of the Conjur group release/conjur-cli: Conjur shows host/release-bot neither the group's membership sentinel (!webservice release/conjur-cli) nor user ghost. Declare !webservice release/conjur-cli in the policy that declares the group (so it has the same owner), permit the group release and host/release-bot read on it (deploy/conjur/policy.yml)",
    );
    expect(err.details).toEqual({ group: 'release/conjur-cli', sentinel: 'webservice:release/conjur-cli' });
    expectError(await rejectionOf(client.isMember('alice', 'release/conjur-cli')), ErrorCode.ConjurForbidden);
    // Every interceptor used, and nothing else asked (nock refuses an unexpected ?members).
    expect(nock.pendingMocks()).toEqual([]);
  });
});

describe('ConjurClient.canRead', () => {
  it('checks execute on the variable: 204 is true, 404 is false, 403 throws', async () => {
    expectAuthn(fakeToken());
    const path = '/resources/myorg/variable/release%2Fnpm%2Ftoken?check=true&privilege=execute';
    nock(BASE)
      .get((uri) => uri === path)
      .reply(204)
      .get((uri) => uri === path)
      .reply(404)
      .get((uri) => uri === path)
      .reply(403);
    const { client } = makeClient();
    await expect(client.canRead('release/npm/token')).resolves.toBe(true);
    await expect(client.canRead('release/npm/token')).resolves.toBe(false);
    expectError(await rejectionOf(client.canRead('release/npm/token')), ErrorCode.ConjurForbidden);
  });
});

describe('hostile ids', () => {
  const hostile = [
    '../../x',
    'a?b',
    'a#b',
    'a,b',
    'x:y',
    'a%2Fb',
    'a b',
    '',
    'a//b',
    'a/',
    '/a',
    'a/../b',
    '.hidden',
    'a\nb',
    'x'.repeat(300),
  ];

  it.each(hostile)('refuses %j as a variable or group id before any request', async (id) => {
    const { client } = makeClient(); // no interceptor: a request would fail with a different error
    expectError(await rejectionOf(client.getSecrets(['release/ok', id])), ErrorCode.BadInput);
    expectError(await rejectionOf(client.canRead(id)), ErrorCode.BadInput);
    expectError(await rejectionOf(client.isMember('alice', id)), ErrorCode.BadInput);
    expectError(await rejectionOf(client.isMember(id, 'release/ok')), ErrorCode.BadInput);
    expectError(await rejectionOf(client.isMember(`host/${id}`, 'release/ok')), ErrorCode.BadInput);
  });
});

describe('transport failures', () => {
  it('turns a timeout into a retryable ConjurUnavailable', async () => {
    nock(BASE).post(AUTHN_PATH).delay(1_000).reply(200, fakeToken().base64);
    const { client } = makeClient({ timeoutMs: 50 });
    const err = expectError(await rejectionOf(client.whoami()), ErrorCode.ConjurUnavailable);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('50 ms');
  });

  it('turns a refused connection into a retryable ConjurUnavailable', async () => {
    const port = await freePort();
    const { client } = makeClient({ applianceUrl: `http://127.0.0.1:${port}` });
    const err = expectError(await rejectionOf(client.whoami()), ErrorCode.ConjurUnavailable);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('ECONNREFUSED');
  });

  it.each([502, 503, 429])('treats %i as a retryable ConjurUnavailable', async (status) => {
    expectAuthn(fakeToken());
    nock(BASE).get('/whoami').reply(status);
    const { client } = makeClient();
    expect(expectError(await rejectionOf(client.whoami()), ErrorCode.ConjurUnavailable).retryable).toBe(true);
  });

  it('treats an unexpected status as a failure, not a success', async () => {
    expectAuthn(fakeToken());
    nock(BASE)
      .get((uri) => uri.startsWith('/resources'))
      .reply(302, '', { Location: 'https://evil.test/' });
    const { client } = makeClient();
    expectError(await rejectionOf(client.canRead('release/a')), ErrorCode.ConjurUnavailable);
  });
});

describe('configuration errors', () => {
  it.each([
    [{ apiKey: undefined }, 'CONJUR_AUTHN_API_KEY'],
    [{ applianceUrl: `https://admin:${CANARY_API_KEY}@conjur.test` }, 'CONJUR_APPLIANCE_URL'],
    [{ applianceUrl: 'ftp://conjur.test' }, 'CONJUR_APPLIANCE_URL'],
    [{ account: 'my/org' }, 'CONJUR_ACCOUNT'],
    [{ login: 'host/../admin' }, 'CONJUR_AUTHN_LOGIN'],
    [{ certFile: '/nonexistent/conjur.pem' }, 'CONJUR_CERT_FILE'],
  ])('refuses %j naming %s, without the API key in the message', (overrides, name) => {
    let err: unknown;
    expect(() => {
      try {
        makeClient(overrides);
      } catch (e) {
        err = e;
        throw e;
      }
    }).toThrow(name);
    expectError(err, ErrorCode.ConfigInvalid);
    expect(visibleText(err)).not.toContain(CANARY_API_KEY);
  });
});

describe('no secret reaches a log line or an error', () => {
  it('keeps the API key, tokens and secret values out of trace-level logs and every error', async () => {
    const { log, text } = captureLogger();
    const token = fakeToken();
    const token2 = fakeToken();
    const errors: unknown[] = [];
    expectAuthn(token, token2);
    nock(BASE)
      .get((uri) => uri.startsWith('/secrets'))
      .reply(200, { 'myorg:variable:release/a': CANARY_SECRET, 'myorg:variable:release/b': CANARY_MULTILINE })
      .get((uri) => uri.startsWith('/secrets'))
      .reply(404, { error: { message: `Variable myorg:variable:release/b not found ${CANARY_SECRET}` } })
      .get((uri) => uri.startsWith('/secrets'))
      .reply(200, { 'myorg:variable:release/a': CANARY_SECRET })
      .get('/whoami')
      .times(2)
      .reply(401)
      .get((uri) => uri.startsWith('/resources/myorg/webservice/'))
      .reply(500, CANARY_SECRET);
    const { client } = makeClient({ log });
    await expect(client.getSecrets(['release/a', 'release/b'])).resolves.toHaveProperty('size', 2);
    errors.push(await rejectionOf(client.getSecrets(['release/a', 'release/b'])));
    errors.push(await rejectionOf(client.getSecrets(['release/a', 'release/b'])));
    errors.push(await rejectionOf(client.whoami()));
    errors.push(await rejectionOf(client.isMember('alice', 'release/g')));

    const seen = [text(), ...errors.map(visibleText)].join('\n');
    expect(errors).toHaveLength(4);
    expect(text()).toContain('conjur request'); // the log did capture the calls
    for (const canary of [
      CANARY_API_KEY,
      CANARY_SECRET,
      'CANARYmultilinekeymaterial',
      token.base64,
      token.signature,
      token2.base64,
      token2.signature,
    ]) {
      expect(seen).not.toContain(canary);
    }
  });
});

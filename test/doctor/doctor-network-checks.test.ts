import nock from 'nock';
import { destinationChecks, jwksCheck, slackChecks } from '../../handlers/cli/commands/doctor-network.js';
import type { Config, ProjectConfig } from '../../src/config/load.js';
import { pluginJwk } from '../jenkins/helpers/oidc-plugin.js';

const TOKEN = 'xoxb-doctor-canary-0c7e4b1d9a2f';

const env = (extra: Partial<Config['env']> = {}) => ({ SLACK_BOT_TOKEN: TOKEN, ...extra }) as Config['env'];
const mapIdentity = { strategy: 'map', map: {}, allow_guests: false } as Config['identity'];
const emailIdentity = { ...mapIdentity, strategy: 'email-localpart', email_domains: ['example.com'] } as Config['identity'];

/**
 * auth.test as slack.com answers it: `{ ok: true, url, team, user, team_id, user_id, bot_id }`
 * (slackapi/node-slack-sdk packages/web-api/src/types/response/AuthTestResponse.ts) and the token's scopes in the
 * `x-oauth-scopes` header, comma-separated (packages/web-api/src/WebClient.ts buildResult splits on /\s*,\s*\/;
 * the SDK's own WebClient.spec.ts sends them with a space after each comma).
 */
const slack = (
  scopes: string | undefined,
  body: Record<string, unknown> = {
    ok: true,
    url: 'https://acme.slack.com/',
    team: 'Acme',
    user: 'release-bot',
    team_id: 'T024BE7LD',
    user_id: 'U0RELEASE',
    bot_id: 'B0RELEASE',
  },
) =>
  nock('https://slack.com', { reqheaders: { authorization: `Bearer ${TOKEN}` } })
    .post('/api/auth.test')
    .reply(200, body, scopes === undefined ? {} : { 'x-oauth-scopes': scopes });

describe('doctor: Slack auth.test and the scopes the bot needs', () => {
  it('passes a token with every scope, read from the x-oauth-scopes header', async () => {
    slack('commands, chat:write, users:read, users:read.email');
    await expect(slackChecks(env(), emailIdentity)).resolves.toEqual([
      { ok: true, name: 'Slack bot token', detail: 'auth.test ok (release-bot in Acme)' },
      { ok: true, name: 'Slack scopes', detail: 'commands, chat:write, users:read, users:read.email' },
    ]);
  });

  it('names a missing scope and how to add it; users:read.email only for email-localpart', async () => {
    slack('commands,chat:write,users:read');
    const checks = await slackChecks(env(), emailIdentity);
    expect(checks[1]).toEqual({
      ok: false,
      name: 'Slack scopes',
      detail: expect.stringMatching(
        /^the bot token lacks users:read\.email: add it under OAuth & Permissions -> Bot Token Scopes .* reinstall the app/,
      ),
    });
    slack('commands,chat:write,users:read');
    expect((await slackChecks(env(), mapIdentity))[1]?.ok).toBe(true);
  });

  it('says which credential Slack refused and where to get a right one, without the token', async () => {
    slack(undefined, { ok: false, error: 'invalid_auth' });
    const checks = await slackChecks(env(), mapIdentity);
    expect(checks).toEqual([
      {
        ok: false,
        name: 'Slack bot token',
        detail: expect.stringMatching(/^Slack refused SLACK_BOT_TOKEN \(invalid_auth\): copy the Bot User OAuth Token/),
      },
    ]);
    expect(JSON.stringify(checks)).not.toContain(TOKEN);
  });

  it('is not checked when Slack is not configured', async () => {
    await expect(slackChecks({} as Config['env'], mapIdentity)).resolves.toEqual([]);
  });
});

describe('doctor: the Jenkins JWKS URL', () => {
  const URL_ = 'https://jenkins.example.com/oidc/jwks';
  it('fetches it without credentials and counts the keys the webhook would use', async () => {
    // The set as the OIDC provider plugin serves it (test/jenkins/helpers/oidc-plugin.ts: Keys.key()), plus a key the bot ignores.
    nock('https://jenkins.example.com', { badheaders: ['authorization'] })
      .get('/oidc/jwks')
      .reply(200, { keys: [pluginJwk(), { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }] });
    await expect(jwksCheck(URL_)).resolves.toEqual([{ ok: true, name: `Jenkins JWKS ${URL_}`, detail: '1 RS256 and 0 ES256 key(s)' }]);
  });

  it.each([
    [403, '', /answers 403: the bot reads it without credentials, so it must be public/],
    [200, '<html>login</html>', /is not JSON/],
    [200, '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}', /holds no RS256 .* or ES256 .* signing key/],
  ])('refuses an answer %i %j in plain words', async (status, body, detail) => {
    nock('https://jenkins.example.com').get('/oidc/jwks').reply(status, body);
    const [check] = await jwksCheck(URL_);
    expect(check?.ok).toBe(false);
    expect(check?.detail).toMatch(detail);
  });
});

describe('doctor: destinations answer, asked with no credential and no write', () => {
  const project = (destinations: Array<{ name: string; type: string; options: Record<string, unknown> }>) =>
    new Map([
      [
        'conjur-cli',
        { name: 'conjur-cli', destinations: destinations.map((d) => ({ ...d, credentials: {} })) } as unknown as ProjectConfig,
      ],
    ]);

  it('asks the GitHub and Heroku APIs with a GET of their root, and a registry its /v2/', async () => {
    const github = nock('https://api.github.com', { badheaders: ['authorization'], reqheaders: { accept: 'application/vnd.github+json' } })
      .get('/')
      .reply(200, { current_user_url: 'https://api.github.com/user' });
    // The Platform API answers its root 404 (no link of heroku/platform-api's schema is "/"), from Heroku itself.
    const heroku = nock('https://api.heroku.com', {
      badheaders: ['authorization'],
      reqheaders: { accept: 'application/vnd.heroku+json; version=3' },
    })
      .get('/')
      .reply(404, { id: 'not_found', message: 'The requested API endpoint was not found.' });
    // Distribution spec: GET /v2/ answers 401 with a WWW-Authenticate challenge when a login is needed.
    const registry = nock('https://registry.example.com', { badheaders: ['authorization'] })
      .get('/v2/')
      .reply(401, { errors: [{ code: 'UNAUTHORIZED' }] }, { 'www-authenticate': 'Bearer realm="https://auth.example.com/token"' });
    const checks = await destinationChecks(
      project([
        { name: 'gh', type: 'github', options: { repository: 'cyberark/conjur-cli', api_url: 'https://api.github.com' } },
        { name: 'hk', type: 'heroku', options: { app: 'acme-cli', api_url: 'https://api.heroku.com' } },
        { name: 'img', type: 'docker', options: { repository: 'registry.example.com/org/conjur-cli', tls_verify: true } },
        { name: 'files', type: 'directory', options: { path: '/srv/mirror' } },
      ]),
    );
    expect(checks).toEqual([
      { ok: true, name: 'destination conjur-cli/gh (https://api.github.com/)', detail: 'GitHub API answers (HTTP 200)' },
      { ok: true, name: 'destination conjur-cli/hk (https://api.heroku.com/)', detail: 'Heroku Platform API answers (HTTP 404)' },
      { ok: true, name: 'destination conjur-cli/img (https://registry.example.com/v2/)', detail: 'registry API v2 answers (HTTP 401)' },
    ]);
    for (const scope of [github, heroku, registry]) expect(scope.isDone()).toBe(true);
  });

  it('fails a service answering 5xx, and one whose name does not resolve', async () => {
    nock('https://api.github.com').get('/').reply(503, 'unavailable');
    nock('https://registry.invalid')
      .get('/-/ping')
      .replyWithError(Object.assign(new Error('getaddrinfo ENOTFOUND registry.invalid'), { code: 'ENOTFOUND' }));
    const checks = await destinationChecks(
      project([
        { name: 'gh', type: 'github', options: { repository: 'cyberark/conjur-cli', api_url: 'https://api.github.com' } },
        { name: 'npmjs', type: 'npm', options: { registry: 'https://registry.invalid/' } },
      ]),
    );
    expect(checks.map((c) => [c.ok, c.detail])).toEqual([
      [false, 'answers HTTP 503: the GitHub API is down or failing; releases to it will fail until it is back'],
      [false, expect.stringMatching(/ENOTFOUND/)],
    ]);
  });
});

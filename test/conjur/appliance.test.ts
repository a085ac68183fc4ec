import nock from 'nock';
import { ErrorCode } from '../../src/errors.js';
import { CANARY_API_KEY, fakeToken, makeClient, tokenHeader } from './helpers.js';

/**
 * Conjur Cloud: the tenant's URL with or without /api, account `conjur` (as conjur-api-go's
 * router_url.go and config.go treat `*.secretsmgr.cyberark.cloud`); self-hosted URLs as given.
 */
describe('CONJUR_APPLIANCE_URL and Conjur Cloud', () => {
  const tenant = 'https://acme.secretsmgr.cyberark.cloud';

  it.each([tenant, `${tenant}/`, `${tenant}/api`, `${tenant}/api/`])(
    'calls %s under /api with the account conjur',
    async (applianceUrl) => {
      const token = fakeToken();
      nock(tenant).post('/api/authn/conjur/host%2Frelease-bot/authenticate', CANARY_API_KEY).reply(200, token.base64);
      nock(tenant)
        .get('/api/whoami')
        .matchHeader('authorization', tokenHeader(token.base64))
        .reply(200, { account: 'conjur', username: 'host/release-bot' });
      const { client } = makeClient({ applianceUrl, account: 'conjur' });
      await expect(client.whoami()).resolves.toEqual({ account: 'conjur', username: 'host/release-bot' });
    },
  );

  it('the other tenant form (<tenant>-secretsmanager.cyberark.cloud) too', async () => {
    const other = 'https://acme-secretsmanager.cyberark.cloud';
    const token = fakeToken();
    nock(other).post('/api/authn/conjur/host%2Frelease-bot/authenticate').reply(200, token.base64);
    nock(other).get('/api/whoami').reply(200, { account: 'conjur', username: 'host/release-bot' });
    await expect(makeClient({ applianceUrl: other, account: 'conjur' }).client.whoami()).resolves.toHaveProperty('account', 'conjur');
  });

  it('refuses a Cloud tenant with another path, or another account: ambiguous or certain to fail', () => {
    expect(() => makeClient({ applianceUrl: `${tenant}/conjur`, account: 'conjur' })).toThrow(
      expect.objectContaining({ code: ErrorCode.ConfigInvalid, message: expect.stringContaining('/api') }),
    );
    expect(() => makeClient({ applianceUrl: tenant, account: 'myorg' })).toThrow('always "conjur"');
  });

  it('never adds /api to a self-hosted Conjur (its root, or a proxy prefix, as given)', async () => {
    const base = 'https://conjur.example.com';
    const token = fakeToken();
    nock(base).post('/authn/myorg/host%2Frelease-bot/authenticate').reply(200, token.base64);
    nock(base).get('/whoami').reply(200, { account: 'myorg', username: 'host/release-bot' });
    await expect(makeClient({ applianceUrl: base }).client.whoami()).resolves.toHaveProperty('account', 'myorg');
    // Look-alikes of a Cloud name are not Cloud: http, or the suffix not at the end.
    expect(() => makeClient({ applianceUrl: 'http://acme.secretsmgr.cyberark.cloud.example.com/x' })).not.toThrow();
  });
});

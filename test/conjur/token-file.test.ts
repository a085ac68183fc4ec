import { writeFileSync } from 'node:fs';
import path from 'node:path';
import nock from 'nock';
import { ErrorCode, isReleaseBotError } from '../../src/errors.js';
import { REDACTED } from '../../src/redact.js';
import { makeTmpDir } from '../support/tmp.js';
import { ACCOUNT, CANARY_API_KEY, fakeToken, makeClient, rejectionOf, tokenHeader, visibleText } from './helpers.js';

const BASE = 'https://conjur.test';

describe('ConjurClient with CONJUR_AUTHN_TOKEN_FILE', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  let file: string;
  beforeEach(() => {
    tmp = makeTmpDir();
    file = path.join(tmp.dir, 'access-token');
  });
  afterEach(() => tmp.cleanup());

  const whoami = (token: { base64: string }): nock.Scope =>
    nock(BASE)
      .get('/whoami')
      .matchHeader('authorization', tokenHeader(token.base64))
      .reply(200, { account: ACCOUNT, username: 'host/release-bot' });

  it('uses the token in the file (raw JSON or base64) and picks up a new one as soon as the file changes, never logging in', async () => {
    const first = fakeToken();
    const second = fakeToken();
    writeFileSync(file, `${first.json}\n`);
    whoami(first);
    whoami(first);
    const { client, redactor } = makeClient({ tokenFile: file, apiKey: CANARY_API_KEY }); // token file wins, as in Conjur's clients
    await client.whoami();
    await client.whoami();
    expect(nock.isDone()).toBe(true);

    writeFileSync(file, second.base64);
    whoami(second);
    await client.whoami();
    expect(redactor.redact(second.base64)).toBe(REDACTED);
    expect(redactor.redact(first.signature)).toBe(REDACTED);
  });

  it('re-reads the file after a 401 and retries once when it holds a new token', async () => {
    const stale = fakeToken();
    const fresh = fakeToken();
    writeFileSync(file, stale.json);
    nock(BASE)
      .get('/whoami')
      .matchHeader('authorization', tokenHeader(stale.base64))
      .reply(() => {
        writeFileSync(file, fresh.json); // the sidecar renewed it while the request was in flight
        return [401, ''];
      });
    whoami(fresh);
    const { client } = makeClient({ tokenFile: file, apiKey: undefined });
    await expect(client.whoami()).resolves.toEqual({ account: ACCOUNT, username: 'host/release-bot' });
  });

  it('fails with ConjurAuthFailed after a 401 when the file still holds the refused token', async () => {
    const token = fakeToken();
    writeFileSync(file, token.json);
    nock(BASE).get('/whoami').reply(401);
    const { client } = makeClient({ tokenFile: file, apiKey: undefined });
    const err = await rejectionOf(client.whoami());
    expect(isReleaseBotError(err, ErrorCode.ConjurAuthFailed)).toBe(true);
  });

  it('refuses a file that holds no token without repeating its content', async () => {
    writeFileSync(file, CANARY_API_KEY);
    const { client } = makeClient({ tokenFile: file, apiKey: undefined });
    const err = await rejectionOf(client.whoami());
    expect(isReleaseBotError(err, ErrorCode.ConjurAuthFailed)).toBe(true);
    expect(visibleText(err)).not.toContain(CANARY_API_KEY);
    expect(visibleText(err)).toContain('CONJUR_AUTHN_TOKEN_FILE');
  });

  it('reports a missing file as a retryable ConjurUnavailable naming the variable', async () => {
    const { client } = makeClient({ tokenFile: path.join(tmp.dir, 'not-yet-written'), apiKey: undefined });
    const err = await rejectionOf(client.whoami());
    expect(isReleaseBotError(err, ErrorCode.ConjurUnavailable)).toBe(true);
    expect((err as Error).message).toContain('CONJUR_AUTHN_TOKEN_FILE');
  });
});

import { randomBytes } from 'node:crypto';
import nock from 'nock';
import { startConjurStandIn, type ConjurStandIn } from '../../dev/conjur-stand-in.js';
import { ErrorCode, isReleaseBotError } from '../../src/errors.js';
import { REDACTED } from '../../src/redact.js';
import { ACCOUNT, BOT_LOGIN, CANARY_API_KEY, captureLogger, fakeToken, makeClient, rejectionOf, visibleText } from './helpers.js';

/** Random bytes that are certainly not UTF-8 (0xff never is) and hold NUL bytes: a keystore's shape. */
function binaryCanary(): Buffer {
  return Buffer.concat([Buffer.from([0x30, 0x82, 0x00, 0xff, 0xfe, 0x00]), randomBytes(300), Buffer.from([0x00, 0xc3, 0x28])]);
}
const UTF8_TEXT = 'pässwörd-canary-ünïcödé-€-9f2c';
const WITH_NUL = Buffer.from('text-canary\u0000with-a-nul-byte', 'utf8');

describe('binary secrets through the batch endpoint (Accept-Encoding: base64)', () => {
  let server: ConjurStandIn;
  const keystore = binaryCanary();
  beforeAll(async () => {
    server = await startConjurStandIn({
      account: ACCOUNT,
      apiKeys: { [BOT_LOGIN]: CANARY_API_KEY },
      variables: {
        'release/keystore': { value: keystore, readers: ['host:release-bot'] },
        'release/text': { value: UTF8_TEXT, readers: ['host:release-bot'] },
        'release/nul': { value: WITH_NUL, readers: ['host:release-bot'] },
      },
    });
  });
  afterAll(() => server.close());

  const batch = async (ids: string[], acceptEncoding?: string): Promise<Response> => {
    const authn = await fetch(`${server.url}/authn/${ACCOUNT}/${encodeURIComponent(BOT_LOGIN)}/authenticate`, {
      method: 'POST',
      body: CANARY_API_KEY,
      headers: { 'Accept-Encoding': 'base64' },
    });
    const token = await authn.text();
    const query = ids.map((id) => encodeURIComponent(`${ACCOUNT}:variable:${id}`)).join(',');
    return fetch(`${server.url}/secrets?variable_ids=${query}`, {
      headers: { Authorization: `Token token="${token}"`, ...(acceptEncoding ? { 'Accept-Encoding': acceptEncoding } : {}) },
    });
  };

  describe('the stand-in answers as secrets_controller.rb#batch does', () => {
    it('406 CONJ00074E for a batch holding a value that is not UTF-8, asked without base64', async () => {
      for (const asked of [undefined, 'gzip', 'gzip, base64']) {
        const res = await batch(['release/text', 'release/keystore'], asked);
        expect([asked, res.status]).toEqual([asked, 406]);
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('not_acceptable');
        expect(body.error.message).toMatch(/^CONJ00074E /);
      }
      // Text alone (a NUL is valid UTF-8, JSON escapes it) is plain JSON.
      const plain = await batch(['release/text', 'release/nul']);
      expect(plain.status).toBe(200);
      expect(plain.headers.get('content-encoding')).toBeNull();
      expect(await plain.json()).toEqual({
        [`${ACCOUNT}:variable:release/text`]: UTF8_TEXT,
        [`${ACCOUNT}:variable:release/nul`]: WITH_NUL.toString('utf8'),
      });
    });

    it('with Accept-Encoding: base64 (any case): Content-Encoding: base64, every value as Base64.encode64 writes it', async () => {
      const res = await batch(['release/keystore', 'release/text'], 'BASE64');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-encoding')).toBe('base64');
      const body = (await res.json()) as Record<string, string>;
      const wire = body[`${ACCOUNT}:variable:release/keystore`] as string;
      // 60 characters a line, each line ended by a newline (Ruby's pack('m')).
      expect(wire.endsWith('\n')).toBe(true);
      expect(
        wire
          .split('\n')
          .slice(0, -1)
          .every((l, i, all) => l.length === 60 || i === all.length - 1),
      ).toBe(true);
      expect(Buffer.from(wire, 'base64').equals(keystore)).toBe(true);
      expect(Buffer.from(body[`${ACCOUNT}:variable:release/text`] as string, 'base64').toString('utf8')).toBe(UTF8_TEXT);
    });
  });

  describe('the client', () => {
    it('asks for base64 and hands back binary values byte for byte, text as strings, a value with a NUL as bytes', async () => {
      const { client } = makeClient({ applianceUrl: server.url });
      const secrets = await client.getSecrets(['release/keystore', 'release/text', 'release/nul']);
      const bytes = secrets.get('release/keystore');
      expect(Buffer.isBuffer(bytes) && bytes.equals(keystore)).toBe(true);
      expect(secrets.get('release/text')).toBe(UTF8_TEXT);
      const nul = secrets.get('release/nul');
      expect(Buffer.isBuffer(nul) && nul.equals(WITH_NUL)).toBe(true);
    });

    it('registers every form a binary value can take in a text for redaction', async () => {
      const { client, redactor } = makeClient({ applianceUrl: server.url });
      await client.getSecrets(['release/keystore']);
      const forms = [
        keystore.toString('base64'),
        keystore
          .toString('base64')
          .replace(/.{1,60}/g, '$&\n')
          .split('\n')[2] as string,
        keystore.toString('base64url'),
        keystore.toString('hex'),
        keystore.toString('utf8'),
        keystore.toString('latin1'),
        JSON.stringify(keystore),
      ];
      for (const form of forms) expect(redactor.redact(`x ${form} y`)).not.toContain(form);
      expect(redactor.redact(keystore.toString('base64'))).toBe(REDACTED);
    });

    it('a proxy that drops Accept-Encoding: the 406 names the variables and the fix, never a value', async () => {
      const base = 'https://conjur.test';
      const token = fakeToken();
      nock(base)
        .post(/\/authn\//)
        .reply(200, token.base64);
      nock(base)
        .get((uri) => uri.startsWith('/secrets'))
        .matchHeader('accept-encoding', 'base64')
        .reply(406, {
          error: {
            code: 'not_acceptable',
            message: "CONJ00074E Issue encoding secret into JSON format, try including 'Accept-Encoding: base64' header in request.",
          },
        });
      const logs = captureLogger();
      const { client } = makeClient({ log: logs.log });
      const err = await rejectionOf(client.getSecrets(['release/keystore', 'release/text']));
      expect(isReleaseBotError(err, ErrorCode.ConjurUnavailable)).toBe(true);
      expect((err as Error).message).toContain('CONJ00074E');
      expect((err as Error).message).toContain('release/keystore, release/text');
      expect((err as Error).message).toContain('Accept-Encoding');
      expect((err as { retryable: boolean }).retryable).toBe(false);
      expect(visibleText(err) + logs.text()).not.toContain(UTF8_TEXT);
    });

    it('a Conjur older than 1.11.5 ignores the header: no Content-Encoding, values taken as the text they are', async () => {
      const base = 'https://conjur.test';
      nock(base)
        .post(/\/authn\//)
        .reply(200, fakeToken().base64);
      nock(base)
        .get((uri) => uri.startsWith('/secrets'))
        .reply(200, { [`${ACCOUNT}:variable:release/text`]: UTF8_TEXT });
      const { client } = makeClient();
      await expect(client.getSecrets(['release/text'])).resolves.toEqual(new Map([['release/text', UTF8_TEXT]]));
    });

    it('refuses an answer that claims base64 but is not', async () => {
      const base = 'https://conjur.test';
      nock(base)
        .post(/\/authn\//)
        .reply(200, fakeToken().base64);
      nock(base)
        .get((uri) => uri.startsWith('/secrets'))
        .reply(200, Buffer.from(JSON.stringify({ [`${ACCOUNT}:variable:release/text`]: 'not base64 at all!' })), {
          'Content-Encoding': 'base64',
          'Content-Type': 'application/json',
        });
      const { client } = makeClient();
      const err = await rejectionOf(client.getSecrets(['release/text']));
      expect(isReleaseBotError(err, ErrorCode.ConjurUnavailable)).toBe(true);
      expect(visibleText(err)).not.toContain('not base64 at all');
    });

    it('maps CONJ00076E to the variable it names and the fix', async () => {
      const { client } = makeClient({ applianceUrl: server.url });
      const err = await rejectionOf(client.getSecrets(['release/text', 'release/absent']));
      expect(isReleaseBotError(err, ErrorCode.ConjurNotFound)).toBe(true);
      expect((err as Error).message).toContain('release/absent');
      expect((err as Error).message).not.toContain('release/text');
      expect((err as Error).message).toContain('CONJ00076E');
      expect((err as Error).message).toContain('conjur variable set');
    });
  });
});

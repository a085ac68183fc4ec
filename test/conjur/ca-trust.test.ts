import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startConjurStandIn, type ConjurStandIn } from '../../dev/conjur-stand-in.js';
import { ErrorCode, isReleaseBotError, type ReleaseBotError } from '../../src/errors.js';
import { selfSignedLoopbackCert } from '../support/tls-cert.js';
import { makeTmpDir } from '../support/tmp.js';
import { ACCOUNT, BOT_LOGIN, CANARY_API_KEY, makeClient, rejectionOf } from './helpers.js';

/** A self-signed certificate for 127.0.0.1, as a Conjur appliance with its own CA presents. */
async function selfSigned(dir: string, name: string): Promise<{ key: string; cert: string; certFile: string }> {
  const own = path.join(dir, name);
  mkdirSync(own);
  const files = await selfSignedLoopbackCert(own);
  return { key: readFileSync(files.key, 'utf8'), cert: readFileSync(files.cert, 'utf8'), certFile: files.cert };
}

describe("CONJUR_CERT_FILE: trusting Conjur's own CA over https", () => {
  const tmp = makeTmpDir();
  let server: ConjurStandIn;
  let trusted: string;
  let stranger: string;

  beforeAll(async () => {
    const conjurCert = await selfSigned(tmp.dir, 'conjur');
    trusted = conjurCert.certFile;
    stranger = (await selfSigned(tmp.dir, 'stranger')).certFile;
    server = await startConjurStandIn({
      account: ACCOUNT,
      apiKeys: { [BOT_LOGIN]: CANARY_API_KEY },
      tls: { key: conjurCert.key, cert: conjurCert.cert },
    });
  });
  afterAll(async () => {
    await server?.close();
    tmp.cleanup();
  });

  it('talks to Conjur when its certificate is in CONJUR_CERT_FILE', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const { client } = makeClient({ applianceUrl: server.url, certFile: trusted });
    await expect(client.whoami()).resolves.toEqual({ account: ACCOUNT, username: BOT_LOGIN });
  });

  it.each([
    ['without CONJUR_CERT_FILE', undefined],
    ['with another CA in CONJUR_CERT_FILE', 'stranger'],
  ])('refuses the connection %s, sending nothing, and says how to fix it', async (_label, which) => {
    const before = server.requests.length;
    const { client } = makeClient({ applianceUrl: server.url, certFile: which ? stranger : undefined });
    const err = await rejectionOf(client.whoami());
    expect(isReleaseBotError(err, ErrorCode.ConjurUnavailable)).toBe(true);
    expect((err as ReleaseBotError).retryable).toBe(false);
    expect((err as Error).message).toContain('CONJUR_CERT_FILE');
    expect(server.requests.length).toBe(before); // the API key never left the machine
  });

  it("trusts the certificate given as content in CONJUR_SSL_CERTIFICATE (also on one line with \\n), as Conjur's own clients do", async () => {
    const pem = readFileSync(trusted, 'utf8');
    for (const sslCertificate of [pem, pem.trim().replace(/\n/g, '\\n')]) {
      const { client } = makeClient({ applianceUrl: server.url, sslCertificate });
      await expect(client.whoami()).resolves.toEqual({ account: ACCOUNT, username: BOT_LOGIN });
    }
    const before = server.requests.length;
    const { client } = makeClient({ applianceUrl: server.url, sslCertificate: readFileSync(stranger, 'utf8') });
    const err = await rejectionOf(client.whoami());
    expect((err as Error).message).toContain('CONJUR_SSL_CERTIFICATE');
    expect(server.requests.length).toBe(before);
  });

  it('refuses CONJUR_SSL_CERTIFICATE together with CONJUR_CERT_FILE, and content that is not a certificate', () => {
    const pem = readFileSync(trusted, 'utf8');
    expect(() => makeClient({ applianceUrl: server.url, certFile: trusted, sslCertificate: pem })).toThrow(
      'CONJUR_SSL_CERTIFICATE and CONJUR_CERT_FILE are both set',
    );
    expect(() => makeClient({ applianceUrl: server.url, sslCertificate: trusted })).toThrow(
      'CONJUR_SSL_CERTIFICATE is not a PEM certificate',
    );
  });
});

import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, randomUUID, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { ErrorCode } from '../../src/errors.js';
import { IN_TOTO_PAYLOAD_TYPE, keyIdOf, signEnvelope } from '../../src/provenance/dsse.js';
import type { AttestationToPublish } from '../../src/publishing/types.js';
import { attestImage, fetchImageAttestations } from '../../publishers/docker-attestation.js';
import { dockerPublisher } from '../../publishers/docker.js';
import { pushTinyImage, type PushedImage } from '../support/oci-image.js';
import { freePort } from '../support/ports.js';
import { publishContext, type TestContext } from '../support/publish-context.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';
import { selfSignedLoopbackCert } from '../support/tls-cert.js';

/**
 * The attestation client against the other ways a real docker-registry (distribution 2.8.2) can be set
 * up: token auth (`auth: token`, a Bearer challenge whose JWT comes from a token service) and TLS.
 * The token service stands in for distribution's contrib/token-server (main.go getToken, token.go
 * CreateJWT at v2.8.2): Basic credentials in, `{"access_token", "expires_in"}` out, an RS256 JWT whose
 * header carries the signing certificate in x5c, verified by the registry against its rootcertbundle
 * (registry/auth/token/token.go parseAndVerifyCertChain); granted actions are the intersection of the
 * requested ones with the user's (docs/content/spec/auth/token.md).
 */
const run = promisify(execFile);
const tmp = makeTmpDir('release-bot-docker-attest-auth-');
const USER = 'release-bot';
const PASSWORD = 'canary-token-registry-pw-3b7c2e19';
const READER = 'reader';
const READER_PASSWORD = 'canary-reader-pw-0a4d6f28';
const SERVICE = 'release-bot-test-registry';
const ISSUER = 'release-bot-test-token-service';
const canaryForms = (pw: string, user = USER) => [
  pw,
  Buffer.from(pw).toString('base64').replace(/=+$/, ''),
  Buffer.from(`${user}:${pw}`).toString('base64').replace(/=+$/, ''),
];
const botKey = generateKeyPairSync('ed25519').privateKey;

interface TokenRequest {
  service: string | null;
  scope: string | null;
  authorization: string | undefined;
}
let tokenServer: http.Server;
const tokenRequests: TokenRequest[] = [];
const issued: string[] = [];
let source: TestRegistry;
let tokenRegistry: TestRegistry;
let tlsRegistry: TestRegistry;
let strayRealm: TestRegistry;
let staged: PushedImage;
let n = 0;

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function startTokenServer(keyPem: string, certPem: string, port: number): http.Server {
  const x5c = new X509Certificate(certPem).raw.toString('base64');
  const users: Record<string, { password: string; actions: string[] }> = {
    [USER]: { password: PASSWORD, actions: ['pull', 'push'] },
    [READER]: { password: READER_PASSWORD, actions: ['pull'] },
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    tokenRequests.push({
      service: url.searchParams.get('service'),
      scope: url.searchParams.get('scope'),
      authorization: req.headers.authorization,
    });
    const [user, password] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64')
      .toString('utf8')
      .split(':');
    const account = users[user ?? ''];
    if (!account || account.password !== password) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    const [, name, actions] = /^repository:([^:]+):(.+)$/.exec(url.searchParams.get('scope') ?? '') ?? [];
    const granted = (actions ?? '').split(',').filter((a) => account.actions.includes(a));
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [x5c] }));
    const claims = b64url(
      JSON.stringify({
        iss: ISSUER,
        sub: user,
        aud: url.searchParams.get('service'),
        exp: now + 300,
        nbf: now,
        iat: now,
        jti: randomUUID(),
        access: name ? [{ type: 'repository', name, actions: granted }] : [],
      }),
    );
    const token = `${header}.${claims}.${b64url(sign('sha256', Buffer.from(`${header}.${claims}`), keyPem))}`;
    issued.push(token);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ access_token: token, expires_in: 300 }));
  });
  server.listen(port, '127.0.0.1');
  return server;
}

beforeAll(async () => {
  requireBinary('skopeo', 'skopeo');
  const { key, cert } = await selfSignedLoopbackCert(tmp.dir);
  const port = await freePort();
  tokenServer = startTokenServer(readFileSync(key, 'utf8'), readFileSync(cert, 'utf8'), port);
  [source, tokenRegistry, tlsRegistry, strayRealm] = await Promise.all([
    startRegistry(),
    startRegistry({ token: { realm: `http://127.0.0.1:${port}/token`, service: SERVICE, issuer: ISSUER, rootCertBundle: cert } }),
    startRegistry({ tls: { certificate: cert, key } }),
    // A realm on another host over plain http: the credentials would cross a network in clear (TEST-NET-2, never reached).
    startRegistry({ token: { realm: 'http://198.51.100.7/token', service: SERVICE, issuer: ISSUER, rootCertBundle: cert } }),
  ]);
  staged = await pushTinyImage({ workDir: tmp.dir, host: source.host, path: 'builds/app', tag: '1.0.0-staged' });
});

afterAll(async () => {
  await new Promise((resolve) => tokenServer?.close(resolve));
  await Promise.all([source?.stop(), tokenRegistry?.stop(), tlsRegistry?.stop(), strayRealm?.stop()]);
  tmp.cleanup();
});

function attestation(digest: string, repository: string, note = 'release'): AttestationToPublish {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: repository, digest: { sha256: digest.slice('sha256:'.length) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: { note },
  };
  const envelope = Buffer.from(`${JSON.stringify(signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement)), botKey))}\n`);
  return { envelope, digest: createHash('sha256').update(envelope).digest('hex'), keyId: keyIdOf(botKey), fileName: 'app.intoto.jsonl' };
}

async function context(credentials: Record<string, string>): Promise<TestContext> {
  return publishContext(
    path.join(tmp.dir, `ctx-${(n += 1)}`),
    {},
    { version: '1.0.0', artifact: { kind: 'docker', ref: staged.repository, digest: staged.digest, tlsVerify: false }, credentials },
  );
}

function everything(ctx: TestContext, err?: unknown): string {
  const parts = [...ctx.logLines, ...ctx.progressLines];
  for (let e = err; e; e = (e as { cause?: unknown }).cause)
    parts.push(String(e), (e as Error).stack ?? '', JSON.stringify((e as { details?: unknown }).details ?? {}));
  return parts.join('\n');
}

test('Bearer token auth: the token is fetched with the credentials for exactly this repository, push to attach and pull to read', async () => {
  const repository = `${tokenRegistry.host}/org/app`;
  const options = dockerPublisher.options.parse({ repository, tls_verify: false });
  const ctx = await context({ REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: PASSWORD });
  await expect(dockerPublisher.publish(ctx, options)).resolves.toMatchObject({ status: 'published' });
  const att = attestation(staged.digest, repository);
  tokenRequests.length = 0;
  await expect(dockerPublisher.attest!(ctx, options, att)).resolves.toMatchObject({ status: 'published' });
  expect(tokenRequests).toEqual([
    {
      service: SERVICE,
      scope: 'repository:org/app:pull,push',
      authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`,
    },
  ]);

  tokenRequests.length = 0;
  await expect(
    fetchImageAttestations(`${repository}:1.0.0`, { username: READER, password: READER_PASSWORD, tlsVerify: false }),
  ).resolves.toEqual({ subjectDigest: staged.digest, envelopes: [att.envelope] });
  expect(tokenRequests.map((r) => r.scope)).toEqual(['repository:org/app:pull']);
  const text = everything(ctx);
  for (const form of canaryForms(PASSWORD)) expect(text).not.toContain(form);
  for (const token of issued) expect(text).not.toContain(token);
});

test('a token without push (the user may only pull) is a final auth failure, and no token or password is in it', async () => {
  const repository = `${tokenRegistry.host}/org/app`;
  const options = dockerPublisher.options.parse({ repository, tls_verify: false });
  await dockerPublisher.publish(await context({ REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: PASSWORD }), options);
  const ctx = await context({ REGISTRY_USERNAME: READER, REGISTRY_PASSWORD: READER_PASSWORD });
  const denied = attestation(staged.digest, repository, 'not yet attached');
  const err = await attestImage(ctx, repository, staged.digest, denied, {
    username: READER,
    password: READER_PASSWORD,
    tlsVerify: false,
  }).catch((e: unknown) => e);
  expect(err).toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: false,
    details: { reason: 'auth' },
    message: expect.stringContaining('may not pull and push org/app'),
  });
  const found = await fetchImageAttestations(`${repository}:1.0.0`, { username: READER, password: READER_PASSWORD, tlsVerify: false });
  expect(found.envelopes.some((e) => e.equals(denied.envelope))).toBe(false);
  const text = everything(ctx, err);
  for (const form of canaryForms(READER_PASSWORD, READER)) expect(text).not.toContain(form);
  for (const token of issued) expect(text).not.toContain(token);
});

test('a wrong password is refused by the token service: final, it says which credential, no secret in it', async () => {
  const repository = `${tokenRegistry.host}/org/app`;
  const wrong = `${PASSWORD}-wrong`;
  const ctx = await context({ REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: wrong });
  const err = await dockerPublisher.attest!(
    ctx,
    dockerPublisher.options.parse({ repository, tls_verify: false }),
    attestation(staged.digest, repository),
  ).catch((e: unknown) => e);
  expect(err).toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: false,
    details: { reason: 'auth', status: 401 },
    message: expect.stringMatching(/token service .*REGISTRY_PASSWORD/),
  });
  const text = everything(ctx, err);
  for (const form of [...canaryForms(wrong), ...canaryForms(PASSWORD)]) expect(text).not.toContain(form);
});

test('a realm over plain http on another host never gets the credentials: refused before any token request', async () => {
  const repository = `${strayRealm.host}/org/app`;
  const ctx = await context({ REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: PASSWORD });
  await expect(
    attestImage(ctx, repository, staged.digest, attestation(staged.digest, repository), {
      username: USER,
      password: PASSWORD,
      tlsVerify: false,
    }),
  ).rejects.toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: false,
    details: { reason: 'auth' },
    message: expect.stringContaining('only https'),
  });
});

test('TLS: an untrusted certificate is a final failure with tls_verify true; tls_verify false attaches over https', async () => {
  const repository = `${tlsRegistry.host}/org/app`;
  await pushTinyImage({ workDir: tmp.dir, host: tlsRegistry.host, path: 'org/app', tag: '1.0.0', image: staged.image });
  const att = attestation(staged.digest, repository);
  const ctx = await context({});
  await expect(attestImage(ctx, repository, staged.digest, att, { tlsVerify: true })).rejects.toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: false,
    details: { reason: 'tls' },
  });
  await expect(attestImage(ctx, repository, staged.digest, att, { tlsVerify: false })).resolves.toMatchObject({ status: 'published' });
  await expect(fetchImageAttestations(`${repository}@${staged.digest}`, { tlsVerify: false })).resolves.toEqual({
    subjectDigest: staged.digest,
    envelopes: [att.envelope],
  });
  // skopeo reads the same tag over TLS (its own fallback never needed plain http here).
  const { stdout } = await run(
    'skopeo',
    ['inspect', '--raw', '--tls-verify=false', '--no-creds', `docker://${repository}:sha256-${staged.digest.slice(7)}.att`],
    { env: { PATH: process.env.PATH, HOME: tmp.dir } },
  );
  expect(JSON.parse(stdout)).toMatchObject({
    layers: [{ mediaType: 'application/vnd.dsse.envelope.v1+json', digest: `sha256:${att.digest}` }],
  });
});

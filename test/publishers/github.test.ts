import { createHash } from 'node:crypto';
import path from 'node:path';
import nock from 'nock';
import { ErrorCode } from '../../src/errors.js';
import { githubPublisher } from '../../publishers/github.js';
import { publishContext } from '../support/publish-context.js';
import { makeTmpDir } from '../support/tmp.js';

const TOKEN = 'ghp_canaryTOKEN0123456789abcdefABCDEF';
const API = 'https://api.github.com';
const UPLOADS = 'https://uploads.github.com';
const TGZ = 'the tarball bytes\n';
const SUMS = 'abc  cli-4.2.0.tgz\n';
const hex = (s: string) => createHash('sha256').update(s).digest('hex');
const sha = (s: string) => `sha256:${hex(s)}`;
const BOT = 'acme-release-bot';
/** The marker release-bot writes for these staged files: project@version and a digest over `sha256sum` lines. */
const markerOf = (files: Record<string, string>) =>
  `<!-- release-bot:conjur-cli@4.2.0 files-sha256:${hex(
    Object.entries(files)
      .map(([p, c]) => `${hex(c)}  ${p}\n`)
      .sort()
      .join(''),
  )} -->`;
const BOTH = { 'cli-4.2.0.tgz': TGZ, 'checksums/SHA256SUMS': SUMS };
const MARKER = markerOf(BOTH);
const ONE_MARKER = markerOf({ 'cli-4.2.0.tgz': TGZ });

let tmp: ReturnType<typeof makeTmpDir>;
let n = 0;
beforeEach(() => (tmp = makeTmpDir('release-bot-github-')));
afterEach(() => tmp.cleanup());

const context = (files: Record<string, string> = BOTH) =>
  publishContext(path.join(tmp.dir, `ctx-${(n += 1)}`), files, { credentials: { GITHUB_TOKEN: TOKEN } });
const opts = (extra: Record<string, unknown> = {}) => githubPublisher.options.parse({ repository: 'acme/cli', ...extra });
const headers = {
  authorization: `Bearer ${TOKEN}`,
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28',
  'user-agent': 'release-bot',
};
const github = () => nock(API, { reqheaders: headers });
const uploads = () => nock(UPLOADS, { reqheaders: { ...headers, 'content-type': 'application/octet-stream' } });

function release(extra: Record<string, unknown> = {}) {
  return {
    id: 7,
    tag_name: 'v4.2.0',
    html_url: 'https://github.com/acme/cli/releases/tag/v4.2.0',
    upload_url: `${UPLOADS}/repos/acme/cli/releases/7/assets{?name,label}`,
    body: `notes\n${MARKER}`,
    author: { login: BOT },
    ...extra,
  };
}
/** GET /user: who the token belongs to, which the author of a release of ours must be. */
const me = (login = BOT) => github().get('/user').reply(200, { login, id: 1, type: 'User' });
const asset = (name: string, content: string, extra: Record<string, unknown> = {}) => ({
  id: name.length,
  name,
  size: Buffer.byteLength(content),
  state: 'uploaded',
  digest: sha(content),
  ...extra,
});
const listAssets = (assets: unknown[]) =>
  github().get('/repos/acme/cli/releases/7/assets').query({ per_page: '100', page: '1' }).reply(200, assets);
/** GET an asset's bytes through the API (the token, Accept: application/octet-stream). */
const download = (id: number) =>
  nock(API, { reqheaders: { ...headers, accept: 'application/octet-stream' } }).get(`/repos/acme/cli/releases/assets/${id}`);
/** The pre-signed download host GitHub redirects to: the token must never be sent there. */
const OBJECTS = 'https://release-assets.githubusercontent.com';
const objects = () => nock(OBJECTS, { badheaders: ['authorization'] });

test('creates the release at the build commit, uploads each file and reads the digests back', async () => {
  github().get('/repos/acme/cli/releases/tags/v4.2.0').reply(404, { message: 'Not Found' });
  github()
    .post(
      '/repos/acme/cli/releases',
      (body: Record<string, unknown>) =>
        body.tag_name === 'v4.2.0' &&
        body.name === 'conjur-cli 4.2.0' &&
        body.draft === false &&
        body.prerelease === false &&
        body.target_commitish === '9fceb02d0ae598e95dc970b74767f19372d61af8' &&
        String(body.body).endsWith(`\n\n${MARKER}\n`) &&
        String(body.body).includes('build #123'),
    )
    .reply(201, release());
  uploads()
    .post('/repos/acme/cli/releases/7/assets', (body: string) => body === TGZ)
    .query({ name: 'cli-4.2.0.tgz' })
    .reply(201, asset('cli-4.2.0.tgz', TGZ));
  uploads()
    .post('/repos/acme/cli/releases/7/assets', (body: string) => body === SUMS)
    .query({ name: 'SHA256SUMS' })
    .reply(201, asset('SHA256SUMS', SUMS));
  listAssets([asset('cli-4.2.0.tgz', TGZ), asset('SHA256SUMS', SUMS)]);
  const ctx = await context();
  const result = await githubPublisher.publish(ctx, opts());
  expect(result).toEqual({
    status: 'published',
    location: 'https://github.com/acme/cli/releases/tag/v4.2.0',
    detail: '2 asset(s) uploaded, 0 already there',
  });
  expect(ctx.progressLines).toEqual(['uploading cli-4.2.0.tgz (1 of 2)', 'uploading SHA256SUMS (2 of 2)']);
});

test('a release of ours with one asset uploaded gets only the missing one; with all there it is already-present', async () => {
  github().get('/repos/acme/cli/releases/tags/v4.2.0').reply(200, release());
  me();
  listAssets([asset('cli-4.2.0.tgz', TGZ)]);
  uploads().post('/repos/acme/cli/releases/7/assets', SUMS).query({ name: 'SHA256SUMS' }).reply(201, asset('SHA256SUMS', SUMS));
  listAssets([asset('cli-4.2.0.tgz', TGZ), asset('SHA256SUMS', SUMS)]);
  await expect(githubPublisher.publish(await context(), opts())).resolves.toMatchObject({
    status: 'published',
    detail: '1 asset(s) uploaded, 1 already there',
  });

  github().get('/repos/acme/cli/releases/tags/v4.2.0').reply(200, release());
  me();
  listAssets([asset('cli-4.2.0.tgz', TGZ), asset('SHA256SUMS', SUMS)]);
  await expect(githubPublisher.publish(await context(), opts())).resolves.toMatchObject({ status: 'already-present' });
});

test('a release someone else made is a conflict unless update_existing, and nothing is written', async () => {
  github()
    .get('/repos/acme/cli/releases/tags/v4.2.0')
    .reply(200, release({ body: 'hand-written notes' }));
  await expect(githubPublisher.publish(await context(), opts())).rejects.toMatchObject({
    code: ErrorCode.DestinationConflict,
    message: expect.stringMatching(
      /release-bot did not create for this build \(its body has no release-bot marker for this build\): set `update_existing: true`/,
    ),
  });

  github()
    .get('/repos/acme/cli/releases/tags/v4.2.0')
    .reply(200, release({ body: 'hand-written notes' }));
  listAssets([]);
  uploads().post('/repos/acme/cli/releases/7/assets', TGZ).query({ name: 'cli-4.2.0.tgz' }).reply(201, asset('cli-4.2.0.tgz', TGZ));
  listAssets([asset('cli-4.2.0.tgz', TGZ)]);
  await expect(githubPublisher.publish(await context({ 'cli-4.2.0.tgz': TGZ }), opts({ update_existing: true }))).resolves.toMatchObject({
    status: 'published',
  });
});

test('an asset with another digest, or with none to compare, is a conflict before any upload', async () => {
  github().get('/repos/acme/cli/releases/tags/v4.2.0').reply(200, release());
  me();
  listAssets([asset('SHA256SUMS', SUMS), asset('cli-4.2.0.tgz', 'other bytes')]);
  await expect(githubPublisher.publish(await context(), opts())).rejects.toMatchObject({
    code: ErrorCode.DestinationConflict,
    message: expect.stringMatching(/already has an asset cli-4\.2\.0\.tgz with another digest/),
  });

  // No digest shown: the bytes GitHub serves decide, and these are others of the same size.
  github()
    .get('/repos/acme/cli/releases/tags/v4.2.0')
    .reply(200, release({ body: 'old' }));
  listAssets([asset('cli-4.2.0.tgz', TGZ, { id: 41, digest: null })]);
  download(41).reply(200, TGZ.replace('the', 'THE'));
  await expect(githubPublisher.publish(await context(), opts({ update_existing: true }))).rejects.toMatchObject({
    code: ErrorCode.DestinationConflict,
    message: expect.stringMatching(/asset cli-4\.2\.0\.tgz with other bytes \(18 bytes, checked by downloading it\)/),
  });
});

test('an incomplete upload of ours is removed and redone; the plan says so and writes nothing', async () => {
  const ctx = await context({ 'cli-4.2.0.tgz': TGZ });
  github()
    .get('/repos/acme/cli/releases/tags/v4.2.0')
    .reply(200, release({ body: ONE_MARKER }));
  me();
  listAssets([asset('cli-4.2.0.tgz', 'partial', { id: 99, state: 'starter', digest: null })]);
  await expect(githubPublisher.plan!(ctx, opts())).resolves.toEqual({
    actions: ['remove the incomplete upload cli-4.2.0.tgz', `upload cli-4.2.0.tgz (${TGZ.length} bytes, sha256 ${sha(TGZ).slice(7, 19)}…)`],
  });

  github()
    .get('/repos/acme/cli/releases/tags/v4.2.0')
    .reply(200, release({ body: ONE_MARKER }));
  me();
  listAssets([asset('cli-4.2.0.tgz', 'partial', { id: 99, state: 'starter', digest: null })]);
  github().delete('/repos/acme/cli/releases/assets/99').reply(204);
  uploads().post('/repos/acme/cli/releases/7/assets', TGZ).query({ name: 'cli-4.2.0.tgz' }).reply(201, asset('cli-4.2.0.tgz', TGZ));
  listAssets([asset('cli-4.2.0.tgz', TGZ)]);
  await expect(githubPublisher.publish(ctx, opts())).resolves.toMatchObject({ status: 'published' });
});

test('a draft left by an earlier attempt is found through the release list', async () => {
  github().get('/repos/acme/cli/releases/tags/v4.2.0').reply(404, { message: 'Not Found' });
  github()
    .get('/repos/acme/cli/releases')
    .query({ per_page: '100' })
    .reply(200, [release({ id: 3, tag_name: 'v4.1.0', draft: true }), release({ draft: true, body: ONE_MARKER })]);
  me();
  listAssets([asset('cli-4.2.0.tgz', TGZ)]);
  await expect(githubPublisher.publish(await context({ 'cli-4.2.0.tgz': TGZ }), opts({ draft: true }))).resolves.toMatchObject({
    status: 'already-present',
  });
});

test('429, 502 and a rate-limited 403 are retryable, 401 and 403 are final and names GITHUB_TOKEN, and the token never shows', async () => {
  github().get('/repos/acme/cli/releases/tags/v4.2.0').reply(429, { message: 'secondary rate limit' }, { 'Retry-After': '60' });
  await expect(githubPublisher.publish(await context(), opts())).rejects.toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: true,
    details: { status: 429, retryAfterSeconds: 60 },
  });

  github()
    .get('/repos/acme/cli/releases/tags/v4.2.0')
    .reply(200, release({ body: ONE_MARKER }));
  me();
  listAssets([]);
  uploads().post('/repos/acme/cli/releases/7/assets').query({ name: 'cli-4.2.0.tgz' }).reply(502, 'Bad Gateway');
  await expect(githubPublisher.publish(await context({ 'cli-4.2.0.tgz': TGZ }), opts())).rejects.toMatchObject({
    retryable: true,
    details: { status: 502 },
  });

  github().get('/repos/acme/cli/releases/tags/v4.2.0').reply(403, { message: 'API rate limit exceeded' }, { 'X-RateLimit-Remaining': '0' });
  await expect(githubPublisher.publish(await context(), opts())).rejects.toMatchObject({
    retryable: true,
    details: { reason: 'rate-limited' },
  });
  github().get('/repos/acme/cli/releases/tags/v4.2.0').reply(403, { message: 'Resource not accessible by integration' });
  await expect(githubPublisher.publish(await context(), opts())).rejects.toMatchObject({
    retryable: false,
    details: { reason: 'auth' },
    message: expect.stringMatching(/GITHUB_TOKEN credential lacks the permission/),
  });

  // A hostile or careless server that echoes the credential back.
  github()
    .get('/repos/acme/cli/releases/tags/v4.2.0')
    .reply(401, { message: `Bad credentials: Bearer ${TOKEN}` });
  const ctx = await context();
  const err = await githubPublisher.publish(ctx, opts()).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: ErrorCode.DestinationFailed, retryable: false, details: { reason: 'auth', status: 401 } });
  expect((err as Error).message).toMatch(
    /GitHub rejected the credential \(401 on GET \/repos\/acme\/cli\/releases\/tags\/v4\.2\.0\): check the Conjur variable behind GITHUB_TOKEN/,
  );
  expect(JSON.stringify([(err as Error).message, (err as { details: unknown }).details, ctx.logLines, ctx.progressLines])).not.toContain(
    TOKEN,
  );
});

test('a missing repository, a foreign upload host and a read-back mismatch are final', async () => {
  github().get('/repos/acme/cli/releases/tags/v4.2.0').reply(404, { message: 'Not Found' });
  github().post('/repos/acme/cli/releases').reply(404, { message: 'Not Found' });
  await expect(githubPublisher.publish(await context(), opts())).rejects.toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: false,
    message: expect.stringMatching(/no repository acme\/cli that the token behind GITHUB_TOKEN can see/),
  });

  github()
    .get('/repos/acme/cli/releases/tags/v4.2.0')
    .reply(200, release({ body: ONE_MARKER, upload_url: 'https://evil.example/upload{?name,label}' }));
  me();
  listAssets([]);
  await expect(githubPublisher.publish(await context({ 'cli-4.2.0.tgz': TGZ }), opts())).rejects.toMatchObject({
    message: expect.stringMatching(/refusing to send the token there/),
  });

  github()
    .get('/repos/acme/cli/releases/tags/v4.2.0')
    .reply(200, release({ body: ONE_MARKER }));
  me();
  listAssets([]);
  uploads().post('/repos/acme/cli/releases/7/assets', TGZ).query({ name: 'cli-4.2.0.tgz' }).reply(201, {});
  listAssets([asset('cli-4.2.0.tgz', 'truncated')]);
  await expect(githubPublisher.publish(await context({ 'cli-4.2.0.tgz': TGZ }), opts())).rejects.toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: false,
    message: expect.stringMatching(/reads back as 9 bytes/),
  });
});

test('file names GitHub would rename, duplicate names, bad options and a missing token change nothing', async () => {
  await expect(githubPublisher.publish(await context({ 'my file.tgz': 'x' }), opts())).rejects.toMatchObject({
    code: ErrorCode.BadInput,
    message: expect.stringMatching(/GitHub would rename/),
  });
  await expect(githubPublisher.publish(await context({ 'a/x.tgz': '1', 'b/x.tgz': '2' }), opts())).rejects.toMatchObject({
    code: ErrorCode.BadInput,
    message: expect.stringMatching(/two staged files are named x\.tgz/),
  });
  const noToken = await publishContext(path.join(tmp.dir, 'no-token'), { 'x.tgz': 'x' });
  await expect(githubPublisher.publish(noToken, opts())).rejects.toMatchObject({
    code: ErrorCode.ConfigInvalid,
    message: expect.stringMatching(/credentials: \{ GITHUB_TOKEN:/),
  });
  expect(githubPublisher.options.safeParse({ repository: '../etc' }).success).toBe(false);
  expect(githubPublisher.options.safeParse({ repository: 'acme/cli', api_url: 'http://github.example.com' }).success).toBe(false);
  expect(githubPublisher.options.safeParse({ repository: 'acme/cli', tag: '--force' }).success).toBe(false);
  await expect(githubPublisher.publish(await context(), opts({ tag: 'v{version}/{nope}' }))).rejects.toMatchObject({
    code: ErrorCode.BadInput,
  });
});

describe("a release counts as ours only with this build's marker AND the token's user as its author", () => {
  test("GET /user is asked with the token, and a copied marker on someone else's release is a conflict: nothing is written", async () => {
    github()
      .get('/repos/acme/cli/releases/tags/v4.2.0')
      .reply(200, release({ author: { login: 'mallory' } }));
    me();
    const ctx = await context();
    await expect(githubPublisher.publish(ctx, opts())).rejects.toMatchObject({
      code: ErrorCode.DestinationConflict,
      retryable: false,
      message: expect.stringMatching(
        /did not create for this build \(it carries the marker, but its author is mallory, not acme-release-bot whose token release-bot uses\): set `update_existing: true`/,
      ),
    });
    expect(ctx.progressLines).toEqual([]);
  });

  test('with update_existing the assets are added, but an unfinished upload in it is not ours to delete', async () => {
    github()
      .get('/repos/acme/cli/releases/tags/v4.2.0')
      .reply(200, release({ body: ONE_MARKER, author: { login: 'mallory' } }));
    me();
    listAssets([asset('cli-4.2.0.tgz', 'partial', { id: 99, state: 'starter', digest: null })]);
    await expect(githubPublisher.publish(await context({ 'cli-4.2.0.tgz': TGZ }), opts({ update_existing: true }))).rejects.toMatchObject({
      code: ErrorCode.DestinationConflict,
      message: expect.stringMatching(/an unfinished upload of someone else's \(state starter\)/),
    });
  });

  test('the marker of another build (other files), or a token without a user (an App installation), is not ours', async () => {
    github()
      .get('/repos/acme/cli/releases/tags/v4.2.0')
      .reply(200, release({ body: markerOf({ 'cli-4.2.0.tgz': 'an earlier build\n' }) }));
    await expect(githubPublisher.publish(await context({ 'cli-4.2.0.tgz': TGZ }), opts())).rejects.toMatchObject({
      code: ErrorCode.DestinationConflict,
      message: expect.stringMatching(/no release-bot marker for this build/),
    });

    github()
      .get('/repos/acme/cli/releases/tags/v4.2.0')
      .reply(200, release({ body: ONE_MARKER }));
    github().get('/user').reply(403, { message: 'Resource not accessible by integration' });
    await expect(githubPublisher.publish(await context({ 'cli-4.2.0.tgz': TGZ }), opts())).rejects.toMatchObject({
      code: ErrorCode.DestinationConflict,
      message: expect.stringMatching(/GET \/user answered 403 without a login/),
    });
  });
});

describe('without a digest from GitHub, the asset is downloaded and its sha256 compared', () => {
  test('after an upload: the 302 to the download host is followed without the token and the bytes match', async () => {
    github()
      .get('/repos/acme/cli/releases/tags/v4.2.0')
      .reply(200, release({ body: ONE_MARKER }));
    me();
    listAssets([]);
    uploads().post('/repos/acme/cli/releases/7/assets', TGZ).query({ name: 'cli-4.2.0.tgz' }).reply(201, {});
    listAssets([asset('cli-4.2.0.tgz', TGZ, { id: 55, digest: null })]);
    download(55).reply(302, '', { Location: `${OBJECTS}/github-production-release-asset/55?X-Amz-Signature=abc` });
    objects().get('/github-production-release-asset/55').query({ 'X-Amz-Signature': 'abc' }).reply(200, TGZ);
    await expect(githubPublisher.publish(await context({ 'cli-4.2.0.tgz': TGZ }), opts())).resolves.toEqual({
      status: 'published',
      location: 'https://github.com/acme/cli/releases/tag/v4.2.0',
      detail: '1 asset(s) uploaded, 0 already there, 1 checked by downloading (GitHub showed no digest)',
    });
  });

  test('after an upload: other bytes of the same size are a final read-back failure', async () => {
    github()
      .get('/repos/acme/cli/releases/tags/v4.2.0')
      .reply(200, release({ body: ONE_MARKER }));
    me();
    listAssets([]);
    uploads().post('/repos/acme/cli/releases/7/assets', TGZ).query({ name: 'cli-4.2.0.tgz' }).reply(201, {});
    listAssets([asset('cli-4.2.0.tgz', TGZ, { id: 56, digest: null })]);
    download(56).reply(200, TGZ.toUpperCase());
    await expect(githubPublisher.publish(await context({ 'cli-4.2.0.tgz': TGZ }), opts())).rejects.toMatchObject({
      code: ErrorCode.DestinationFailed,
      retryable: false,
      message: expect.stringMatching(/cli-4\.2\.0\.tgz on v4\.2\.0 reads back as 18 bytes/),
    });
  });

  test('an asset already there without a digest but with the staged bytes counts as present; the plan says how it was checked', async () => {
    for (const run of ['plan', 'publish'] as const) {
      github()
        .get('/repos/acme/cli/releases/tags/v4.2.0')
        .reply(200, release({ body: ONE_MARKER }));
      me();
      listAssets([asset('cli-4.2.0.tgz', TGZ, { id: 57, digest: null })]);
      download(57).reply(302, '', { Location: `${OBJECTS}/asset/57` });
      objects().get('/asset/57').reply(200, TGZ);
      const ctx = await context({ 'cli-4.2.0.tgz': TGZ });
      if (run === 'plan')
        await expect(githubPublisher.plan!(ctx, opts())).resolves.toEqual({
          actions: ['skip cli-4.2.0.tgz: already uploaded with the same sha256 (downloaded: GitHub showed no digest)'],
        });
      else await expect(githubPublisher.publish(ctx, opts())).resolves.toMatchObject({ status: 'already-present' });
    }
  });

  test('a failing download is classified like any GitHub answer (5xx retryable)', async () => {
    github()
      .get('/repos/acme/cli/releases/tags/v4.2.0')
      .reply(200, release({ body: ONE_MARKER }));
    me();
    listAssets([]);
    uploads().post('/repos/acme/cli/releases/7/assets', TGZ).query({ name: 'cli-4.2.0.tgz' }).reply(201, {});
    listAssets([asset('cli-4.2.0.tgz', TGZ, { id: 58, digest: null })]);
    download(58).reply(302, '', { Location: `${OBJECTS}/asset/58` });
    objects().get('/asset/58').reply(503, 'busy');
    await expect(githubPublisher.publish(await context({ 'cli-4.2.0.tgz': TGZ }), opts())).rejects.toMatchObject({
      retryable: true,
      details: { status: 503 },
    });
  });
});

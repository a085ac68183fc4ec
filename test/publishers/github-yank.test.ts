import { createHash } from 'node:crypto';
import path from 'node:path';
import nock from 'nock';
import { ErrorCode } from '../../src/errors.js';
import type { YankContext } from '../../src/publishing/types.js';
import { githubPublisher } from '../../publishers/github.js';
import { makeTmpDir } from '../support/tmp.js';
import { everything, yankContext } from './helpers/yank-context.js';

/**
 * The GitHub REST API as github/rest-api-description describes it
 * (descriptions/api.github.com/api.github.com.yaml): `GET /repos/{owner}/{repo}/releases/tags/{tag}`
 * (repos/get-release-by-tag), and on `/repos/{owner}/{repo}/releases/{release_id}` GET
 * (repos/get-release, 200 or 404), PATCH (repos/update-release: `body`, `prerelease`, ... answered 200
 * with the release) and DELETE (repos/delete-release, 204).
 */
const TOKEN = 'ghp_canaryYANK0123456789abcdefABCDEF';
const API = 'https://api.github.com';
const headers = {
  authorization: `Bearer ${TOKEN}`,
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28',
  'user-agent': 'release-bot',
};
const github = () => nock(API, { reqheaders: headers });
const MARKER = '<!-- release-bot:yanked conjur-cli@4.2.0 -->';
const hex = (s: string) => createHash('sha256').update(s).digest('hex');
const FILES = [{ path: 'cli-4.2.0.tgz', sha256: hex('the tarball bytes\n'), size: 18 }];
/** The marker publish wrote into the notes of the release it created for these files (publishers/github.ts markerFor). */
const BUILT = `<!-- release-bot:conjur-cli@4.2.0 files-sha256:${hex(`${FILES[0]?.sha256}  cli-4.2.0.tgz\n`)} -->`;
const NOTES = `conjur-cli 4.2.0, released by release-bot from build #123.\n\n${BUILT}\n`;
const REASON = 'breaks login on Windows (#123)';
const NOTICE = `> **Yanked** by release-bot: ${REASON}\n\n${MARKER}\n\n`;

/** The `release` schema's fields, shaped like its example (components/examples/release in the same file). */
function release(extra: Record<string, unknown> = {}) {
  return {
    url: `${API}/repos/acme/cli/releases/7`,
    html_url: 'https://github.com/acme/cli/releases/tag/v4.2.0',
    assets_url: `${API}/repos/acme/cli/releases/7/assets`,
    upload_url: 'https://uploads.github.com/repos/acme/cli/releases/7/assets{?name,label}',
    tarball_url: `${API}/repos/acme/cli/tarball/v4.2.0`,
    zipball_url: `${API}/repos/acme/cli/zipball/v4.2.0`,
    id: 7,
    node_id: 'MDc6UmVsZWFzZTc=',
    tag_name: 'v4.2.0',
    target_commitish: '9fceb02d0ae598e95dc970b74767f19372d61af8',
    name: 'conjur-cli 4.2.0',
    body: NOTES,
    draft: false,
    prerelease: false,
    created_at: '2026-11-30T10:00:00Z',
    published_at: '2026-11-30T10:00:00Z',
    author: { login: 'acme-release-bot', id: 1, type: 'User' },
    assets: [],
    ...extra,
  };
}

let tmp: ReturnType<typeof makeTmpDir>;
let n = 0;
beforeEach(() => (tmp = makeTmpDir('release-bot-github-yank-')));
afterEach(() => tmp.cleanup());

const opts = (extra: Record<string, unknown> = {}) => githubPublisher.options.parse({ repository: 'acme/cli', ...extra });
const context = (overrides: Partial<YankContext> = {}) =>
  yankContext(path.join(tmp.dir, `ctx-${(n += 1)}`), {
    published: { version: '4.2.0', artifact: { kind: 'files', files: FILES }, location: 'https://github.com/acme/cli/releases/tag/v4.2.0' },
    previous: { version: '4.1.0', artifact: { kind: 'files', files: [] }, location: 'https://github.com/acme/cli/releases/tag/v4.1.0' },
    credentials: { GITHUB_TOKEN: TOKEN },
    reason: REASON,
    ...overrides,
  });

test('marks the release a prerelease with the reason prepended to its notes, reads it back; a second yank is already-yanked', async () => {
  github().get('/repos/acme/cli/releases/tags/v4.2.0').reply(200, release());
  github()
    .patch('/repos/acme/cli/releases/7', { prerelease: true, body: `${NOTICE}${NOTES}` })
    .reply(200, release({ prerelease: true, body: `${NOTICE}${NOTES}` }));
  github()
    .get('/repos/acme/cli/releases/7')
    .reply(200, release({ prerelease: true, body: `${NOTICE}${NOTES}` }));
  const ctx = context();
  await expect(githubPublisher.yank!(ctx, opts())).resolves.toEqual({
    status: 'yanked',
    detail: 'release v4.2.0 of acme/cli marked as a prerelease, the reason in its notes',
    location: 'https://github.com/acme/cli/releases/tag/v4.2.0',
  });

  github()
    .get('/repos/acme/cli/releases/tags/v4.2.0')
    .reply(200, release({ prerelease: true, body: `${NOTICE}${NOTES}` }));
  await expect(githubPublisher.yank!(context(), opts())).resolves.toMatchObject({ status: 'already-yanked' });
});

test('marked but made a full release again by hand: only the flag is set again, the notes keep one notice', async () => {
  github()
    .get('/repos/acme/cli/releases/tags/v4.2.0')
    .reply(200, release({ body: `${NOTICE}${NOTES}` }));
  github()
    .patch('/repos/acme/cli/releases/7', { prerelease: true, body: `${NOTICE}${NOTES}` })
    .reply(200, release({ prerelease: true, body: `${NOTICE}${NOTES}` }));
  github()
    .get('/repos/acme/cli/releases/7')
    .reply(200, release({ prerelease: true, body: `${NOTICE}${NOTES}` }));
  await expect(githubPublisher.yank!(context(), opts())).resolves.toMatchObject({ status: 'yanked' });
});

test('dry run: planned, only reads (no PATCH, no DELETE)', async () => {
  github().get('/repos/acme/cli/releases/tags/v4.2.0').twice().reply(200, release());
  await expect(githubPublisher.yank!(context({ dryRun: true }), opts())).resolves.toMatchObject({
    status: 'planned',
    actions: [`PATCH ${API}/repos/acme/cli/releases/7 prerelease: true, the reason prepended to the notes`],
  });
  await expect(githubPublisher.yank!(context({ dryRun: true }), opts({ delete_on_yank: true }))).resolves.toMatchObject({
    status: 'planned',
    actions: [`DELETE ${API}/repos/acme/cli/releases/7 (release v4.2.0; the git tag stays)`],
  });
});

test('delete_on_yank deletes the release and reads back a 404; a second yank finds none and is already-yanked', async () => {
  github().get('/repos/acme/cli/releases/tags/v4.2.0').reply(200, release());
  github().delete('/repos/acme/cli/releases/7').reply(204);
  github()
    .get('/repos/acme/cli/releases/7')
    .reply(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/releases/releases#get-a-release', status: '404' });
  await expect(githubPublisher.yank!(context(), opts({ delete_on_yank: true }))).resolves.toMatchObject({
    status: 'yanked',
    detail: 'release v4.2.0 of acme/cli deleted (the git tag stays)',
  });

  github().get('/repos/acme/cli/releases/tags/v4.2.0').reply(404, { message: 'Not Found', status: '404' });
  await expect(githubPublisher.yank!(context(), opts({ delete_on_yank: true }))).resolves.toMatchObject({ status: 'already-yanked' });
});

test("delete_on_yank never deletes a release release-bot did not create for this build (another build's marker, or none): cannot-yank", async () => {
  for (const body of ['hand-written notes for v4.2.0', NOTES.replace(BUILT, '<!-- release-bot:conjur-cli@4.2.0 files-sha256:0000 -->')]) {
    github().get('/repos/acme/cli/releases/tags/v4.2.0').reply(200, release({ body }));
    await expect(githubPublisher.yank!(context(), opts({ delete_on_yank: true }))).resolves.toMatchObject({
      status: 'cannot-yank',
      detail: expect.stringContaining('not deleting it'),
    });
  }
});

test('a release that does not read back as yanked is a retryable failure', async () => {
  github().get('/repos/acme/cli/releases/tags/v4.2.0').reply(200, release());
  github().patch('/repos/acme/cli/releases/7').reply(200, release());
  github().get('/repos/acme/cli/releases/7').reply(200, release());
  await expect(githubPublisher.yank!(context(), opts())).rejects.toMatchObject({ code: ErrorCode.DestinationFailed, retryable: true });
});

test('a multi-line reason stays one quoted line; a secret in it is redacted before it is written to GitHub', async () => {
  const reason = `leaks ${TOKEN}\n\n# Install 4.1.0 instead`;
  const expected = `> **Yanked** by release-bot: leaks [REDACTED] # Install 4.1.0 instead\n\n${MARKER}\n\n${NOTES}`;
  github().get('/repos/acme/cli/releases/tags/v4.2.0').reply(200, release());
  github()
    .patch('/repos/acme/cli/releases/7', { prerelease: true, body: expected })
    .reply(200, release({ prerelease: true, body: expected }));
  github()
    .get('/repos/acme/cli/releases/7')
    .reply(200, release({ prerelease: true, body: expected }));
  await expect(githubPublisher.yank!(context({ reason }), opts())).resolves.toMatchObject({ status: 'yanked' });
});

describe('failures are sorted, and the token never shows', () => {
  test('5xx and 429 on the update are retryable, 401 is final and names the credential', async () => {
    for (const [status, retryable] of [
      [502, true],
      [429, true],
      [401, false],
    ] as const) {
      github().get('/repos/acme/cli/releases/tags/v4.2.0').reply(200, release());
      github()
        .patch('/repos/acme/cli/releases/7')
        .reply(status, { message: `Bad credentials ${TOKEN}`, documentation_url: 'https://docs.github.com/rest' });
      const ctx = context();
      const err = await githubPublisher.yank!(ctx, opts()).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: ErrorCode.DestinationFailed, retryable, details: { status } });
      if (status === 401) expect((err as Error).message).toMatch(/GITHUB_TOKEN/);
      expect(everything(ctx, err)).not.toContain(TOKEN);
    }
  });

  test('a network failure is retryable', async () => {
    github().get('/repos/acme/cli/releases/tags/v4.2.0').replyWithError({ code: 'ECONNRESET', message: 'socket hang up' });
    await expect(githubPublisher.yank!(context(), opts())).rejects.toMatchObject({
      code: ErrorCode.DestinationFailed,
      retryable: true,
      details: { reason: 'network' },
    });
  });

  test('no GITHUB_TOKEN: a config error before any request', async () => {
    await expect(githubPublisher.yank!(context({ credentials: {} }), opts())).rejects.toMatchObject({ code: ErrorCode.ConfigInvalid });
  });
});

test('options: delete_on_yank defaults to false', () => {
  expect(opts()).toMatchObject({ delete_on_yank: false });
  expect(githubPublisher.options.safeParse({ repository: 'acme/cli', delete_on_yank: 'yes' }).success).toBe(false);
});

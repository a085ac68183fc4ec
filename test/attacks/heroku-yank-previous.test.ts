import nock from 'nock';
import path from 'node:path';
import type { PublishedRecord } from '../../src/publishing/types.js';
import { herokuPublisher } from '../../publishers/heroku.js';
import { RELEASES_RANGE } from '../../publishers/heroku-yank.js';
import { makeTmpDir } from '../support/tmp.js';
import { yankContext } from '../publishers/helpers/yank-context.js';

/**
 * A yank of Heroku must land on the version the project falls back to (ctx.previous: the newest
 * released version that is not itself yanked), never on a version that was yanked before. Releases
 * carry only properties of heroku/platform-api schema.json `release` (as test/publishers/heroku-yank.test.ts
 * checks against test/fixtures/heroku/platform-api-release-links.json).
 *
 * History: v9 deploys 4.1.0 (slug S1), v10 deploys 4.2.0 (S2), v11 deploys 4.3.0 (S3, current).
 * 4.2.0 was yanked while 4.3.0 already ran (Heroku: already-yanked), so the release right before 4.3.0's
 * runs the broken 4.2.0. Yanking 4.3.0 must roll back to v9 (4.1.0), not to v10.
 */
const KEY = 'heroku-canary-attack-key-5f2a9c';
const API = 'https://api.heroku.com';
const id = (n: number) => `aaaaaaaa-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`;
const build = (n: number) => `bbbbbbbb-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`;
const slug = (n: number) => `${String(n).repeat(8)}-1111-4111-8111-111111111111`;
const hex = (c: string) => c.repeat(64);

function release(v: number, s: number, extra: Record<string, unknown> = {}) {
  return {
    id: id(v),
    version: v,
    status: 'succeeded',
    current: false,
    description: `Deploy v${v}`,
    slug: { id: slug(s) },
    eligible_for_rollback: true,
    ...extra,
  };
}
const history = [release(11, 3, { current: true }), release(10, 2), release(9, 1)];

const heroku = () => nock(API, { reqheaders: { authorization: `Bearer ${KEY}` } });
function stubBuild(n: number, releaseVersion: number, sha: string) {
  heroku()
    .get(`/apps/acme-cli/builds/${build(n)}`)
    .reply(200, {
      id: build(n),
      status: 'succeeded',
      source_blob: { checksum: `SHA256:${sha}`, version: null },
      release: { id: id(releaseVersion) },
    });
  heroku()
    .get(`/apps/acme-cli/releases/${id(releaseVersion)}`)
    .reply(
      200,
      history.find((r) => r.version === releaseVersion),
    );
}
const record = (version: string, n: number, sha: string): PublishedRecord => ({
  version,
  artifact: { kind: 'files', files: [] },
  readBackDigest: `sha256:${sha}`,
  location: `https://dashboard.heroku.com/apps/acme-cli/activity/builds/${build(n)}`,
});

let tmp: ReturnType<typeof makeTmpDir>;
beforeEach(() => (tmp = makeTmpDir('release-bot-attack-heroku-')));
afterEach(() => tmp.cleanup());

test('yanking 4.3.0 rolls back to the previous released version 4.1.0, never to the yanked 4.2.0 in between', async () => {
  stubBuild(43, 11, hex('c'));
  stubBuild(41, 9, hex('a'));
  heroku().matchHeader('range', RELEASES_RANGE).get('/apps/acme-cli/releases').reply(200, history);
  const rolledBack: unknown[] = [];
  heroku()
    .post('/apps/acme-cli/releases')
    .reply(201, (_uri, body) => {
      rolledBack.push(body);
      return release(12, (body as { release: string }).release === id(9) ? 1 : 2, { status: 'pending' });
    });
  heroku()
    .get(`/apps/acme-cli/releases/${id(12)}`)
    .reply(200, () => release(12, 1, { current: true }));
  heroku()
    .matchHeader('range', 'version ..; max=10, order=desc')
    .get('/apps/acme-cli/releases')
    .reply(200, () => [release(12, 1, { current: true }), ...history.map((r) => ({ ...r, current: false }))]);

  const ctx = yankContext(path.join(tmp.dir, 'ctx'), {
    published: record('4.3.0', 43, hex('c')),
    previous: record('4.1.0', 41, hex('a')),
    credentials: { HEROKU_API_KEY: KEY },
  });
  const opts = herokuPublisher.options.parse({
    app: 'acme-cli',
    source_url: 'https://downloads.example.com/{project}/{version}/{file}',
    poll_interval_ms: 1,
  });
  const result = await herokuPublisher.yank!(ctx, opts).catch((e: unknown) => e);
  // The invariant: whatever the outcome, the app was never sent to the yanked version's release.
  expect(rolledBack).not.toContainEqual({ release: id(10) });
  expect(rolledBack).toEqual([{ release: id(9) }]);
  expect(result).toMatchObject({ status: 'yanked', detail: expect.stringContaining('rolled back to v9') });
});

test("the previous version no longer in the app's history: cannot-yank, nothing rolled back (not the release just before)", async () => {
  stubBuild(43, 11, hex('c'));
  heroku()
    .get(`/apps/acme-cli/builds/${build(41)}`)
    .reply(200, {
      id: build(41),
      status: 'succeeded',
      source_blob: { checksum: `SHA256:${hex('a')}`, version: null },
      release: { id: id(9) },
    });
  heroku()
    .get(`/apps/acme-cli/releases/${id(9)}`)
    .reply(200, release(9, 1));
  heroku()
    .matchHeader('range', RELEASES_RANGE)
    .get('/apps/acme-cli/releases')
    .reply(200, [release(11, 3, { current: true }), release(10, 2)]);
  const ctx = yankContext(path.join(tmp.dir, 'ctx2'), {
    published: record('4.3.0', 43, hex('c')),
    previous: record('4.1.0', 41, hex('a')),
    credentials: { HEROKU_API_KEY: KEY },
  });
  const opts = herokuPublisher.options.parse({
    app: 'acme-cli',
    source_url: 'https://downloads.example.com/{project}/{version}/{file}',
    poll_interval_ms: 1,
  });
  await expect(herokuPublisher.yank!(ctx, opts)).resolves.toMatchObject({
    status: 'cannot-yank',
    detail: expect.stringContaining('4.1.0'),
  });
});

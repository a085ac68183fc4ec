import { readFileSync } from 'node:fs';
import path from 'node:path';
import nock from 'nock';
import { ErrorCode } from '../../src/errors.js';
import type { YankContext } from '../../src/publishing/types.js';
import { herokuPublisher } from '../../publishers/heroku.js';
import { RELEASES_RANGE } from '../../publishers/heroku-yank.js';
import { repoRoot } from '../support/cli.js';
import { makeTmpDir } from '../support/tmp.js';
import { everything, yankContext } from './helpers/yank-context.js';

const KEY = 'heroku-canary-yank-key-1e9d3c7b5a';
const API = 'https://api.heroku.com';
const HEX = 'ab'.repeat(32);
const BUILD = '01234567-89ab-cdef-0123-456789abcdef';
const [R8, R9, R10, R11, R12] = ['8', '9', '10', '11', '12'].map((v) => `aaaaaaaa-0000-4000-8000-0000000000${v.padStart(2, '0')}`) as [
  string,
  string,
  string,
  string,
  string,
];
const [S1, S2] = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];

/**
 * The Platform API's release links (an excerpt of heroku/platform-api schema.json, source named in
 * the file): every request must hit one of them, and every release the stand-in answers carries only
 * properties of the schema's `release`.
 */
interface SchemaLink {
  title: string;
  method: string;
  href: string;
}
const schema = JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/heroku/platform-api-release-links.json'), 'utf8')) as {
  accept: string;
  links: SchemaLink[];
  releaseStatus: string[];
  releaseProperties: string[];
};
const linkOf = (method: string, pathname: string) =>
  schema.links.find((l) => l.method === method && new RegExp(`^${l.href.replace(/\{\([^)]*\)\}/g, '[^/]+')}$`).test(pathname))?.title;

function release(id: string, version: number, slug: string | null, extra: Record<string, unknown> = {}) {
  const r = {
    id,
    version,
    status: 'succeeded',
    current: false,
    description: `Deploy ${version}`,
    slug: slug ? { id: slug } : null,
    eligible_for_rollback: true,
    created_at: '2026-11-30T10:00:00Z',
    updated_at: '2026-11-30T10:00:00Z',
    app: { name: 'acme-cli', id: 'c0ffee00-0000-4000-8000-000000000000' },
    ...extra,
  };
  for (const key of Object.keys(r)) expect(schema.releaseProperties).toContain(key);
  expect(schema.releaseStatus).toContain(r.status);
  return r;
}
const v8 = release(R8, 8, null, { status: 'failed' });
const v9 = release(R9, 9, S1, { description: 'Deploy 4.1.0' });
const v10 = release(R10, 10, S2, { description: 'Deploy 4.2.0' });
const v11 = release(R11, 11, S2, { description: 'Set LOG_LEVEL config vars', current: true });

const heroku = () => nock(API, { reqheaders: { authorization: `Bearer ${KEY}`, accept: schema.accept, 'user-agent': 'release-bot' } });
/** Every request the yank makes, by the schema link it hit. */
let hits: string[] = [];
beforeEach(() => (hits = []));
const hit = (method: string, uri: string) => {
  const title = linkOf(method, new URL(uri, API).pathname);
  hits.push(title ?? `${method} ${uri} (no link of the schema)`);
};

/** What publish recorded: the build's dashboard location and the tarball's checksum. */
function stubBuild(extra: Record<string, unknown> = {}) {
  heroku()
    .get(`/apps/acme-cli/builds/${BUILD}`)
    .reply(function (uri) {
      hit('GET', uri);
      return [
        200,
        { id: BUILD, status: 'succeeded', source_blob: { checksum: `SHA256:${HEX}`, version: '4.2.0' }, release: { id: R10 }, ...extra },
      ];
    });
  heroku()
    .get(`/apps/acme-cli/releases/${R10}`)
    .reply(function (uri) {
      hit('GET', uri);
      return [200, v10];
    });
}
const stubList = (releases: unknown[], range = RELEASES_RANGE) =>
  heroku()
    .matchHeader('range', range)
    .get('/apps/acme-cli/releases')
    .reply(function (uri) {
      hit('GET', uri);
      return [200, releases];
    });

let tmp: ReturnType<typeof makeTmpDir>;
let n = 0;
beforeEach(() => (tmp = makeTmpDir('release-bot-heroku-yank-')));
afterEach(() => tmp.cleanup());
const opts = () =>
  herokuPublisher.options.parse({
    app: 'acme-cli',
    source_url: 'https://downloads.example.com/{project}/{version}/{file}',
    poll_interval_ms: 1,
  });
const context = (overrides: Partial<YankContext> = {}) =>
  yankContext(path.join(tmp.dir, `ctx-${(n += 1)}`), {
    published: {
      version: '4.2.0',
      artifact: { kind: 'files', files: [] },
      readBackDigest: `sha256:${HEX}`,
      location: `https://dashboard.heroku.com/apps/acme-cli/activity/builds/${BUILD}`,
    },
    credentials: { HEROKU_API_KEY: KEY },
    ...overrides,
  });

test('rolls back to the release before this version\'s (POST {"release": id}), follows it and reads it back as current; a second yank is already-yanked', async () => {
  stubBuild();
  stubList([v11, v10, v9, v8]);
  heroku()
    .post('/apps/acme-cli/releases', { release: R9 })
    .reply(function (uri) {
      hit('POST', uri);
      return [201, release(R12, 12, S1, { status: 'pending', description: 'Rollback to v9' })];
    });
  heroku()
    .get(`/apps/acme-cli/releases/${R12}`)
    .reply(function (uri) {
      hit('GET', uri);
      return [200, release(R12, 12, S1, { status: 'pending', description: 'Rollback to v9' })];
    });
  heroku()
    .get(`/apps/acme-cli/releases/${R12}`)
    .reply(function (uri) {
      hit('GET', uri);
      return [200, release(R12, 12, S1, { description: 'Rollback to v9', current: true })];
    });
  const after = [release(R12, 12, S1, { description: 'Rollback to v9', current: true }), { ...v11, current: false }, v10, v9, v8];
  stubList(after, 'version ..; max=10, order=desc');
  const ctx = context();
  await expect(herokuPublisher.yank!(ctx, opts())).resolves.toEqual({
    status: 'yanked',
    detail: 'acme-cli rolled back to v9 (new release v12)',
    location: `https://dashboard.heroku.com/apps/acme-cli/activity/releases/${R12}`,
  });
  expect(hits).toEqual(['Build Info', 'Release Info', 'Release List', 'Release Rollback', 'Release Info', 'Release Info', 'Release List']);
  expect(ctx.progressLines).toEqual(['rolling acme-cli back to v9']);

  stubBuild();
  stubList(after);
  await expect(herokuPublisher.yank!(context(), opts())).resolves.toMatchObject({
    status: 'already-yanked',
    detail: expect.stringContaining('no longer runs 4.2.0 (release v10): its current release is v12 (Rollback to v9)'),
  });
});

test('dry run: planned, only reads (no rollback)', async () => {
  stubBuild();
  stubList([v11, v10, v9, v8]);
  await expect(herokuPublisher.yank!(context({ dryRun: true }), opts())).resolves.toEqual({
    status: 'planned',
    detail: 'would roll acme-cli back from v11 to v9',
    actions: [`POST ${API}/apps/acme-cli/releases {"release": "${R9}"} (roll back to v9)`],
  });
});

test('a newer deploy since (another slug) is already-yanked: it is never rolled back', async () => {
  stubBuild();
  stubList([release(R12, 12, 'cccccccc-cccc-4ccc-8ccc-cccccccccccc', { current: true }), v11, v10, v9]);
  await expect(herokuPublisher.yank!(context(), opts())).resolves.toMatchObject({ status: 'already-yanked' });
});

test("no succeeded release before this version's: cannot-yank, nothing changed", async () => {
  stubBuild();
  stubList([{ ...v10, current: true }, v8]);
  await expect(herokuPublisher.yank!(context(), opts())).resolves.toMatchObject({
    status: 'cannot-yank',
    detail: expect.stringContaining('no succeeded release before v10'),
  });
});

test('a rollback whose release phase fails is a final failure that says where to look', async () => {
  stubBuild();
  stubList([v11, v10, v9]);
  heroku()
    .post('/apps/acme-cli/releases', { release: R9 })
    .reply(201, release(R12, 12, S1, { status: 'pending' }));
  heroku()
    .get(`/apps/acme-cli/releases/${R12}`)
    .reply(200, release(R12, 12, S1, { status: 'failed' }));
  await expect(herokuPublisher.yank!(context(), opts())).rejects.toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: false,
    message: expect.stringContaining('heroku releases:output 12 -a acme-cli'),
  });
});

test('a current release that is not the rollback after it succeeded is a retryable failure', async () => {
  stubBuild();
  stubList([v11, v10, v9]);
  heroku()
    .post('/apps/acme-cli/releases', { release: R9 })
    .reply(201, release(R12, 12, S1));
  heroku()
    .get(`/apps/acme-cli/releases/${R12}`)
    .reply(200, release(R12, 12, S1));
  stubList([v11, v10, v9], 'version ..; max=10, order=desc');
  await expect(herokuPublisher.yank!(context(), opts())).rejects.toMatchObject({ code: ErrorCode.DestinationFailed, retryable: true });
});

describe('what publish recorded is checked before anything is rolled back', () => {
  test('a build with another checksum than the published one: refused, no rollback', async () => {
    heroku()
      .get(`/apps/acme-cli/builds/${BUILD}`)
      .reply(200, {
        id: BUILD,
        status: 'succeeded',
        source_blob: { checksum: `SHA256:${'cd'.repeat(32)}`, version: '4.2.0' },
        release: { id: R10 },
      });
    await expect(herokuPublisher.yank!(context(), opts())).rejects.toMatchObject({
      code: ErrorCode.DestinationFailed,
      message: expect.stringContaining('is not the succeeded build of 4.2.0'),
    });
  });

  test('a location of another app, or none: refused before any request', async () => {
    const other = context({
      published: {
        version: '4.2.0',
        artifact: { kind: 'files', files: [] },
        location: `https://dashboard.heroku.com/apps/crown-jewel/activity/builds/${BUILD}`,
      },
    });
    await expect(herokuPublisher.yank!(other, opts())).rejects.toMatchObject({
      code: ErrorCode.BadInput,
      message: expect.stringContaining('heroku rollback -a acme-cli'),
    });
    await expect(
      herokuPublisher.yank!(context({ published: { version: '4.2.0', artifact: { kind: 'files', files: [] } } }), opts()),
    ).rejects.toMatchObject({ code: ErrorCode.BadInput });
  });
});

describe('failures are sorted, and the key never shows', () => {
  test('503 and 429 on the rollback are retryable, 401 is final and names the credential', async () => {
    for (const [status, retryable] of [
      [503, true],
      [429, true],
      [401, false],
    ] as const) {
      stubBuild();
      stubList([v11, v10, v9]);
      heroku()
        .post('/apps/acme-cli/releases')
        .reply(status, { id: 'unauthorized', message: `Invalid credentials provided: ${KEY}` });
      const ctx = context();
      const err = await herokuPublisher.yank!(ctx, opts()).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: ErrorCode.DestinationFailed, retryable, details: { status } });
      if (status === 401) expect((err as Error).message).toMatch(/HEROKU_API_KEY/);
      expect(everything(ctx, err)).not.toContain(KEY);
    }
  });

  test('a network failure is retryable', async () => {
    heroku().get(`/apps/acme-cli/builds/${BUILD}`).replyWithError({ code: 'ETIMEDOUT', message: 'timeout' });
    await expect(herokuPublisher.yank!(context(), opts())).rejects.toMatchObject({ code: ErrorCode.DestinationFailed, retryable: true });
  });
});

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import nock from 'nock';
import { ErrorCode } from '../../src/errors.js';
import { BUILDS_RANGE, herokuPublisher } from '../../publishers/heroku.js';
import { repoRoot } from '../support/cli.js';
import { publishContext } from '../support/publish-context.js';
import { makeTmpDir } from '../support/tmp.js';

const KEY = 'heroku-canary-key-6b1f4e2a9c0d7e35';
const API = 'https://api.heroku.com';
const TARBALL = 'source tarball bytes';
const HEX = createHash('sha256').update(TARBALL).digest('hex');
const CHECKSUM = `SHA256:${HEX}`;
const SOURCE_URL = 'https://downloads.example.com/conjur-cli/4.2.0/conjur-cli-4.2.0.tar.gz';

let tmp: ReturnType<typeof makeTmpDir>;
let n = 0;
beforeEach(() => (tmp = makeTmpDir('release-bot-heroku-')));
afterEach(() => tmp.cleanup());

const context = (
  extra: Parameters<typeof publishContext>[2] = {},
  files: Record<string, string> = { 'conjur-cli-4.2.0.tar.gz': TARBALL },
) => publishContext(path.join(tmp.dir, `ctx-${(n += 1)}`), files, { credentials: { HEROKU_API_KEY: KEY }, ...extra });
const opts = (extra: Record<string, unknown> = {}) =>
  herokuPublisher.options.parse({
    app: 'acme-cli',
    source_url: 'https://downloads.example.com/{project}/{version}/{file}',
    poll_interval_ms: 1,
    ...extra,
  });
/**
 * Heroku's published schema (an excerpt of heroku/platform-api schema.json, source named in the file):
 * every request to the API is checked against the link it hits. A Range header naming a field outside
 * that link's `ranges` is answered as Heroku answers it (416 requested_range_not_satisfiable, with the
 * allowed fields in Accept-Ranges), so a publisher that sorts by a field the schema does not list fails here.
 */
interface SchemaLink {
  title: string;
  method: string;
  href: string;
  ranges?: string[];
}
const schema = JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/heroku/platform-api-schema-excerpt.json'), 'utf8')) as {
  accept: string;
  links: SchemaLink[];
};
const linkFor = (method: string, pathname: string) =>
  schema.links.find((l) => l.method === method && new RegExp(`^${l.href.replace(/\{\([^)]*\)\}/g, '[^/]+')}$`).test(pathname));
type Reply = [number, unknown, Record<string, string>?];
function schemaVerdict(method: string, uri: string, headers: Record<string, string | string[] | undefined>): Reply | undefined {
  const link = linkFor(method, new URL(uri, API).pathname);
  if (!link) return [404, { id: 'not_found', message: `no link of the schema is ${method} ${uri}` }];
  const range = headers.range;
  if (range === undefined) return undefined;
  const field = String(range).trim().split(/[\s;]/)[0] ?? '';
  if (!(link.ranges ?? []).includes(field)) {
    return [
      416,
      {
        id: 'requested_range_not_satisfiable',
        message: `Requested range ${field} is not allowed, please try \`id\` or another specified in \`Accept-Ranges\`.`,
      },
      { 'Accept-Ranges': (link.ranges ?? ['id']).join(', ') },
    ];
  }
  return undefined;
}
/** A reply that answers what Heroku would when the request breaks the schema, else `ok`. */
const checked = (ok: (uri: string) => Reply) =>
  function (this: nock.ReplyFnContext, uri: string): Reply {
    return schemaVerdict(this.req.method ?? 'GET', uri, this.req.headers) ?? ok(uri);
  };
const heroku = () => nock(API, { reqheaders: { authorization: `Bearer ${KEY}`, accept: schema.accept, 'user-agent': 'release-bot' } });
/** One page of the builds list, asked for with `range` (the first page's by default); `nextRange` makes it a partial (206) page. */
const listBuilds = (builds: unknown[], nextRange?: string, range: string = BUILDS_RANGE) =>
  heroku()
    .matchHeader('range', range)
    .get('/apps/acme-cli/builds')
    .reply(checked(() => (nextRange ? [206, builds, { 'Next-Range': nextRange }] : [200, builds])));
const build = (extra: Record<string, unknown> = {}) => ({
  id: 'b-1',
  status: 'pending',
  source_blob: { checksum: CHECKSUM, version: '4.2.0' },
  release: null,
  ...extra,
});
const release = (status: string) => ({ id: 'r-1', version: 42, status });
/** The download host, which Heroku reads anonymously: the check before a build must send no credential either. */
const source = (status = 200, body: string = TARBALL) =>
  nock('https://downloads.example.com', { badheaders: ['authorization', 'cookie'] })
    .get('/conjur-cli/4.2.0/conjur-cli-4.2.0.tar.gz')
    .reply(status, body);

test('creates a checksummed source build, polls it and its release until they succeed', async () => {
  listBuilds([build({ id: 'old', status: 'succeeded', source_blob: { checksum: 'SHA256:00', version: '4.1.0' } })]);
  source();
  heroku()
    .post(
      '/apps/acme-cli/builds',
      (body: { source_blob: Record<string, string> }) =>
        body.source_blob.url === SOURCE_URL &&
        body.source_blob.checksum === CHECKSUM &&
        body.source_blob.version === '4.2.0' &&
        body.source_blob.version_description === 'conjur-cli 4.2.0 (build #123) by release-bot',
    )
    .reply(201, build());
  heroku()
    .get('/apps/acme-cli/builds/b-1')
    .twice()
    .reply(checked(() => [200, build()]));
  heroku()
    .get('/apps/acme-cli/builds/b-1')
    .reply(checked(() => [200, build({ status: 'succeeded', release: { id: 'r-1' } })]));
  heroku()
    .get('/apps/acme-cli/releases/r-1')
    .reply(checked(() => [200, release('pending')]));
  heroku()
    .get('/apps/acme-cli/releases/r-1')
    .reply(checked(() => [200, release('succeeded')]));
  const ctx = await context();
  await expect(herokuPublisher.publish(ctx, opts())).resolves.toEqual({
    status: 'published',
    readBackDigest: `sha256:${HEX}`,
    location: 'https://dashboard.heroku.com/apps/acme-cli/activity/builds/b-1',
    detail: 'release v42 of acme-cli',
  });
  expect(ctx.progressLines).toEqual(['Heroku build b-1 of acme-cli started', 'Heroku build b-1 succeeded; following its release']);
});

test('a succeeded build of this version and checksum is already-present; the plan says so', async () => {
  const done = build({ status: 'succeeded', release: { id: 'r-1' } });
  listBuilds([done]);
  heroku()
    .get('/apps/acme-cli/releases/r-1')
    .reply(checked(() => [200, release('succeeded')]));
  await expect(herokuPublisher.publish(await context(), opts())).resolves.toMatchObject({
    status: 'already-present',
    detail: 'release v42 of acme-cli',
  });
  listBuilds([done]);
  heroku()
    .get('/apps/acme-cli/releases/r-1')
    .reply(checked(() => [200, release('succeeded')]));
  await expect(herokuPublisher.plan!(await context(), opts())).resolves.toEqual({
    actions: ['nothing: acme-cli already has build b-1 of 4.2.0 (release v42) with the same checksum'],
  });
});

describe("the builds list as Heroku's schema allows it", () => {
  test('the stand-in answers a Range the schema does not allow for the endpoint as Heroku does (416, Accept-Ranges)', async () => {
    heroku()
      .get('/apps/acme-cli/builds')
      .reply(checked(() => [200, []]));
    const res = await fetch(`${API}/apps/acme-cli/builds`, {
      headers: {
        authorization: `Bearer ${KEY}`,
        accept: schema.accept,
        'user-agent': 'release-bot',
        range: 'created_at ..; max=100, order=desc',
      },
    });
    expect(res.status).toBe(416);
    expect(res.headers.get('accept-ranges')).toBe('id, started_at');
    expect(await res.json()).toMatchObject({ id: 'requested_range_not_satisfiable' });
    expect(schemaVerdict('GET', '/apps/acme-cli/releases/r-1', { range: 'id ..' })).toEqual([
      416,
      expect.anything(),
      { 'Accept-Ranges': 'id' },
    ]);
  });

  test('pages by started_at, newest first, following Next-Range until the last page', async () => {
    expect(BUILDS_RANGE).toBe('started_at ..; max=1000, order=desc');
    const next = 'started_at ]2026-02-27T10:00:00Z..; max=1000, order=desc';
    listBuilds([build({ id: 'newer', status: 'succeeded', source_blob: { checksum: 'SHA256:01', version: '4.3.0' } })], next);
    listBuilds([build({ status: 'succeeded', release: { id: 'r-1' } })], undefined, next);
    heroku()
      .get('/apps/acme-cli/releases/r-1')
      .reply(checked(() => [200, release('succeeded')]));
    await expect(herokuPublisher.publish(await context(), opts())).resolves.toMatchObject({ status: 'already-present' });
  });

  test('a conflicting build on a later page is still found', async () => {
    const next = 'started_at ]2026-02-27T10:00:00Z..; max=1000, order=desc';
    listBuilds([], next);
    listBuilds(
      [build({ id: 'b-0', status: 'succeeded', source_blob: { checksum: 'SHA256:feedbeef', version: '4.2.0' }, release: { id: 'r-0' } })],
      undefined,
      next,
    );
    await expect(herokuPublisher.publish(await context(), opts())).rejects.toMatchObject({ code: ErrorCode.DestinationConflict });
  });
});

test('a succeeded build of this version from another tarball is a conflict, and nothing is built', async () => {
  listBuilds([
    build({ id: 'b-0', status: 'succeeded', source_blob: { checksum: 'SHA256:feedbeef', version: '4.2.0' }, release: { id: 'r-0' } }),
  ]);
  await expect(herokuPublisher.publish(await context(), opts())).rejects.toMatchObject({
    code: ErrorCode.DestinationConflict,
    retryable: false,
    message: expect.stringMatching(/already ran build b-0 of 4\.2\.0 from another tarball/),
  });
});

test('a pending build of an earlier attempt is followed instead of starting another; a failed one is ignored', async () => {
  listBuilds([build({ id: 'b-failed', status: 'failed' }), build()]);
  heroku()
    .get('/apps/acme-cli/builds/b-1')
    .reply(checked(() => [200, build({ status: 'succeeded', release: { id: 'r-1' } })]));
  heroku()
    .get('/apps/acme-cli/releases/r-1')
    .reply(checked(() => [200, release('succeeded')]));
  const ctx = await context();
  await expect(herokuPublisher.publish(ctx, opts())).resolves.toMatchObject({ status: 'published' });
  expect(ctx.progressLines[0]).toBe('Heroku build b-1 of acme-cli resumed');
});

test('a failed build and a failed release phase are final and say where to look', async () => {
  listBuilds([]);
  source();
  heroku()
    .post('/apps/acme-cli/builds')
    .reply(checked(() => [201, build()]));
  heroku()
    .get('/apps/acme-cli/builds/b-1')
    .reply(checked(() => [200, build({ status: 'failed' })]));
  await expect(herokuPublisher.publish(await context(), opts())).rejects.toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: false,
    details: { reason: 'build-failed' },
    message: expect.stringMatching(/heroku builds:info b-1 -a acme-cli/),
  });

  listBuilds([]);
  source();
  heroku()
    .post('/apps/acme-cli/builds')
    .reply(checked(() => [201, build()]));
  heroku()
    .get('/apps/acme-cli/builds/b-1')
    .reply(checked(() => [200, build({ status: 'succeeded', release: { id: 'r-1' } })]));
  heroku()
    .get('/apps/acme-cli/releases/r-1')
    .reply(checked(() => [200, release('failed')]));
  await expect(herokuPublisher.publish(await context(), opts())).rejects.toMatchObject({
    retryable: false,
    details: { reason: 'release-failed' },
    message: expect.stringMatching(/heroku releases:output 42 -a acme-cli/),
  });
});

test('429 and 503 are retryable, 401 is final and names HEROKU_API_KEY, and the key never shows', async () => {
  heroku()
    .get('/apps/acme-cli/builds')
    .reply(checked(() => [429, { id: 'rate_limit', message: 'Your account reached the API rate limit' }]));
  await expect(herokuPublisher.publish(await context(), opts())).rejects.toMatchObject({
    code: ErrorCode.DestinationFailed,
    retryable: true,
    details: { status: 429 },
  });
  listBuilds([]);
  source();
  heroku()
    .post('/apps/acme-cli/builds')
    .reply(checked(() => [503, { id: 'unavailable', message: 'try again' }]));
  await expect(herokuPublisher.publish(await context(), opts())).rejects.toMatchObject({ retryable: true, details: { status: 503 } });
  heroku()
    .get('/apps/acme-cli/builds')
    .reply(checked(() => [401, { id: 'unauthorized', message: `Invalid credentials provided: ${KEY}` }]));
  const ctx = await context();
  const err = await herokuPublisher.publish(ctx, opts()).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: ErrorCode.DestinationFailed, retryable: false, details: { reason: 'auth' } });
  expect((err as Error).message).toMatch(
    /Heroku rejected the credential \(401 on GET \/apps\/acme-cli\/builds\): check the Conjur variable behind HEROKU_API_KEY/,
  );
  expect(JSON.stringify([(err as Error).message, (err as { details: unknown }).details, ctx.logLines, ctx.progressLines])).not.toContain(
    KEY,
  );
});

test('the destination timeout ends the polling with a retryable timeout', async () => {
  const abort = new AbortController();
  let polls = 0;
  listBuilds([]);
  source();
  heroku()
    .post('/apps/acme-cli/builds')
    .reply(checked(() => [201, build()]));
  heroku()
    .get('/apps/acme-cli/builds/b-1')
    .twice()
    .reply(
      checked(() => {
        polls += 1;
        if (polls === 2) abort.abort();
        return [200, build()];
      }),
    );
  await expect(herokuPublisher.publish(await context({ signal: abort.signal }), opts({ poll_interval_ms: 20 }))).rejects.toMatchObject({
    code: ErrorCode.Timeout,
    retryable: true,
  });
  expect(polls).toBe(2);
});

test('bad options, a missing tarball or key change nothing', async () => {
  expect(herokuPublisher.options.safeParse({ app: 'acme-cli', source_url: 'http://downloads.example.com/x.tgz' }).success).toBe(false);
  expect(herokuPublisher.options.safeParse({ app: 'acme-cli', source_url: 'https://user:pw@downloads.example.com/x.tgz' }).success).toBe(
    false,
  );
  expect(herokuPublisher.options.safeParse({ app: '../apps', source_url: 'https://downloads.example.com/x.tgz' }).success).toBe(false);
  await expect(herokuPublisher.publish(await context({}, { 'README.md': 'x' }), opts())).rejects.toMatchObject({
    code: ErrorCode.BadInput,
    message: expect.stringMatching(/exactly one \.tar\.gz or \.tgz file/),
  });
  await expect(herokuPublisher.publish(await context({ credentials: {} }), opts())).rejects.toMatchObject({
    code: ErrorCode.ConfigInvalid,
    message: expect.stringMatching(/HEROKU_API_KEY/),
  });
  listBuilds([]);
  source();
  await expect(herokuPublisher.plan!(await context(), opts())).resolves.toEqual({
    actions: [
      `check that ${SOURCE_URL} serves sha256 ${HEX.slice(0, 12)}… (it serves the staged bytes now)`,
      `build acme-cli from ${SOURCE_URL} (checksum ${CHECKSUM.slice(0, 19)}…) and follow it to its release`,
    ],
  });
});

describe('before building, source_url must serve the staged bytes (Heroku would fail the build for good otherwise)', () => {
  test('a 404 (not uploaded yet) is retryable and no build is created', async () => {
    listBuilds([]);
    source(404, 'Not Found');
    const ctx = await context();
    await expect(herokuPublisher.publish(ctx, opts())).rejects.toMatchObject({
      code: ErrorCode.DestinationFailed,
      retryable: true,
      details: { reason: 'source-not-ready', status: 404 },
      message: expect.stringMatching(/conjur-cli-4\.2\.0\.tar\.gz answers 404, so Heroku cannot build the staged tarball yet: .*`after:`/),
    });
    expect(ctx.progressLines).toEqual([]);
  });

  test('other bytes, or more bytes than staged, are retryable and no build is created', async () => {
    listBuilds([]);
    source(200, 'an older tarball');
    await expect(herokuPublisher.publish(await context(), opts())).rejects.toMatchObject({
      retryable: true,
      details: { reason: 'source-not-ready' },
      message: expect.stringMatching(/serves other bytes \(sha256 [0-9a-f]{12}…, 16 bytes; staged/),
    });
    listBuilds([]);
    source(200, `${TARBALL} and then some`);
    await expect(herokuPublisher.publish(await context(), opts())).rejects.toMatchObject({
      retryable: true,
      message: expect.stringMatching(/serves more than the staged 20 bytes/),
    });
  });

  test('a download host that wants credentials is final: Heroku could never fetch it', async () => {
    listBuilds([]);
    source(403, 'Forbidden');
    await expect(herokuPublisher.publish(await context(), opts())).rejects.toMatchObject({
      retryable: false,
      details: { reason: 'source-unreadable', status: 403 },
      message: expect.stringMatching(/without credentials, so it must be readable anonymously/),
    });
  });

  test('a pending build of an earlier attempt is followed without downloading again', async () => {
    listBuilds([build()]);
    heroku()
      .get('/apps/acme-cli/builds/b-1')
      .reply(checked(() => [200, build({ status: 'succeeded', release: { id: 'r-1' } })]));
    heroku()
      .get('/apps/acme-cli/releases/r-1')
      .reply(checked(() => [200, release('succeeded')]));
    await expect(herokuPublisher.publish(await context(), opts())).resolves.toMatchObject({ status: 'published' });
  });

  test('the dry run reports a source_url that is not ready, without failing', async () => {
    listBuilds([]);
    source(404, 'Not Found');
    const plan = await herokuPublisher.plan!(await context(), opts());
    expect(plan.actions[0]).toMatch(/^check that .* \(it does not serve the staged bytes yet: .* answers 404/);
  });
});

import path from 'node:path';
import nock from 'nock';
import { ErrorCode } from '../../src/errors.js';
import type { YankContext } from '../../src/publishing/types.js';
import { rubygemsPublisher } from '../../publishers/rubygems.js';
import { makeTmpDir } from '../support/tmp.js';
import { everything, yankContext } from './helpers/yank-context.js';

/**
 * The RubyGems API as rubygems/rubygems.org serves it: `DELETE /api/v1/gems/yank` with gem_name,
 * version and platform, Authorization the raw key, answered in plain text
 * (app/controllers/api/v1/deletions_controller.rb: 200 "Successfully deleted gem: <title>", 403 for a
 * version its policy keeps, 422 "<name> <version> has already been deleted" from app/models/deletion.rb);
 * `GET /api/v1/versions/<name>.json` lists only versions that are not yanked, each as Version#payload
 * (app/models/version.rb), and answers 404 "This rubygem could not be found." when none is left
 * (app/controllers/api/v1/versions_controller.rb).
 */
const KEY = 'rubygems_canary_yank_7a2c4e6f8b0d';
const HOST = 'https://gems.example.com';
const SHA = 'c4'.repeat(32);
const OTHER = 'd5'.repeat(32);

/** One entry of the versions list, Version#payload's fields. */
function entry(number: string, platform: string, sha: string) {
  return {
    authors: 'release-bot',
    built_at: '2026-11-30T00:00:00.000Z',
    created_at: '2026-11-30T10:00:00.000Z',
    description: null,
    downloads_count: 3,
    metadata: {},
    number,
    summary: 'test gem',
    platform,
    ruby_version: '>= 0',
    prerelease: false,
    licenses: ['MIT'],
    requirements: [],
    sha,
  };
}
const listed = [entry('1.1.0', 'ruby', SHA), entry('1.1.0', 'x86_64-linux', OTHER), entry('1.0.0', 'ruby', 'e6'.repeat(32))];
const notListed = listed.filter((v) => v.sha !== SHA);

const api = () => nock(HOST, { reqheaders: { authorization: KEY, 'user-agent': 'release-bot' } });
const versions = () => api().matchHeader('accept', 'application/json').get('/api/v1/versions/hello-rb.json');
/** The yank as `gem yank` sends it: a form body (rubygems lib/rubygems/commands/yank_command.rb, set_form_data). */
const yankRequest = (form: string) =>
  api().matchHeader('content-type', 'application/x-www-form-urlencoded').delete('/api/v1/gems/yank', form);

let tmp: ReturnType<typeof makeTmpDir>;
let n = 0;
beforeEach(() => (tmp = makeTmpDir('release-bot-rubygems-yank-')));
afterEach(() => tmp.cleanup());
const opts = () => rubygemsPublisher.options.parse({ host: HOST, read_back_interval_ms: 1, gem_name: 'hello-rb' });
const context = (overrides: Partial<YankContext> = {}) =>
  yankContext(path.join(tmp.dir, `ctx-${(n += 1)}`), {
    project: 'hello',
    published: {
      version: '1.1.0',
      artifact: { kind: 'files', files: [] },
      readBackDigest: `sha256:${SHA}`,
      location: `${HOST}/gems/hello-rb/versions/1.1.0`,
    },
    credentials: { GEM_HOST_API_KEY: KEY },
    ...overrides,
  });

test('yanks the published gem (found by its sha256) and reads back that it is no longer listed; a second yank is already-yanked', async () => {
  versions().reply(200, listed);
  yankRequest('gem_name=hello-rb&version=1.1.0').reply(200, 'Successfully deleted gem: hello-rb (1.1.0)', { 'Content-Type': 'text/plain' });
  versions().reply(200, listed); // the API's cache may lag a moment
  versions().reply(200, notListed);
  const ctx = context();
  await expect(rubygemsPublisher.yank!(ctx, opts())).resolves.toEqual({
    status: 'yanked',
    detail: `hello-rb 1.1.0 yanked from ${HOST}`,
    location: `${HOST}/gems/hello-rb/versions/1.1.0`,
  });
  expect(ctx.progressLines).toEqual([`yanking hello-rb 1.1.0 from ${HOST}`]);

  versions().reply(200, notListed);
  await expect(rubygemsPublisher.yank!(context(), opts())).resolves.toMatchObject({ status: 'already-yanked' });
  versions().reply(404, 'This rubygem could not be found.', { 'Content-Type': 'text/plain' });
  await expect(rubygemsPublisher.yank!(context(), opts())).resolves.toMatchObject({ status: 'already-yanked' });
});

test('a platform gem is yanked with its platform, and only it', async () => {
  versions().reply(200, listed);
  yankRequest('gem_name=hello-rb&version=1.1.0&platform=x86_64-linux').reply(
    200,
    'Successfully deleted gem: hello-rb (1.1.0-x86_64-linux)',
  );
  versions().reply(
    200,
    listed.filter((v) => v.sha !== OTHER),
  );
  const ctx = context({ published: { version: '1.1.0', artifact: { kind: 'files', files: [] }, readBackDigest: `sha256:${OTHER}` } });
  await expect(rubygemsPublisher.yank!(ctx, opts())).resolves.toMatchObject({
    status: 'yanked',
    detail: `hello-rb 1.1.0 (x86_64-linux) yanked from ${HOST}`,
  });
});

test('dry run: planned, only the versions list is read', async () => {
  versions().reply(200, listed);
  await expect(rubygemsPublisher.yank!(context({ dryRun: true }), opts())).resolves.toEqual({
    status: 'planned',
    detail: `would yank hello-rb 1.1.0 from ${HOST}`,
    actions: [`DELETE ${HOST}/api/v1/gems/yank gem_name=hello-rb&version=1.1.0`],
    location: `${HOST}/gems/hello-rb/versions/1.1.0`,
  });
});

test('yanked meanwhile (422 "has already been deleted") is already-yanked; a version the server keeps (403) is cannot-yank with its reason', async () => {
  versions().reply(200, listed);
  yankRequest('gem_name=hello-rb&version=1.1.0').reply(422, 'hello-rb 1.1.0 has already been deleted');
  await expect(rubygemsPublisher.yank!(context(), opts())).resolves.toMatchObject({ status: 'already-yanked' });

  versions().reply(200, listed);
  yankRequest('gem_name=hello-rb&version=1.1.0').reply(
    403,
    'Versions with more than 100,000 downloads cannot be deleted. Please contact RubyGems support (support@rubygems.org) to request deletion of this version if it represents a legal or security risk.',
  );
  await expect(rubygemsPublisher.yank!(context(), opts())).resolves.toMatchObject({
    status: 'cannot-yank',
    detail: expect.stringContaining('cannot be deleted'),
  });
});

test('still listed after every read-back attempt: a retryable failure', async () => {
  versions().reply(200, listed);
  yankRequest('gem_name=hello-rb&version=1.1.0').reply(200, 'Successfully deleted gem: hello-rb (1.1.0)');
  versions().times(5).reply(200, listed);
  await expect(rubygemsPublisher.yank!(context(), opts())).rejects.toMatchObject({ code: ErrorCode.DestinationFailed, retryable: true });
});

describe('failures are sorted, and the key never shows', () => {
  test('503 and 429 are retryable; a 401 (a wrong key, or one that needs an OTP) and a 403 without the policy words are final', async () => {
    const cases = [
      [503, 'upstream down', true],
      [429, 'Too many requests', true],
      [401, `You have enabled multifactor authentication but no OTP code provided. key ${KEY}`, false],
      [403, 'You do not have permission to delete this gem.', false],
    ] as const;
    for (const [status, text, retryable] of cases) {
      versions().reply(200, listed);
      yankRequest('gem_name=hello-rb&version=1.1.0').reply(status, text);
      const ctx = context();
      const err = await rubygemsPublisher.yank!(ctx, opts()).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: ErrorCode.DestinationFailed, retryable, details: { status } });
      expect(everything(ctx, err)).not.toContain(KEY);
    }
  });

  test('a network failure is retryable; no key or no recorded sha256 refuses before any request', async () => {
    versions().replyWithError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' });
    await expect(rubygemsPublisher.yank!(context(), opts())).rejects.toMatchObject({
      code: ErrorCode.DestinationFailed,
      retryable: true,
      details: { reason: 'network' },
    });
    await expect(rubygemsPublisher.yank!(context({ credentials: {} }), opts())).rejects.toMatchObject({ code: ErrorCode.ConfigInvalid });
    await expect(
      rubygemsPublisher.yank!(context({ published: { version: '1.1.0', artifact: { kind: 'files', files: [] } } }), opts()),
    ).rejects.toMatchObject({ code: ErrorCode.BadInput });
  });
});

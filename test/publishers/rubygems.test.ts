import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import nock from 'nock';
import { ErrorCode } from '../../src/errors.js';
import { rubygemsPublisher } from '../../publishers/rubygems.js';
import { expectOnlyOwnEnv, PARENT_CANARIES, setParentEnv, spyOnTools } from '../support/child-env.js';
import { publishContext } from '../support/publish-context.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';
import { deliver, planDelivery } from '../../src/release/run-destinations.js';
import type { PublishContext } from '../../src/publishing/types.js';

/** The destinations runner's lifecycle of one attempt (already-present check, push, read-back) around rubygemsPublisher. */
const publish = (ctx: PublishContext, o: Record<string, unknown>) => deliver(rubygemsPublisher, ctx, o);
const plan = async (ctx: PublishContext, o: Record<string, unknown>) => ({ actions: await planDelivery(rubygemsPublisher, ctx, o, '') });

const KEY = 'rubygems_canary_3c9e7f10b2d4a6e8';
const HOST = 'https://gems.example.com';
let tmp: ReturnType<typeof makeTmpDir>;
let n = 0;

beforeAll(() => {
  requireBinary('gem', 'ruby');
  tmp = makeTmpDir('release-bot-gem-');
});
afterAll(() => tmp.cleanup());

/** A real .gem built by `gem build` from a gemspec written here; `body` varies its content. */
function buildGem(name: string, version: string, body = 'module Hello; end\n'): { file: string; bytes: Buffer; sha256: string } {
  const src = path.join(tmp.dir, `src-${(n += 1)}`);
  mkdirSync(path.join(src, 'lib'), { recursive: true });
  writeFileSync(path.join(src, 'lib', 'hello.rb'), body);
  writeFileSync(
    path.join(src, 'hello.gemspec'),
    `Gem::Specification.new do |s|\n  s.name = ${JSON.stringify(name)}\n  s.version = ${JSON.stringify(version)}\n  s.summary = 'test gem'\n  s.authors = ['release-bot']\n  s.files = ['lib/hello.rb']\n  s.license = 'MIT'\nend\n`,
  );
  execFileSync('gem', ['build', 'hello.gemspec'], {
    cwd: src,
    env: { PATH: process.env.PATH, HOME: src, SOURCE_DATE_EPOCH: '1700000000' },
    stdio: 'pipe',
  });
  const file = `${name}-${version}.gem`;
  const bytes = readFileSync(path.join(src, file));
  return { file, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

async function contextFor(gem: { file: string; bytes: Buffer }, version: string) {
  return publishContext(
    path.join(tmp.dir, `ctx-${(n += 1)}`),
    { [gem.file]: gem.bytes },
    { version, credentials: { GEM_HOST_API_KEY: KEY } },
  );
}

const opts = (host = HOST) => rubygemsPublisher.options.parse({ host, read_back_interval_ms: 5, gem_name: 'hello-rb' });
const api = () => nock(HOST, { reqheaders: { authorization: KEY, accept: 'application/json', 'user-agent': 'release-bot' } });

describe('pre-check against the RubyGems API (nock)', () => {
  test('the same sha is already-present and nothing is pushed', async () => {
    const gem = buildGem('hello-rb', '1.0.0');
    api()
      .get('/api/v1/versions/hello-rb.json')
      .twice()
      .reply(200, [
        { number: '0.9.0', platform: 'ruby', sha: 'a'.repeat(64) },
        { number: '1.0.0', platform: 'ruby', sha: gem.sha256 },
      ]);
    const ctx = await contextFor(gem, '1.0.0');
    await expect(publish(ctx, opts())).resolves.toMatchObject({
      status: 'already-present',
      readBackDigest: `sha256:${gem.sha256}`,
      location: `${HOST}/gems/hello-rb/versions/1.0.0`,
    });
    expect((await plan(ctx, opts())).actions).toEqual([`nothing: hello-rb 1.0.0 is already on ${HOST} with the same sha256`]);
    expect(ctx.progressLines).toEqual([]);
  });

  test('another sha for this version is a final conflict and nothing is pushed', async () => {
    const gem = buildGem('hello-rb', '1.1.0');
    api()
      .get('/api/v1/versions/hello-rb.json')
      .reply(200, [{ number: '1.1.0', platform: 'ruby', sha: 'b'.repeat(64) }]);
    const ctx = await contextFor(gem, '1.1.0');
    await expect(publish(ctx, opts())).rejects.toMatchObject({
      code: ErrorCode.DestinationConflict,
      retryable: false,
      message: expect.stringMatching(/already on .* with another sha256/),
    });
    expect(ctx.progressLines).toEqual([]);
  });

  test('429 and 503 are retryable, 401 is final and names the credential, the key never shows', async () => {
    const gem = buildGem('hello-rb', '1.2.0');
    const ctx = await contextFor(gem, '1.2.0');
    api().get('/api/v1/versions/hello-rb.json').reply(429, 'Too many requests', { 'Retry-After': '30' });
    await expect(publish(ctx, opts())).rejects.toMatchObject({
      code: ErrorCode.DestinationFailed,
      retryable: true,
      details: { status: 429, retryAfterSeconds: 30 },
    });
    api().get('/api/v1/versions/hello-rb.json').reply(503, 'upstream down');
    await expect(publish(ctx, opts())).rejects.toMatchObject({ retryable: true, details: { status: 503 } });
    api().get('/api/v1/versions/hello-rb.json').reply(401, `Access Denied. key ${KEY} is invalid`);
    const err = await publish(ctx, opts()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.DestinationFailed, retryable: false, details: { reason: 'auth' } });
    expect((err as Error).message).toMatch(/check the Conjur variable behind GEM_HOST_API_KEY/);
    expect((err as Error).message).not.toContain(KEY);
    expect((err as Error).message).toContain('[REDACTED]');
  });

  test('a network failure is retryable', async () => {
    const gem = buildGem('hello-rb', '1.3.0');
    api().get('/api/v1/versions/hello-rb.json').replyWithError({ code: 'ECONNRESET', message: 'socket hang up' });
    await expect(publish(await contextFor(gem, '1.3.0'), opts())).rejects.toMatchObject({
      code: ErrorCode.DestinationFailed,
      retryable: true,
      details: { reason: 'network' },
    });
  });

  test('a gem of another version, a broken gem or a missing key changes nothing', async () => {
    await expect(publish(await contextFor(buildGem('hello-rb', '2.0.0'), '2.0.1'), opts())).rejects.toMatchObject({
      code: ErrorCode.BadInput,
      message: expect.stringMatching(/holds hello-rb 2\.0\.0, but this release is version 2\.0\.1/),
    });
    await expect(
      publish(await contextFor({ file: 'broken-1.0.0.gem', bytes: Buffer.from('not a tar') }, '1.0.0'), opts()),
    ).rejects.toMatchObject({ code: ErrorCode.BadInput });
    const other = await contextFor(buildGem('crown-jewel', '2.0.0'), '2.0.0');
    await expect(rubygemsPublisher.preflight!(other, opts())).rejects.toMatchObject({
      code: ErrorCode.BadInput,
      message: expect.stringMatching(/declares the gem "crown-jewel", but this destination pushes hello-rb \(gem_name\)/),
    });
    await expect(publish(other, opts())).rejects.toMatchObject({
      code: ErrorCode.BadInput,
      details: { reason: 'wrong-package' },
    });
    // Without gem_name the project's name is the gem's.
    await expect(rubygemsPublisher.preflight!(other, rubygemsPublisher.options.parse({}))).rejects.toMatchObject({
      message: expect.stringMatching(/pushes conjur-cli \(the project name; set gem_name/),
    });
    const noKey = await publishContext(path.join(tmp.dir, 'no-key'), { 'a.gem': 'x' });
    await expect(publish(noKey, opts())).rejects.toMatchObject({
      code: ErrorCode.ConfigInvalid,
      message: expect.stringMatching(/credentials: \{ GEM_HOST_API_KEY:/),
    });
    expect(rubygemsPublisher.options.safeParse({ host: 'http://gems.example.com' }).success).toBe(false);
    expect(rubygemsPublisher.options.parse({})).toMatchObject({ host: 'https://rubygems.org' });
  });
});

interface Recorded {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: Buffer;
}

/** A loopback gem server: records every request, answers pushes as told, lists what it accepted. */
async function gemServer(
  push: { status: number; text: string; unlisted?: boolean },
  versions: Array<{ number: string; platform: string; sha: string }> = [],
) {
  const requests: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body,
      });
      if (req.method === 'POST' && req.url === '/api/v1/gems') {
        if (push.status === 200 && !push.unlisted)
          versions.push({ number: '3.0.0', platform: 'ruby', sha: createHash('sha256').update(body).digest('hex') });
        // Another run got there first with other bytes: the refusal must be judged by the sha now listed.
        if (push.status === 409) versions.push({ number: '3.0.0', platform: 'ruby', sha: 'c'.repeat(64) });
        res.writeHead(push.status, { 'Content-Type': 'text/plain' }).end(push.text);
      } else if (req.method === 'GET' && req.url === '/api/v1/versions/hello-rb.json') {
        if (versions.length === 0) res.writeHead(404).end('This rubygem could not be found.');
        else res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(versions));
      } else res.writeHead(404).end('no route');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('a real `gem push` against a loopback server', () => {
  test('pushes the gem bytes with the raw key, then reads the sha back', async () => {
    const gem = buildGem('hello-rb', '3.0.0');
    const server = await gemServer({ status: 200, text: 'Successfully registered gem: hello-rb (3.0.0)' });
    try {
      const ctx = await contextFor(gem, '3.0.0');
      const result = await publish(ctx, opts(server.url));
      expect(result).toMatchObject({
        status: 'published',
        readBackDigest: `sha256:${gem.sha256}`,
        detail: expect.stringContaining('Successfully registered gem'),
      });
      const pushes = server.requests.filter((r) => r.method === 'POST');
      expect(pushes).toHaveLength(1);
      expect(pushes[0]).toMatchObject({ url: '/api/v1/gems', authorization: KEY, contentType: 'application/octet-stream' });
      expect(pushes[0]?.body.equals(gem.bytes)).toBe(true);
      expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
        'GET /api/v1/versions/hello-rb.json',
        'POST /api/v1/gems',
        'GET /api/v1/versions/hello-rb.json',
      ]);
      expect(JSON.stringify([ctx.logLines, ctx.progressLines, result])).not.toContain(KEY);
    } finally {
      await server.close();
    }
  });

  test('gem runs with the allowlisted environment only, plus GEM_HOST_API_KEY for the push and nothing of the parent', async () => {
    const gem = buildGem('hello-rb', '3.0.0');
    const ctx = await contextFor(gem, '3.0.0');
    const server = await gemServer({ status: 200, text: 'Successfully registered gem: hello-rb (3.0.0)' });
    const spy = spyOnTools(path.join(tmp.dir, `spy-${(n += 1)}`), { gem: { real: requireBinary('gem', 'ruby') } });
    const restore = setParentEnv({ ...PARENT_CANARIES, PATH: `${spy.bin}:${process.env.PATH}` });
    try {
      await expect(publish(ctx, opts(server.url))).resolves.toMatchObject({ status: 'published' });
    } finally {
      restore();
      await server.close();
    }
    // The gem is read by release-bot itself, never by running RubyGems on it: push is the only run.
    const [push, ...more] = spy.calls('gem');
    expect([push?.argv[0], more]).toEqual(['push', []]);
    // The push gets its own key (the parent's is another value), no GEM_*/BUNDLE_* and no proxy variable.
    expectOnlyOwnEnv(push!, { GEM_HOST_API_KEY: KEY });
    expect(push?.argv.join(' ')).not.toContain(KEY);
    expect(push?.env.HOME).toBe(ctx.tmpDir);
    const configFile = push?.argv[push.argv.indexOf('--config-file') + 1] ?? '';
    expect(path.dirname(configFile)).toBe(ctx.tmpDir);
    expect(push?.argv).toEqual(expect.arrayContaining(['--host', server.url, '--no-http-proxy']));
  });

  test('a push the server never lists is retryable after the read-back attempts', async () => {
    const gem = buildGem('hello-rb', '3.0.0');
    const server = await gemServer({ status: 200, text: 'Successfully registered gem: hello-rb (3.0.0)', unlisted: true });
    try {
      await expect(publish(await contextFor(gem, '3.0.0'), opts(server.url))).rejects.toMatchObject({
        code: ErrorCode.DestinationFailed,
        retryable: true,
        message: expect.stringMatching(/does not list it yet/),
      });
      expect(server.requests.map((r) => r.method)).toEqual(['GET', 'POST', 'GET', 'GET', 'GET', 'GET', 'GET']);
    } finally {
      await server.close();
    }
  });

  test('a refused repush is a conflict when the server holds another sha', async () => {
    const gem = buildGem('hello-rb', '3.0.0', 'module Other; end\n');
    const server = await gemServer({ status: 409, text: 'Repushing of gem versions is not allowed.' });
    try {
      await expect(publish(await contextFor(gem, '3.0.0'), opts(server.url))).rejects.toMatchObject({
        code: ErrorCode.DestinationConflict,
        message: expect.stringMatching(/with another sha256/),
      });
      expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
        'GET /api/v1/versions/hello-rb.json',
        'POST /api/v1/gems',
        'GET /api/v1/versions/hello-rb.json',
      ]);
    } finally {
      await server.close();
    }
  });

  test('a rejected key is a final auth error', async () => {
    const gem = buildGem('hello-rb', '3.0.0');
    const server = await gemServer({ status: 401, text: 'Access Denied. Please sign up for an account at https://rubygems.org' });
    try {
      const err = await publish(await contextFor(gem, '3.0.0'), opts(server.url)).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: ErrorCode.DestinationFailed, retryable: false, details: { reason: 'auth' } });
      expect((err as Error).message).toMatch(/rejected the API key: check the Conjur variable behind GEM_HOST_API_KEY/);
      expect(JSON.stringify([(err as Error).message, (err as { details: unknown }).details])).not.toContain(KEY);
    } finally {
      await server.close();
    }
  });
});

import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readGemPackage } from '../src/artifact/gem-package.js';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { runCommand, tail } from '../src/exec.js';
import { definePublisher } from '../src/publishing/define-publisher.js';
import type { PublishContext } from '../src/publishing/types.js';
import { clip } from '../src/validate.js';
import { yankRubygems } from './rubygems-yank.js';
import { request, type Service } from './http.js';
import { credential } from './common/credential.js';
import { stagedFile } from './common/staged-file.js';
import { rubygemsType } from './destination-types.js';
import { type RubygemsOptions } from './rubygems/options.js';
import { registryChecks } from './common/registry-checks.js';
import { assertReleasedPackage, assertVerifiedBytes, oncePerAttempt, type PackageWords } from './common/staged-package.js';

type Options = RubygemsOptions;

const KEY = 'GEM_HOST_API_KEY';
const SERVICE: Service = { name: 'RubyGems', credential: KEY };
const GEM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const GEM_WORDS: PackageWords = { noun: 'gem', verb: 'pushes', done: 'pushed', nameOption: 'gem_name', artifact: 'gem', at: ' ' };

interface Gem {
  file: string;
  abs: string;
  sha256: string;
  name: string;
  version: string;
  platform: string;
}
export interface VersionEntry {
  number?: string;
  platform?: string;
  sha?: string;
}

/** Pushes a staged .gem with `gem push`; the server's sha (sha256) for name-version-platform must equal the staged file's. */
export const rubygemsPublisher = definePublisher<Options>({
  ...rubygemsType,
  description: 'pushes the staged .gem to a RubyGems server with an API key from Conjur',
  yank: yankRubygems,
  async preflight(ctx, opts) {
    await inspectGem(ctx, opts);
  },
  async plan(ctx, opts) {
    const gem = await inspected(ctx, opts);
    return { actions: [`gem push ${gem.file} (${label(gem)}, sha256 ${gem.sha256.slice(0, 12)}…) --host ${opts.host}`] };
  },
  async publish(ctx, opts) {
    const key = credential(ctx, 'rubygems', KEY);
    const gem = await inspected(ctx, opts);
    ctx.progress(`gem push ${gem.file}`);
    const result = await pushGem(ctx, opts, key, gem);
    const said = clip(tail(`${result.stdout}\n${result.stderr}`.replace(/^Pushing gem to .*$/m, ''), 4).replace(/\s+/g, ' '), 400);
    ctx.log.debug({ exitCode: result.exitCode, output: said }, 'gem push finished');
    if (result.exitCode !== 0) throw classifyPush(said, gem);
    return { status: 'published', ...where(opts, gem), detail: said };
  },
  ...registryChecks<Options, Gem>({
    look: async (ctx, opts) => {
      const key = credential(ctx, 'rubygems', KEY);
      const gem = await inspected(ctx, opts);
      return { pkg: gem, seen: await remoteSha(ctx, opts, key, gem) };
    },
    digest: (gem) => gem.sha256,
    present: (gem, opts) => ({ ...where(opts, gem), detail: `${label(gem)} is already on ${opts.host} with the same sha256` }),
    conflict: (gem, seen, opts) =>
      `${label(gem)} is already on ${opts.host} with another sha256 (${seen.slice(0, 12)}…, staged ${gem.sha256.slice(0, 12)}…): gem versions cannot be replaced, release a new version`,
    notYet: (gem, opts) => `${label(gem)} was pushed but ${opts.host} does not list it yet`,
    mismatch: (gem, seen, opts) =>
      `${opts.host} reports ${label(gem)} with sha256 ${seen.slice(0, 12)}… after pushing ${gem.sha256.slice(0, 12)}…: investigate the gem server before releasing again`,
  }),
});

/** The digest and place a published (or already present) gem is reported with. */
function where(opts: Options, gem: Gem): { readBackDigest: string; location: string } {
  return { readBackDigest: `sha256:${gem.sha256}`, location: `${opts.host}/gems/${gem.name}/versions/${gem.version}` };
}

/** The gem as inspectGem reads it, once per attempt. */
const inspected = oncePerAttempt(inspectGem);

/**
 * `gem push` with everything that decides where the key goes pinned: --host, an empty --config-file of
 * its own (no ~/.gemrc, no GEMRC), no proxy (--no-http-proxy, whatever http_proxy says), HOME a private
 * temp dir (no ~/.gem/credentials), no GEM_* or BUNDLE_* from the bot's environment (runCommand's allowlist).
 */
async function pushGem(ctx: PublishContext, opts: Options, key: string, gem: Gem) {
  const gemrc = path.join(ctx.tmpDir, `gemrc-${process.pid}-${Date.now()}`);
  await writeFile(gemrc, '', { mode: 0o600, flag: 'wx' });
  try {
    return await runCommand('gem', ['push', gem.abs, '--host', opts.host, '--config-file', gemrc, '--no-http-proxy'], {
      env: { [KEY]: key },
      cwd: ctx.tmpDir, // also HOME
      timeoutMs: 3600_000, // the destination's timeout aborts ctx.signal first
      signal: ctx.signal,
      redact: ctx.redact,
      okExitCodes: [1],
    });
  } finally {
    await rm(gemrc, { force: true });
  }
}

/**
 * Every version the server lists for a gem name (its versions API), or undefined on 404: the gem has no
 * version left that is not yanked. Publish and yank read it alike.
 */
export async function listedVersions(
  ctx: Parameters<typeof request>[0],
  host: string,
  key: string,
  name: string,
): Promise<VersionEntry[] | undefined> {
  const res = await request<VersionEntry[] | undefined>(ctx, SERVICE, {
    url: `${host}/api/v1/versions/${encodeURIComponent(name)}.json`,
    // RubyGems takes the raw key; private gem servers need it for reads too.
    headers: { Authorization: key, Accept: 'application/json' },
    expect: [404],
  });
  if (res.status === 404) return undefined;
  if (!Array.isArray(res.data))
    throw new ReleaseBotError(ErrorCode.DestinationFailed, `${host} answered the versions of ${name} with something that is not a list`, {
      retryable: true,
    });
  return res.data;
}

/** The sha256 the server records for this name, version and platform, or undefined when it has none. */
async function remoteSha(ctx: PublishContext, opts: Options, key: string, gem: Gem): Promise<string | undefined> {
  const listed = await listedVersions(ctx, opts.host, key, gem.name);
  if (!listed) return undefined;
  const entry = listed.find((v) => v.number === gem.version && (v.platform ?? 'ruby') === gem.platform);
  if (!entry) return undefined;
  if (typeof entry.sha !== 'string' || !/^[0-9a-f]{64}$/.test(entry.sha)) {
    throw new ReleaseBotError(
      ErrorCode.DestinationConflict,
      `${opts.host} lists ${label(gem)} without a sha256, so it cannot be compared with the staged gem: check it by hand, never overwritten`,
    );
  }
  return entry.sha;
}

/** `gem push` prints the server's answer but not its status, so the answer's words decide. */
function classifyPush(said: string, gem: Gem): ReleaseBotError {
  const what = `gem push ${label(gem)}`;
  if (/repushing|already been pushed|already exists|version already/i.test(said)) {
    return new ReleaseBotError(
      ErrorCode.DestinationConflict,
      `${what}: the server already has this version and refuses to replace it: release a new version (${said})`,
      { details: { reason: 'conflict' } },
    );
  }
  if (/\botp\b|multi-?factor|mfa/i.test(said)) {
    return new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `${what}: the server asks for a one-time password: use an API key whose account or scope does not require MFA for pushes, stored in the Conjur variable behind ${KEY} (${said})`,
      { details: { reason: 'auth' } },
    );
  }
  if (/access denied|api key|unauthori[sz]ed|forbidden|not authorized|invalid credentials/i.test(said)) {
    return new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `the gem server rejected the API key: check the Conjur variable behind ${KEY} and its push scope (${said})`,
      { details: { reason: 'auth' } },
    );
  }
  if (
    /too many requests|rate limit|\b5\d\d\b|internal server error|bad gateway|service unavailable|gateway time-?out|timed? ?out|connection (refused|reset)|getaddrinfo|Errno::|SocketError|Net::|OpenSSL::SSL/i.test(
      said,
    )
  ) {
    return new ReleaseBotError(ErrorCode.DestinationFailed, `${what} failed on the way; will retry (${said})`, {
      retryable: true,
      details: { reason: 'network' },
    });
  }
  return new ReleaseBotError(ErrorCode.DestinationFailed, `${what} was refused: ${said || 'gem printed nothing'}`, {
    details: { reason: 'rejected' },
  });
}

/**
 * Name, version and platform from the gem's own metadata.gz, read by release-bot (src/artifact/gem-package.ts),
 * never by running RubyGems on the build side's file. Refused unless it is the destination's gem_name
 * at the released version and byte for byte the staged file.
 */
async function inspectGem(ctx: PublishContext, opts: Options): Promise<Gem> {
  const file = stagedFile(ctx, 'rubygems', opts.gem, ['.gem']);
  let read;
  try {
    read = await readGemPackage(file.abs);
  } catch (err) {
    if (!(err instanceof ReleaseBotError)) throw err;
    throw new ReleaseBotError(err.code, `${file.path} is not a gem RubyGems and release-bot read alike: ${err.message}`, {
      details: err.details,
      cause: err,
    });
  }
  assertVerifiedBytes(file, read.sha256, GEM_WORDS);
  const { name, version, platform } = read;
  if (!GEM_NAME.test(name) || !version) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `${file.path} is not a gem whose specification can be read (name ${JSON.stringify(clip(name, 60))})`,
      { details: { reason: 'bad-artifact' } },
    );
  }
  assertReleasedPackage(ctx, file, read, opts.gem_name, GEM_WORDS);
  return { file: file.path, abs: file.abs, sha256: file.sha256, name, version, platform };
}

function label(gem: Gem): string {
  return `${gem.name} ${gem.version}${gem.platform === 'ruby' ? '' : ` (${gem.platform})`}`;
}

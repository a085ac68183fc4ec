import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { definePublisher } from '../src/publishing/define-publisher.js';
import type { PublishContext, PublishResult } from '../src/publishing/types.js';
import { clip } from '../src/validate.js';
import { yankHeroku } from './heroku-yank.js';
import { hashUrl, request, type HttpRequest, type HttpResponse, type Service } from './http.js';
import { credential } from './common/credential.js';
import { stagedFile } from './common/staged-file.js';
import type { Build, Release } from './heroku/api-types.js';
import { herokuType } from './destination-types.js';
import { type HerokuOptions } from './heroku/options.js';
import { sleep } from './common/wait.js';

/**
 * Heroku through the Platform API as a *source build from a tarball URL*, not a container release:
 * the release machine has no Docker daemon, and a source blob carries a checksum that Heroku checks
 * before building, which binds the build to the exact staged (verified) tarball even though Heroku
 * downloads it from the download host. The build and its release are followed until they end.
 */
type Options = HerokuOptions;

const SERVICE: Service = { name: 'Heroku', credential: 'HEROKU_API_KEY' };
const SETTLED = new Set(['succeeded', 'failed']);

interface Job {
  ctx: PublishContext;
  opts: Options;
  key: string;
  apps: string;
  checksum: string;
  sourceUrl: string;
  file: { sha256: string; size: number };
}
type Found = { kind: 'none' } | { kind: 'done'; build: Build; release: Release } | { kind: 'pending'; build: Build };

export const herokuPublisher = definePublisher<Options>({
  ...herokuType,
  description: 'deploys the staged source tarball to a Heroku app as a checksummed source build, with an API key from Conjur',
  yank: yankHeroku,
  async plan(ctx, opts) {
    const job = jobFor(ctx, opts);
    const found = await findBuild(job);
    if (found.kind === 'done')
      return {
        actions: [
          `nothing: ${opts.app} already has build ${found.build.id} of ${ctx.version} (release v${found.release.version}) with the same checksum`,
        ],
      };
    if (found.kind === 'pending')
      return { actions: [`follow the pending build ${found.build.id} of ${ctx.version} on ${opts.app} to its release`] };
    // Reported, not enforced: in a dry run the destination that uploads the tarball has not run either.
    const source = await checkSource(job).then(
      () => 'serves the staged bytes now',
      (err: unknown) => `does not serve the staged bytes yet: ${err instanceof Error ? err.message : String(err)}`,
    );
    return {
      actions: [
        `check that ${job.sourceUrl} serves sha256 ${job.file.sha256.slice(0, 12)}… (it ${source})`,
        `build ${opts.app} from ${job.sourceUrl} (checksum ${job.checksum.slice(0, 19)}…) and follow it to its release`,
      ],
    };
  },
  async publish(ctx, opts) {
    const job = jobFor(ctx, opts);
    const found = await findBuild(job);
    if (found.kind === 'done') return result(job, 'already-present', found.build, found.release);
    if (found.kind === 'none') await checkSource(job);
    const started = found.kind === 'pending' ? found.build : await createBuild(job);
    ctx.progress(`Heroku build ${started.id} of ${opts.app} ${found.kind === 'pending' ? 'resumed' : 'started'}`);
    const build = await follow(job, `builds/${started.id}`, (b: Build) => b.status);
    if (build.status !== 'succeeded' || !build.release) {
      throw new ReleaseBotError(
        ErrorCode.DestinationFailed,
        `the Heroku build ${build.id} of ${opts.app} failed (a wrong checksum, an unreachable ${clip(job.sourceUrl, 80)} or a failing buildpack): see \`heroku builds:info ${build.id} -a ${opts.app}\``,
        { details: { reason: 'build-failed', build: build.id } },
      );
    }
    // Read back: the build Heroku ran must be the one of the staged bytes.
    if (build.source_blob?.checksum !== job.checksum) {
      throw new ReleaseBotError(
        ErrorCode.DestinationFailed,
        `the Heroku build ${build.id} reports checksum ${clip(String(build.source_blob?.checksum), 30)}, expected ${clip(job.checksum, 30)}: investigate ${opts.app} before releasing again`,
      );
    }
    ctx.progress(`Heroku build ${build.id} succeeded; following its release`);
    const release = await follow(job, `releases/${build.release.id}`, (r: Release) => r.status);
    if (release.status !== 'succeeded') {
      throw new ReleaseBotError(
        ErrorCode.DestinationFailed,
        `the Heroku release v${release.version} of ${opts.app} failed (its release phase did not succeed): see \`heroku releases:output ${release.version} -a ${opts.app}\``,
        { details: { reason: 'release-failed', release: release.version } },
      );
    }
    return result(job, 'published', build, release);
  },
});

function jobFor(ctx: PublishContext, opts: Options): Job {
  const key = credential(ctx, 'heroku', SERVICE.credential);
  const file = stagedFile(ctx, 'heroku', opts.file, ['.tar.gz', '.tgz']);
  const values: Record<string, string> = {
    project: ctx.project,
    version: ctx.version,
    file: file.path.split('/').map(encodeURIComponent).join('/'),
  };
  const sourceUrl = opts.source_url.replace(/\{(project|version|file)\}/g, (_, k: string) =>
    k === 'file' ? (values.file ?? '') : encodeURIComponent(values[k] ?? ''),
  );
  return {
    ctx,
    opts,
    key,
    apps: `${opts.api_url}/apps/${opts.app}`,
    checksum: `SHA256:${file.sha256}`,
    sourceUrl,
    file: { sha256: file.sha256, size: file.size },
  };
}

/**
 * Heroku downloads source_url itself, and a build from a missing or different tarball fails for good.
 * The tarball is usually uploaded by another destination of the same release (`after:` orders them),
 * which may not be done or visible yet: so "not there" and "other bytes" are retryable here, before any
 * build exists. No credential is sent: Heroku fetches the URL anonymously, so the check must too.
 */
async function checkSource(job: Job): Promise<void> {
  const { ctx, file, sourceUrl } = job;
  const source = { name: 'the download host', credential: SERVICE.credential };
  const got = await hashUrl(ctx, source, sourceUrl, { limit: file.size });
  const where = clip(ctx.redact(sourceUrl), 120);
  const notYet = (why: string, status?: number) =>
    new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `${where} ${why}, so Heroku cannot build the staged tarball yet: the destination that uploads it (name it in \`after:\`) must finish first; will retry`,
      {
        retryable: true,
        details: { reason: 'source-not-ready', ...(status === undefined ? {} : { status }) },
      },
    );
  if (got.status === 404 || got.status === 410 || got.status === 408 || got.status === 429 || got.status >= 500)
    throw notYet(`answers ${got.status}`, got.status);
  if (got.status < 200 || got.status > 299) {
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `${where} answers ${got.status}: Heroku downloads source_url without credentials, so it must be readable anonymously; fix source_url or the download host`,
      { details: { reason: 'source-unreadable', status: got.status } },
    );
  }
  if (got.sha256 !== file.sha256)
    throw notYet(
      got.sha256 === undefined
        ? `serves more than the staged ${file.size} bytes`
        : `serves other bytes (sha256 ${got.sha256.slice(0, 12)}…, ${got.size} bytes; staged ${file.sha256.slice(0, 12)}…, ${file.size} bytes)`,
    );
}

function api<T>(job: Job, req: Omit<HttpRequest, 'headers'>, extra: Record<string, string> = {}) {
  return request<T>(job.ctx, SERVICE, {
    ...req,
    headers: { Authorization: `Bearer ${job.key}`, Accept: 'application/vnd.heroku+json; version=3', ...extra },
  });
}

/**
 * The Range the schema allows on the builds list: `id` or `started_at` (heroku/platform-api schema.json,
 * `build` link `List`, `ranges`); any other field is a 416. Newest first, the largest page Heroku serves.
 */
export const BUILDS_RANGE = 'started_at ..; max=1000, order=desc';
/** Pages of the builds list read at most (Next-Range followed): 10,000 builds, newest first. */
const MAX_BUILD_PAGES = 10;

/** Every build of the app (up to MAX_BUILD_PAGES pages), following Heroku's Next-Range. */
async function listBuilds(job: Job): Promise<Build[]> {
  const builds: Build[] = [];
  let range: string | null = BUILDS_RANGE;
  for (let page = 0; range !== null && page < MAX_BUILD_PAGES; page += 1) {
    const res: HttpResponse<Build[]> = await api<Build[]>(job, { url: `${job.apps}/builds` }, { Range: range });
    builds.push(...(Array.isArray(res.data) ? res.data : []));
    range = res.status === 206 ? res.headers.get('next-range') : null;
  }
  if (range !== null)
    job.ctx.log.warn({ app: job.opts.app, checked: builds.length }, 'heroku: only the newest builds were checked for this version');
  return builds;
}

/**
 * Asks the app before building: a build of this version with this checksum means done (or still
 * running, then it is followed); a succeeded build of this version with another checksum is a conflict.
 */
async function findBuild(job: Job): Promise<Found> {
  const ofVersion = (await listBuilds(job)).filter((b) => b.source_blob?.version === job.ctx.version);
  const other = ofVersion.find((b) => b.status === 'succeeded' && b.source_blob?.checksum !== job.checksum);
  if (other) {
    throw new ReleaseBotError(
      ErrorCode.DestinationConflict,
      `${job.opts.app} already ran build ${other.id} of ${job.ctx.version} from another tarball (${clip(String(other.source_blob?.checksum), 24)}…): not deploying different bytes under the same version; release a new version`,
    );
  }
  const same = ofVersion.filter((b) => b.source_blob?.checksum === job.checksum);
  const pending = same.find((b) => b.status === 'pending');
  if (pending) return { kind: 'pending', build: pending };
  for (const build of same.filter((b) => b.status === 'succeeded' && b.release)) {
    const release = (await api<Release>(job, { url: `${job.apps}/releases/${build.release?.id}` })).data;
    // A release that failed its release phase never went live: building again replaces nothing.
    if (release.status !== 'failed') return { kind: 'done', build, release };
  }
  return { kind: 'none' };
}

async function createBuild(job: Job): Promise<Build> {
  const { ctx } = job;
  const description = ctx.redact(
    `${ctx.project} ${ctx.version}${ctx.build.number === undefined ? '' : ` (build #${ctx.build.number})`} by release-bot`,
  );
  const res = await api<Build>(job, {
    method: 'POST',
    url: `${job.apps}/builds`,
    json: { source_blob: { url: job.sourceUrl, checksum: job.checksum, version: ctx.version, version_description: description } },
  });
  return res.data;
}

/** Polls a build or release until it settles; the destination's timeout (ctx.signal) ends the wait. */
async function follow<T extends { id: string }>(job: Job, path: string, status: (t: T) => string): Promise<T> {
  for (let polls = 0; ; polls += 1) {
    const current = (await api<T>(job, { url: `${job.apps}/${path}` })).data;
    if (SETTLED.has(status(current))) return current;
    if (polls > 0 && polls % 30 === 0) job.ctx.progress(`Heroku ${path} still ${status(current)}`);
    await sleep(job.opts.poll_interval_ms, job.ctx.signal);
  }
}

function result(job: Job, status: PublishResult['status'], build: Build, release: Release): PublishResult {
  return {
    status,
    readBackDigest: job.checksum.replace(/^SHA256:/, 'sha256:'),
    location: `https://dashboard.heroku.com/apps/${job.opts.app}/activity/builds/${build.id}`,
    detail: `release v${release.version} of ${job.opts.app}`,
  };
}

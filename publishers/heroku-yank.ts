import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import type { YankContext, YankResult } from '../src/publishing/types.js';
import { clip } from '../src/validate.js';
import { request, type HttpRequest, type Service } from './http.js';
import { credential } from './common/credential.js';
import { sleep } from './common/wait.js';
import type { Build, Release } from './heroku/api-types.js';

/** The heroku destination's options a yank reads (publishers/heroku.ts). */
export interface HerokuYankOptions {
  app: string;
  api_url: string;
  poll_interval_ms: number;
}

const SERVICE: Service = { name: 'Heroku', credential: 'HEROKU_API_KEY' };
/**
 * Newest first, as the Heroku CLI asks for releases (heroku/cli packages/cli/src/lib/releases/releases.ts,
 * `version ..; max=10, order=desc`); the schema names no ranges for this list, `version` is what the CLI uses.
 */
export const RELEASES_RANGE = 'version ..; max=1000, order=desc';
/** The build id at the end of the location publish returns (`.../activity/builds/<uuid>`). */
const BUILD_LOCATION = /\/apps\/([a-z][a-z0-9-]{1,29})\/activity\/builds\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

interface Job {
  ctx: YankContext;
  opts: HerokuYankOptions;
  key: string;
  apps: string;
}

/**
 * Rolls the app back to the release before this version's (Platform API "Release Rollback":
 * `POST /apps/{app}/releases` with `{"release": "<id>"}`, heroku/platform-api schema.json,
 * definitions.release.links), then follows the new release and reads it back as the app's current one.
 *
 * This version's release is the one of the build publish recorded (its location; the build's checksum
 * must be the recorded one). The target is the newest succeeded release older than it that runs the
 * previous version's slug (ctx.previous, found the same way; without one, any other slug): the code and
 * config that ran just before this version went live (a rollback restores both, as `heroku rollback`
 * does). Already done when the app's current release no longer runs this version's slug (rolled back,
 * or something newer deployed since).
 */
export async function yankHeroku(ctx: YankContext, opts: HerokuYankOptions): Promise<YankResult> {
  const job: Job = { ctx, opts, key: credential(ctx, 'heroku', SERVICE.credential), apps: `${opts.api_url}/apps/${opts.app}` };
  const yanked = await releaseOfVersion(job, ctx.published);
  // The version the project falls back to; a release in between may run a version yanked before.
  const previous = ctx.previous ? await releaseOfVersion(job, ctx.previous) : undefined;
  const releases = await listReleases(job);
  const current = releases.find((r) => r.current) ?? releases.find((r) => r.status === 'succeeded');
  const live = current !== undefined && (current.id === yanked.id || sameSlug(current, yanked));
  if (!live) {
    return {
      status: 'already-yanked',
      detail: `${opts.app} no longer runs ${ctx.version} (release v${yanked.version}): its current release is v${current?.version ?? '?'}${current?.description ? ` (${clip(ctx.redact(current.description), 80)})` : ''}`,
      location: dashboard(opts.app, current?.id),
    };
  }
  const target = releases.find(
    (r) => r.status === 'succeeded' && r.version < yanked.version && (previous ? sameSlug(r, previous) : !sameSlug(r, yanked)),
  );
  if (!target && previous && ctx.previous) {
    return {
      status: 'cannot-yank',
      detail: `${opts.app} has no succeeded release before v${yanked.version} (${ctx.version}) running ${ctx.previous.version} (release v${previous.version}), the version to fall back to: nothing was changed; roll back by hand with \`heroku rollback -a ${opts.app}\``,
      location: dashboard(opts.app, yanked.id),
    };
  }
  if (!target) {
    return {
      status: 'cannot-yank',
      detail: `${opts.app} has no succeeded release before v${yanked.version} (${ctx.version}) to roll back to: nothing was changed`,
      location: dashboard(opts.app, yanked.id),
    };
  }
  if (target.eligible_for_rollback === false) {
    return {
      status: 'cannot-yank',
      detail: `Heroku says release v${target.version} of ${opts.app} is not eligible for rollback: nothing was changed`,
      location: dashboard(opts.app, yanked.id),
    };
  }
  if (ctx.dryRun) {
    return {
      status: 'planned',
      detail: `would roll ${opts.app} back from v${current.version} to v${target.version}`,
      actions: [`POST ${job.apps}/releases {"release": "${target.id}"} (roll back to v${target.version})`],
    };
  }

  return rollBack(job, target);
}

/** Rolls the app back to `target`, follows the new release until it settles, and reads it back as the app's current one. */
async function rollBack(job: Job, target: Release): Promise<YankResult> {
  const { ctx, opts } = job;
  ctx.progress(`rolling ${opts.app} back to v${target.version}`);
  const started = (await api<Release>(job, { method: 'POST', url: `${job.apps}/releases`, json: { release: target.id } })).data;
  const after = await follow(job, started.id);
  if (after.status !== 'succeeded') {
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `the rollback of ${opts.app} to v${target.version} (release v${after.version}) did not succeed (${clip(after.status, 20)}): see \`heroku releases:output ${after.version} -a ${opts.app}\``,
      { details: { reason: 'release-failed', release: after.version } },
    );
  }
  // Read back: the app's current release is the rollback, running the target's slug.
  const now = (await listReleases(job, 'version ..; max=10, order=desc')).find((r) => r.current) ?? after;
  if (now.id !== after.id || (target.slug?.id !== undefined && now.slug?.id !== target.slug.id)) {
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `after the rollback ${opts.app}'s current release is v${now.version}, not the rollback v${after.version} to v${target.version}; will retry`,
      { retryable: true },
    );
  }
  return {
    status: 'yanked',
    detail: `${opts.app} rolled back to v${target.version} (new release v${after.version})`,
    location: dashboard(opts.app, after.id),
  };
}

function api<T>(job: Job, req: Omit<HttpRequest, 'headers'>, extra: Record<string, string> = {}) {
  return request<T>(job.ctx, SERVICE, {
    ...req,
    headers: { Authorization: `Bearer ${job.key}`, Accept: 'application/vnd.heroku+json; version=3', ...extra },
  });
}

/** The release that made a version live: the recorded build's, checked against the recorded checksum. */
async function releaseOfVersion(job: Job, published: YankContext['published']): Promise<Release> {
  const { opts } = job;
  const ctx = { ...job.ctx, version: published.version, published };
  const m = BUILD_LOCATION.exec(ctx.published.location ?? '');
  if (!m || m[1] !== opts.app) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `the heroku destination recorded no build of ${opts.app} for ${ctx.version} (location ${JSON.stringify(clip(ctx.published.location ?? 'none', 100))}): roll back by hand with \`heroku rollback -a ${opts.app}\``,
    );
  }
  const build = (await api<Build>(job, { url: `${job.apps}/builds/${m[2]}` })).data;
  const checksum = ctx.published.readBackDigest?.replace(/^sha256:/, 'SHA256:');
  if (!build?.release?.id || build.status !== 'succeeded' || (checksum !== undefined && build.source_blob?.checksum !== checksum)) {
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `build ${m[2]} of ${opts.app} is not the succeeded build of ${ctx.version} that was published (status ${clip(String(build?.status), 20)}, checksum ${clip(String(build?.source_blob?.checksum), 30)}): investigate before rolling back by hand`,
    );
  }
  return (await api<Release>(job, { url: `${job.apps}/releases/${build.release.id}` })).data;
}

async function listReleases(job: Job, range = RELEASES_RANGE): Promise<Release[]> {
  const res = await api<Release[]>(job, { url: `${job.apps}/releases` }, { Range: range });
  return Array.isArray(res.data) ? [...res.data].sort((a, b) => b.version - a.version) : [];
}

/** Polls the rollback's release until it settles; the destination's timeout (ctx.signal) ends the wait. */
async function follow(job: Job, id: string): Promise<Release> {
  for (;;) {
    const release = (await api<Release>(job, { url: `${job.apps}/releases/${id}` })).data;
    if (release.status !== 'pending') return release;
    await sleep(job.opts.poll_interval_ms, job.ctx.signal);
  }
}

/** Both run the same code (the same slug); unknown slugs are never the same. */
function sameSlug(a: Release, b: Release): boolean {
  return typeof a.slug?.id === 'string' && a.slug.id === b.slug?.id;
}

function dashboard(app: string, releaseId: string | undefined): string {
  return releaseId
    ? `https://dashboard.heroku.com/apps/${app}/activity/releases/${releaseId}`
    : `https://dashboard.heroku.com/apps/${app}/activity`;
}

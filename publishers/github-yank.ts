import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import type { YankContext, YankResult } from '../src/publishing/types.js';
import { clip } from '../src/validate.js';
import { markerFor } from './github.js';
import { api, findRelease, githubAccessFor } from './github/api.js';

/** The github destination's options a yank reads (publishers/github.ts). */
export interface GithubYankOptions {
  repository: string;
  api_url: string;
  tag: string;
  draft: boolean;
  delete_on_yank: boolean;
}

interface Release {
  id: number;
  tag_name: string;
  html_url: string;
  body?: string | null;
  draft?: boolean;
  prerelease?: boolean;
}
interface Job {
  ctx: YankContext;
  opts: GithubYankOptions;
  token: string;
  base: string;
  tag: string;
  marker: string;
}

/**
 * Undoes a GitHub release (REST API, github/rest-api-description descriptions/api.github.com/api.github.com.yaml,
 * `/repos/{owner}/{repo}/releases/{release_id}`: repos/get-release, repos/update-release, repos/delete-release):
 * marks it a prerelease (so it is no longer the repository's latest) with the reason prepended to its
 * notes, or deletes it with `delete_on_yank: true` (its git tag stays: a tag is not a release).
 * Read back with GET before it answers. The notes carry a marker, so a second yank changes nothing.
 */
export async function yankGithub(ctx: YankContext, opts: GithubYankOptions): Promise<YankResult> {
  const job = jobFor(ctx, opts);
  const release = await findRelease<Release>(job);
  if (!release) {
    return {
      status: 'already-yanked',
      detail: `${opts.repository} has no release ${job.tag}${opts.delete_on_yank ? ' (deleted)' : ': it was deleted; nothing to mark'}`,
    };
  }
  return opts.delete_on_yank ? deleteRelease(job, release) : markPrerelease(job, release);
}

/** With `delete_on_yank`: deletes the release (its git tag stays), then reads back that it is gone. */
async function deleteRelease(job: Job, release: Release): Promise<YankResult> {
  const { ctx, opts } = job;
  const where = `${job.base}/releases/${release.id}`;
  // Deleting is not undone by a click: only a release release-bot created for this very build is deleted.
  const built = markerFor({ project: ctx.project, version: ctx.version, artifact: ctx.published.artifact });
  if (!(release.body ?? '').includes(built)) {
    return {
      status: 'cannot-yank',
      detail: `release ${job.tag} of ${opts.repository} was not created by release-bot for the published build (its notes lack the build's marker): not deleting it; delete it by hand, or drop delete_on_yank to mark it instead`,
      location: release.html_url,
    };
  }
  if (ctx.dryRun)
    return {
      status: 'planned',
      detail: `would delete release ${job.tag} of ${opts.repository}`,
      actions: [`DELETE ${where} (release ${job.tag}; the git tag stays)`],
      location: release.html_url,
    };
  await api(job, { method: 'DELETE', url: where, expect: [404] });
  const after = await api<Release>(job, { url: where, expect: [404] });
  if (after.status !== 404)
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `release ${job.tag} of ${opts.repository} is still there after DELETE; will retry`,
      {
        retryable: true,
      },
    );
  return { status: 'yanked', detail: `release ${job.tag} of ${opts.repository} deleted (the git tag stays)` };
}

/** Marks the release a prerelease with the reason prepended to its notes, then reads it back. */
async function markPrerelease(job: Job, release: Release): Promise<YankResult> {
  const { ctx, opts } = job;
  const where = `${job.base}/releases/${release.id}`;
  const marked = isMarked(job, release);
  if (marked && release.prerelease)
    return { status: 'already-yanked', detail: `release ${job.tag} is already a prerelease marked yanked`, location: release.html_url };
  // Marked but made a full release again by hand: only the flag is set again, the notes keep one notice.
  const body = marked ? (release.body ?? '') : `${notice(job)}${release.body ?? ''}`;
  if (ctx.dryRun) {
    return {
      status: 'planned',
      detail: `would mark release ${job.tag} of ${opts.repository} as a prerelease${marked ? '' : ' with the reason in its notes'}`,
      actions: [`PATCH ${where} prerelease: true${marked ? '' : ', the reason prepended to the notes'}`],
      location: release.html_url,
    };
  }
  await api(job, { method: 'PATCH', url: where, json: { prerelease: true, body } });
  const after = (await api<Release>(job, { url: where })).data;
  if (!after?.prerelease || !isMarked(job, after)) {
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `release ${job.tag} of ${opts.repository} does not read back as a prerelease marked yanked after the update; will retry`,
      { retryable: true },
    );
  }
  return {
    status: 'yanked',
    detail: `release ${job.tag} of ${opts.repository} marked as a prerelease, the reason in its notes`,
    location: after.html_url,
  };
}

function jobFor(ctx: YankContext, opts: GithubYankOptions): Job {
  return { ctx, opts, ...githubAccessFor(ctx, opts), marker: `<!-- release-bot:yanked ${ctx.project}@${ctx.version} -->` };
}

function isMarked(job: Job, release: Release): boolean {
  return (release.body ?? '').includes(job.marker);
}

/**
 * What is prepended to the notes: the reason on one line (a newline cannot end the quote and start
 * markup of its own), shortened, with every credential value redacted, then the marker.
 */
function notice(job: Job): string {
  const reason = clip(job.ctx.redact(job.ctx.reason).replace(/\s+/g, ' ').trim(), 500);
  return `> **Yanked** by release-bot: ${reason}\n\n${job.marker}\n\n`;
}

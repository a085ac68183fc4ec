import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import type { ArtifactFile, PublishContext } from '../../src/publishing/types.js';
import { clip } from '../../src/validate.js';
import { credential } from '../common/credential.js';
import { request, type HttpRequest, type Service } from '../http.js';
import type { GithubOptions as Options } from './options.js';

export const SERVICE: Service = { name: 'GitHub', credential: 'GITHUB_TOKEN' };
export interface Asset {
  id: number;
  name: string;
  size: number;
  state: string;
  digest?: string | null;
  browser_download_url?: string;
}
export interface Release {
  id: number;
  tag_name: string;
  html_url: string;
  upload_url: string;
  body?: string | null;
  draft?: boolean;
  author?: { login?: string } | null;
}
export interface Job {
  ctx: PublishContext;
  opts: Options;
  token: string;
  base: string;
  tag: string;
  marker: string;
}
export interface Plan {
  release: Release | undefined;
  upload: Array<ArtifactFile & { name: string }>;
  present: string[];
  /** Assets GitHub showed no digest for, whose bytes were downloaded and hashed instead. */
  downloaded: string[];
  incomplete: Asset[];
}

export interface GithubAccess {
  ctx: Pick<PublishContext, 'redact' | 'signal'>;
  token: string;
  base: string;
  tag: string;
  opts: { draft: boolean };
}

/**
 * What a github destination's steps (publish, yank) reach GitHub with: the token from Conjur, the
 * repository's API base, and the release tag its `tag` option names for this version, refused unless
 * it is a valid tag.
 */
export function githubAccessFor(
  ctx: Pick<PublishContext, 'credentials' | 'project' | 'version'>,
  opts: { api_url: string; repository: string; tag: string },
): { token: string; base: string; tag: string } {
  const token = credential(ctx, 'github', SERVICE.credential);
  const tag = opts.tag.replaceAll('{version}', ctx.version).replaceAll('{project}', ctx.project);
  if (/\{|\}|\.\.|\/\/|^\/|\/$|\.lock$/.test(tag))
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `the github destination's tag ${JSON.stringify(clip(tag))} is not a valid tag: use placeholders {version} and {project} only`,
    );
  return { token, base: `${opts.api_url}/repos/${opts.repository}`, tag };
}

export function api<T>(job: GithubAccess, req: Omit<HttpRequest, 'headers'>) {
  return request<T>(job.ctx, SERVICE, {
    ...req,
    headers: { Authorization: `Bearer ${job.token}`, Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28' },
  });
}

/** Reads the release and its assets and decides every file before anything is written: a conflict means nothing was pushed. */
export async function findRelease<R extends { tag_name: string; draft?: boolean } = Release>(job: GithubAccess): Promise<R | undefined> {
  const tagPath = job.tag.split('/').map(encodeURIComponent).join('/');
  const res = await api<R>(job, { url: `${job.base}/releases/tags/${tagPath}`, expect: [404] });
  if (res.status !== 404) return res.data;
  if (!job.opts.draft) return undefined;
  // Drafts have no tag yet, so only the list shows one left by an earlier attempt.
  const list = await api<R[]>(job, { url: `${job.base}/releases?per_page=100` });
  return list.data.find((r) => r.tag_name === job.tag && r.draft);
}

export async function createRelease(job: Job): Promise<Release> {
  const { ctx, opts } = job;
  const build = ctx.build;
  const from = [
    build.number === undefined ? undefined : `build #${build.number}`,
    build.url,
    build.commit ? `commit ${build.commit}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  const body = ctx.redact(`${ctx.project} ${ctx.version}, released by release-bot${from ? ` from ${from}` : ''}.\n\n${job.marker}\n`);
  const res = await api<Release>(job, {
    method: 'POST',
    url: `${job.base}/releases`,
    json: {
      tag_name: job.tag,
      name: `${ctx.project} ${ctx.version}`,
      body,
      draft: opts.draft,
      prerelease: opts.prerelease,
      ...(build.commit ? { target_commitish: build.commit } : {}),
    },
    expect: [404, 422],
  });
  if (res.status === 404)
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `GitHub has no repository ${opts.repository} that the token behind GITHUB_TOKEN can see: check the name and the token's access (contents: write)`,
      { details: { status: 404, reason: 'auth' } },
    );
  if (res.status === 422) {
    const said = clip(ctx.redact(JSON.stringify(res.data ?? {})), 300);
    throw new ReleaseBotError(
      ErrorCode.DestinationConflict,
      `GitHub refused to create release ${job.tag} in ${opts.repository} (422): ${said}`,
      { details: { status: 422 } },
    );
  }
  return res.data;
}

export async function listAssets(job: Job, releaseId: number): Promise<Asset[]> {
  const all: Asset[] = [];
  for (let page = 1; page <= 10; page += 1) {
    const res = await api<Asset[]>(job, { url: `${job.base}/releases/${releaseId}/assets?per_page=100&page=${page}` });
    all.push(...res.data);
    if (res.data.length < 100) break;
  }
  return all;
}

/** The upload URL the API gave, with its `{?name,label}` template filled; it must be GitHub's own host, since the token goes there. */
export function uploadUrl(job: Job, release: Release, name: string): string {
  const url = new URL(release.upload_url.replace(/\{[^}]*\}$/, ''));
  const apiHost = new URL(job.opts.api_url).host;
  const trusted = url.host === apiHost || url.host === apiHost.replace(/^api\./, 'uploads.');
  if (!trusted || (url.protocol !== 'https:' && new URL(job.opts.api_url).protocol === 'https:')) {
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `GitHub gave an upload URL on ${clip(url.host, 60)}, which is not ${apiHost} or its uploads host: refusing to send the token there`,
    );
  }
  url.searchParams.set('name', name);
  return url.toString();
}

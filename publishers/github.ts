import path from 'node:path';
import { z } from 'zod';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import type { ArtifactFile, PublishContext, PublisherDefinition } from '../src/publishing/types.js';
import { clip } from '../src/validate.js';
import { credential, request, serviceUrl, type HttpRequest, type Service } from './http.js';

const options = z
  .object({
    repository: z.string().regex(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/, 'owner/name, e.g. cyberark/conjur-cli'),
    api_url: serviceUrl.default('https://api.github.com'),
    /** The release's tag; {version} and {project} are replaced. A missing tag is created at the build's commit. */
    tag: z.string().regex(/^[A-Za-z0-9{][A-Za-z0-9{}._+@/-]*$/, 'a tag template such as v{version}').default('v{version}'),
    /** Add assets to a release that release-bot did not create (an existing asset is still never replaced). */
    update_existing: z.boolean().default(false),
    draft: z.boolean().default(false),
    prerelease: z.boolean().default(false),
  })
  .strict();
type Options = z.infer<typeof options>;

const SERVICE: Service = { name: 'GitHub', credential: 'GITHUB_TOKEN' };
/** GitHub renames other characters in asset names, which would break the read-back by name. */
const ASSET_NAME = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$/;

interface Asset { id: number; name: string; size: number; state: string; digest?: string | null }
interface Release { id: number; tag_name: string; html_url: string; upload_url: string; body?: string | null; draft?: boolean }
interface Job { ctx: PublishContext; opts: Options; token: string; base: string; tag: string; marker: string }
interface Plan { release: Release | undefined; upload: Array<ArtifactFile & { name: string }>; present: string[]; incomplete: Asset[] }

/** Creates the GitHub release for the tag and uploads the staged files as assets, never replacing one. */
export const githubPublisher: PublisherDefinition<Options> = {
  type: 'github',
  description: 'creates a GitHub release for the tag and uploads the staged files as assets, with a token from Conjur',
  artifacts: ['files'],
  options,
  tools: [],
  async plan(ctx, opts) {
    const job = jobFor(ctx, opts);
    const p = await inspect(job);
    const actions = p.release ? [] : [`create release ${job.tag} in ${opts.repository}${opts.draft ? ' (draft)' : ''}`];
    actions.push(...p.incomplete.map((a) => `remove the incomplete upload ${a.name}`));
    actions.push(...p.upload.map((f) => `upload ${f.name} (${f.size} bytes, sha256 ${f.sha256.slice(0, 12)}…)`));
    actions.push(...p.present.map((name) => `skip ${name}: already uploaded with the same digest`));
    return { actions };
  },
  async publish(ctx, opts) {
    const job = jobFor(ctx, opts);
    const p = await inspect(job);
    if (p.release && p.upload.length === 0) return { status: 'already-present', location: p.release.html_url, detail: `${p.present.length} asset(s) already on ${job.tag}` };
    const release = p.release ?? (await createRelease(job));
    for (const asset of p.incomplete) await api(job, { method: 'DELETE', url: `${job.base}/releases/assets/${asset.id}`, expect: [404] });
    let n = 0;
    for (const file of p.upload) {
      ctx.progress(`uploading ${file.name} (${(n += 1)} of ${p.upload.length})`);
      await api(job, { method: 'POST', url: uploadUrl(job, release, file.name), file: { path: path.join(ctx.dir, file.path), size: file.size, contentType: 'application/octet-stream' } });
    }
    const assets = await listAssets(job, release.id);
    let unverified = 0;
    for (const file of [...p.upload, ...p.present.map((name) => ({ ...byName(ctx, name), name }))]) {
      const seen = assets.find((a) => a.name === file.name);
      if (!seen || seen.state !== 'uploaded') throw new ReleaseBotError(ErrorCode.DestinationFailed, `${file.name} is not listed as uploaded on ${job.tag} after the upload; the retry will finish it`, { retryable: true });
      if (seen.size !== file.size || (seen.digest && seen.digest !== `sha256:${file.sha256}`)) {
        throw new ReleaseBotError(ErrorCode.DestinationFailed, `${file.name} on ${job.tag} reads back as ${seen.size} bytes ${seen.digest ?? ''}, expected ${file.size} bytes sha256:${file.sha256.slice(0, 12)}…: investigate the release before retrying`);
      }
      if (!seen.digest) unverified += 1;
    }
    const detail = `${p.upload.length} asset(s) uploaded, ${p.present.length} already there${unverified ? `, ${unverified} checked by size only (GitHub showed no digest)` : ''}`;
    return { status: 'published', location: release.html_url, detail };
  },
};

function jobFor(ctx: PublishContext, opts: Options): Job {
  const token = credential(ctx, 'github', SERVICE.credential);
  const tag = opts.tag.replaceAll('{version}', ctx.version).replaceAll('{project}', ctx.project);
  if (/\{|\}|\.\.|\/\/|^\/|\/$|\.lock$/.test(tag)) throw new ReleaseBotError(ErrorCode.BadInput, `the github destination's tag ${JSON.stringify(clip(tag))} is not a valid tag: use placeholders {version} and {project} only`);
  return { ctx, opts, token, base: `${opts.api_url}/repos/${opts.repository}`, tag, marker: `<!-- release-bot:${ctx.project}@${ctx.version} -->` };
}

function api<T>(job: Job, req: Omit<HttpRequest, 'headers'>) {
  return request<T>(job.ctx, SERVICE, {
    ...req,
    headers: { Authorization: `Bearer ${job.token}`, Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28' },
  });
}

/** Reads the release and its assets and decides every file before anything is written: a conflict means nothing was pushed. */
async function inspect(job: Job): Promise<Plan> {
  const { ctx, opts } = job;
  if (ctx.artifact.kind !== 'files') throw new ReleaseBotError(ErrorCode.BadInput, 'a github destination publishes staged files, not a docker image');
  const files = ctx.artifact.files.map((f) => ({ ...f, name: path.posix.basename(f.path) }));
  for (const f of files) {
    if (!ASSET_NAME.test(f.name)) throw new ReleaseBotError(ErrorCode.BadInput, `${clip(f.path)}: GitHub would rename this asset; use letters, digits, ".", "_", "+" and "-" in staged file names`);
    if (files.filter((g) => g.name === f.name).length > 1) throw new ReleaseBotError(ErrorCode.BadInput, `two staged files are named ${f.name}: release assets are flat, so names must be unique`);
  }
  const release = await findRelease(job);
  if (release && !release.body?.includes(job.marker) && !opts.update_existing) {
    throw new ReleaseBotError(ErrorCode.DestinationConflict, `${opts.repository} already has a release ${job.tag} that release-bot did not create: set \`update_existing: true\` on the destination to add the assets to it, or delete that release`);
  }
  const assets = release ? await listAssets(job, release.id) : [];
  const plan: Plan = { release, upload: [], present: [], incomplete: [] };
  for (const file of files) {
    const asset = assets.find((a) => a.name === file.name);
    if (!asset) plan.upload.push(file);
    else if (asset.state === 'starter' && release?.body?.includes(job.marker)) {
      // An upload of ours that broke off: never downloadable, so redoing it replaces nothing anyone has.
      plan.incomplete.push(asset);
      plan.upload.push(file);
    } else if (asset.state === 'uploaded' && asset.digest === `sha256:${file.sha256}`) plan.present.push(file.name);
    else {
      const why = asset.digest ? `another digest (${clip(asset.digest, 20)})` : `no digest GitHub can show (state ${asset.state})`;
      throw new ReleaseBotError(ErrorCode.DestinationConflict, `${job.tag} in ${opts.repository} already has an asset ${file.name} with ${why}: not replacing it; delete it by hand if it is wrong`);
    }
  }
  return plan;
}

async function findRelease(job: Job): Promise<Release | undefined> {
  const tagPath = job.tag.split('/').map(encodeURIComponent).join('/');
  const res = await api<Release>(job, { url: `${job.base}/releases/tags/${tagPath}`, expect: [404] });
  if (res.status !== 404) return res.data;
  if (!job.opts.draft) return undefined;
  // Drafts have no tag yet, so only the list shows one left by an earlier attempt.
  const list = await api<Release[]>(job, { url: `${job.base}/releases?per_page=100` });
  return list.data.find((r) => r.tag_name === job.tag && r.draft);
}

async function createRelease(job: Job): Promise<Release> {
  const { ctx, opts } = job;
  const build = ctx.build;
  const from = [build.number === undefined ? undefined : `build #${build.number}`, build.url, build.commit ? `commit ${build.commit}` : undefined].filter(Boolean).join(', ');
  const body = ctx.redact(`${ctx.project} ${ctx.version}, released by release-bot${from ? ` from ${from}` : ''}.\n\n${job.marker}\n`);
  const res = await api<Release>(job, {
    method: 'POST',
    url: `${job.base}/releases`,
    json: { tag_name: job.tag, name: `${ctx.project} ${ctx.version}`, body, draft: opts.draft, prerelease: opts.prerelease, ...(build.commit ? { target_commitish: build.commit } : {}) },
    expect: [404, 422],
  });
  if (res.status === 404) throw new ReleaseBotError(ErrorCode.DestinationFailed, `GitHub has no repository ${opts.repository} that the token behind GITHUB_TOKEN can see: check the name and the token's access (contents: write)`, { details: { status: 404, reason: 'auth' } });
  if (res.status === 422) {
    const said = clip(ctx.redact(JSON.stringify(res.data ?? {})), 300);
    throw new ReleaseBotError(ErrorCode.DestinationConflict, `GitHub refused to create release ${job.tag} in ${opts.repository} (422): ${said}`, { details: { status: 422 } });
  }
  return res.data;
}

async function listAssets(job: Job, releaseId: number): Promise<Asset[]> {
  const all: Asset[] = [];
  for (let page = 1; page <= 10; page += 1) {
    const res = await api<Asset[]>(job, { url: `${job.base}/releases/${releaseId}/assets?per_page=100&page=${page}` });
    all.push(...res.data);
    if (res.data.length < 100) break;
  }
  return all;
}

/** The upload URL the API gave, with its `{?name,label}` template filled; it must be GitHub's own host, since the token goes there. */
function uploadUrl(job: Job, release: Release, name: string): string {
  const url = new URL(release.upload_url.replace(/\{[^}]*\}$/, ''));
  const apiHost = new URL(job.opts.api_url).host;
  const trusted = url.host === apiHost || url.host === apiHost.replace(/^api\./, 'uploads.');
  if (!trusted || (url.protocol !== 'https:' && new URL(job.opts.api_url).protocol === 'https:')) {
    throw new ReleaseBotError(ErrorCode.DestinationFailed, `GitHub gave an upload URL on ${clip(url.host, 60)}, which is not ${apiHost} or its uploads host: refusing to send the token there`);
  }
  url.searchParams.set('name', name);
  return url.toString();
}

function byName(ctx: PublishContext, name: string): ArtifactFile {
  const files = ctx.artifact.kind === 'files' ? ctx.artifact.files : [];
  return files.find((f) => path.posix.basename(f.path) === name) as ArtifactFile;
}

import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { definePublisher } from '../src/publishing/define-publisher.js';
import type { ArtifactFile, PublishContext } from '../src/publishing/types.js';
import { clip } from '../src/validate.js';
import { yankGithub } from './github-yank.js';
import { credential, hashUrl, httpError, request, serviceUrl, type HttpRequest, type Service } from './http.js';

const options = z
  .object({
    repository: z.string().regex(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/, 'owner/name, e.g. cyberark/conjur-cli'),
    api_url: serviceUrl.default('https://api.github.com'),
    /** The release's tag; {version} and {project} are replaced. A missing tag is created at the build's commit. */
    tag: z
      .string()
      .regex(/^[A-Za-z0-9{][A-Za-z0-9{}._+@/-]*$/, 'a tag template such as v{version}')
      .default('v{version}'),
    /** Add assets to a release that release-bot did not create (an existing asset is still never replaced). */
    update_existing: z.boolean().default(false),
    draft: z.boolean().default(false),
    prerelease: z.boolean().default(false),
    /** On a yank, delete the release (its git tag stays) instead of marking it a prerelease with the reason. */
    delete_on_yank: z.boolean().default(false),
  })
  .strict();
type Options = z.infer<typeof options>;

const SERVICE: Service = { name: 'GitHub', credential: 'GITHUB_TOKEN' };
/** GitHub renames other characters in asset names, which would break the read-back by name. */
const ASSET_NAME = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$/;

interface Asset {
  id: number;
  name: string;
  size: number;
  state: string;
  digest?: string | null;
  browser_download_url?: string;
}
interface Release {
  id: number;
  tag_name: string;
  html_url: string;
  upload_url: string;
  body?: string | null;
  draft?: boolean;
  author?: { login?: string } | null;
}
interface Job {
  ctx: PublishContext;
  opts: Options;
  token: string;
  base: string;
  tag: string;
  marker: string;
}
interface Plan {
  release: Release | undefined;
  upload: Array<ArtifactFile & { name: string }>;
  present: string[];
  /** Assets GitHub showed no digest for, whose bytes were downloaded and hashed instead. */
  downloaded: string[];
  incomplete: Asset[];
}

/** Creates the GitHub release for the tag and uploads the staged files as assets, never replacing one. */
export const githubPublisher = definePublisher<Options>({
  type: 'github',
  description: 'creates a GitHub release for the tag and uploads the staged files as assets, with a token from Conjur',
  artifacts: ['files'],
  options,
  tools: [],
  yank: yankGithub,
  async plan(ctx, opts) {
    const job = jobFor(ctx, opts);
    const p = await inspect(job);
    const actions = p.release ? [] : [`create release ${job.tag} in ${opts.repository}${opts.draft ? ' (draft)' : ''}`];
    actions.push(...p.incomplete.map((a) => `remove the incomplete upload ${a.name}`));
    actions.push(...p.upload.map((f) => `upload ${f.name} (${f.size} bytes, sha256 ${f.sha256.slice(0, 12)}…)`));
    actions.push(
      ...p.present.map(
        (name) =>
          `skip ${name}: already uploaded with the same ${p.downloaded.includes(name) ? 'sha256 (downloaded: GitHub showed no digest)' : 'digest'}`,
      ),
    );
    return { actions };
  },
  async publish(ctx, opts) {
    const job = jobFor(ctx, opts);
    const p = await inspect(job);
    if (p.release && p.upload.length === 0)
      return { status: 'already-present', location: p.release.html_url, detail: `${p.present.length} asset(s) already on ${job.tag}` };
    const release = p.release ?? (await createRelease(job));
    for (const asset of p.incomplete) await api(job, { method: 'DELETE', url: `${job.base}/releases/assets/${asset.id}`, expect: [404] });
    let n = 0;
    for (const file of p.upload) {
      ctx.progress(`uploading ${file.name} (${(n += 1)} of ${p.upload.length})`);
      await api(job, {
        method: 'POST',
        url: uploadUrl(job, release, file.name),
        file: { path: path.join(ctx.dir, file.path), size: file.size, contentType: 'application/octet-stream' },
      });
    }
    const assets = await listAssets(job, release.id);
    const downloaded = new Set(p.downloaded);
    for (const file of [...p.upload, ...p.present.map((name) => ({ ...byName(ctx, name), name }))]) {
      const seen = assets.find((a) => a.name === file.name);
      if (!seen || seen.state !== 'uploaded')
        throw new ReleaseBotError(
          ErrorCode.DestinationFailed,
          `${file.name} is not listed as uploaded on ${job.tag} after the upload; the retry will finish it`,
          { retryable: true },
        );
      const mismatch = () =>
        new ReleaseBotError(
          ErrorCode.DestinationFailed,
          `${file.name} on ${job.tag} reads back as ${seen.size} bytes ${seen.digest ?? ''}, expected ${file.size} bytes sha256:${file.sha256.slice(0, 12)}…: investigate the release before retrying`,
        );
      if (seen.size !== file.size || (seen.digest && seen.digest !== `sha256:${file.sha256}`)) throw mismatch();
      // Older assets and GitHub Enterprise Server show no digest: then the bytes GitHub serves are the read-back.
      if (!seen.digest && !downloaded.has(file.name)) {
        if ((await downloadSha256(job, seen, file.size)) !== file.sha256) throw mismatch();
        downloaded.add(file.name);
      }
    }
    const detail = `${p.upload.length} asset(s) uploaded, ${p.present.length} already there${downloaded.size ? `, ${downloaded.size} checked by downloading (GitHub showed no digest)` : ''}`;
    return { status: 'published', location: release.html_url, detail };
  },
  /**
   * The attestation as one more asset of the release `publish` just made or checked, with the same
   * care as the files: never replacing an asset, an unfinished upload of ours redone, the digest read back.
   */
  async attest(ctx, opts, att) {
    const job = jobFor(ctx, opts);
    const name = path.posix.basename(att.fileName);
    if (!ASSET_NAME.test(name))
      throw new ReleaseBotError(
        ErrorCode.BadInput,
        `${clip(name)}: GitHub would rename this asset; use letters, digits, ".", "_", "+" and "-" in staged file names`,
      );
    const release = await findRelease(job);
    if (!release)
      throw new ReleaseBotError(
        ErrorCode.DestinationFailed,
        `release ${job.tag} is not found on ${opts.repository} right after publishing: the retry will attest it`,
        { retryable: true },
      );
    const ours = async (asset: Asset | undefined) =>
      asset?.state === 'uploaded' &&
      asset.size === att.envelope.length &&
      (asset.digest ? asset.digest === `sha256:${att.digest}` : (await downloadSha256(job, asset, asset.size)) === att.digest);
    const existing = (await listAssets(job, release.id)).find((a) => a.name === name);
    if (existing && (await ours(existing))) return { location: existing.browser_download_url ?? release.html_url };
    if (existing && existing.state !== 'starter') {
      throw new ReleaseBotError(
        ErrorCode.DestinationConflict,
        `${job.tag} in ${opts.repository} already has an asset ${name} that is not this attestation: not replacing it; delete it by hand if it is wrong`,
      );
    }
    if (existing) await api(job, { method: 'DELETE', url: `${job.base}/releases/assets/${existing.id}`, expect: [404] });
    const file = path.join(ctx.tmpDir, `attestation-${att.digest.slice(0, 16)}.intoto.jsonl`);
    await writeFile(file, att.envelope, { mode: 0o600 });
    await api(job, {
      method: 'POST',
      url: uploadUrl(job, release, name),
      file: { path: file, size: att.envelope.length, contentType: 'application/octet-stream' },
    });
    const seen = (await listAssets(job, release.id)).find((a) => a.name === name);
    if (!(await ours(seen)))
      throw new ReleaseBotError(
        ErrorCode.DestinationFailed,
        `${name} on ${job.tag} does not read back as the attestation uploaded (${seen ? `${seen.size} bytes ${seen.digest ?? ''}` : 'not listed'}): the retry will finish it`,
        { retryable: true },
      );
    return { location: seen?.browser_download_url ?? release.html_url };
  },
});

function jobFor(ctx: PublishContext, opts: Options): Job {
  const token = credential(ctx, 'github', SERVICE.credential);
  const tag = opts.tag.replaceAll('{version}', ctx.version).replaceAll('{project}', ctx.project);
  if (/\{|\}|\.\.|\/\/|^\/|\/$|\.lock$/.test(tag))
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `the github destination's tag ${JSON.stringify(clip(tag))} is not a valid tag: use placeholders {version} and {project} only`,
    );
  return { ctx, opts, token, base: `${opts.api_url}/repos/${opts.repository}`, tag, marker: markerFor(ctx) };
}

/**
 * What release-bot writes into the body of a release it creates: the project, the version and one
 * digest over every staged file (sha256sum lines, sorted), so the marker of one build never matches
 * another build's release. It is only a claim, since anyone who can edit the release can copy it:
 * `ownership` also requires the release's author to be the token's own user.
 */
export function markerFor(ctx: Pick<PublishContext, 'artifact' | 'project' | 'version'>): string {
  const files = ctx.artifact.kind === 'files' ? ctx.artifact.files : [];
  const lines = files
    .map((f) => `${f.sha256}  ${f.path}\n`)
    .sort()
    .join('');
  return `<!-- release-bot:${ctx.project}@${ctx.version} files-sha256:${createHash('sha256').update(lines).digest('hex')} -->`;
}

/** What a GitHub API call needs, for a publish and a yank alike: the step's context, the token, the repository's API base. */
export interface GithubAccess {
  ctx: Pick<PublishContext, 'redact' | 'signal'>;
  token: string;
  base: string;
  tag: string;
  opts: { draft: boolean };
}

export function api<T>(job: GithubAccess, req: Omit<HttpRequest, 'headers'>) {
  return request<T>(job.ctx, SERVICE, {
    ...req,
    headers: { Authorization: `Bearer ${job.token}`, Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28' },
  });
}

/** Reads the release and its assets and decides every file before anything is written: a conflict means nothing was pushed. */
async function inspect(job: Job): Promise<Plan> {
  const { ctx, opts } = job;
  if (ctx.artifact.kind !== 'files')
    throw new ReleaseBotError(ErrorCode.BadInput, 'a github destination publishes staged files, not a docker image');
  const files = ctx.artifact.files.map((f) => ({ ...f, name: path.posix.basename(f.path) }));
  for (const f of files) {
    if (!ASSET_NAME.test(f.name))
      throw new ReleaseBotError(
        ErrorCode.BadInput,
        `${clip(f.path)}: GitHub would rename this asset; use letters, digits, ".", "_", "+" and "-" in staged file names`,
      );
    if (files.filter((g) => g.name === f.name).length > 1)
      throw new ReleaseBotError(
        ErrorCode.BadInput,
        `two staged files are named ${f.name}: release assets are flat, so names must be unique`,
      );
  }
  const release = await findRelease(job);
  const owner = release ? await ownership(job, release) : { ours: false, why: '' };
  if (release && !owner.ours && !opts.update_existing) {
    throw new ReleaseBotError(
      ErrorCode.DestinationConflict,
      `${opts.repository} already has a release ${job.tag} that release-bot did not create for this build (${owner.why}): set \`update_existing: true\` on the destination to add the assets to it, or delete that release`,
    );
  }
  const assets = release ? await listAssets(job, release.id) : [];
  const plan: Plan = { release, upload: [], present: [], downloaded: [], incomplete: [] };
  for (const file of files) {
    const asset = assets.find((a) => a.name === file.name);
    if (!asset) plan.upload.push(file);
    else if (asset.state === 'starter' && owner.ours) {
      // An upload of ours that broke off: never downloadable, so redoing it replaces nothing anyone has.
      plan.incomplete.push(asset);
      plan.upload.push(file);
    } else if (asset.state === 'uploaded' && asset.digest === `sha256:${file.sha256}`) plan.present.push(file.name);
    else if (
      asset.state === 'uploaded' &&
      !asset.digest &&
      asset.size === file.size &&
      (await downloadSha256(job, asset, file.size)) === file.sha256
    ) {
      plan.present.push(file.name);
      plan.downloaded.push(file.name);
    } else {
      const why = asset.digest
        ? `another digest (${clip(asset.digest, 20)})`
        : asset.state === 'uploaded'
          ? `other bytes (${asset.size} bytes, checked by downloading it)`
          : `an unfinished upload of someone else's (state ${asset.state})`;
      throw new ReleaseBotError(
        ErrorCode.DestinationConflict,
        `${job.tag} in ${opts.repository} already has an asset ${file.name} with ${why}: not replacing it; delete it by hand if it is wrong`,
      );
    }
  }
  return plan;
}

/**
 * A release counts as release-bot's own only when its body carries this build's marker AND its author
 * is the user the token belongs to (`GET /user`): the marker alone is text anyone with write access can
 * paste into a release, and treating their release as ours would add our assets to it, or delete its
 * unfinished uploads, without `update_existing`.
 */
async function ownership(job: Job, release: Release): Promise<{ ours: boolean; why: string }> {
  if (!release.body?.includes(job.marker)) return { ours: false, why: 'its body has no release-bot marker for this build' };
  const me = await api<{ login?: string } | undefined>(job, { url: `${job.opts.api_url}/user`, expect: [403, 404] });
  const login = me.status === 200 ? me.data?.login : undefined;
  // A GitHub App installation token has no user (403): its releases cannot be told from anyone else's.
  if (!login)
    return { ours: false, why: `GET /user answered ${me.status} without a login, so the token's own releases cannot be recognised` };
  const author = release.author?.login;
  if (author !== login)
    return {
      ours: false,
      why: `it carries the marker, but its author is ${clip(String(author ?? 'unknown'), 40)}, not ${clip(login, 40)} whose token release-bot uses`,
    };
  return { ours: true, why: '' };
}

/**
 * The sha256 of an asset's bytes as GitHub serves them (`undefined` when there are more than `size`),
 * for assets without a digest. The API answers 200 with the bytes or 302 to a pre-signed download URL
 * on another host: the redirect is followed by hand so the token is never sent there.
 */
async function downloadSha256(job: Job, asset: Asset, size: number): Promise<string | undefined> {
  const { ctx } = job;
  const url = `${job.base}/releases/assets/${asset.id}`;
  const headers = { Authorization: `Bearer ${job.token}`, Accept: 'application/octet-stream', 'X-GitHub-Api-Version': '2022-11-28' };
  let got = await hashUrl(ctx, SERVICE, url, { headers, limit: size, redirect: 'manual' });
  const location = got.headers.get('location');
  if (got.status >= 300 && got.status < 400 && location) {
    const target = new URL(location, url);
    if (target.protocol !== 'https:' && new URL(job.opts.api_url).protocol === 'https:') {
      throw new ReleaseBotError(
        ErrorCode.DestinationFailed,
        `GitHub redirected the download of ${asset.name} to a plain-http URL on ${clip(target.host, 60)}: refusing to read back over it`,
      );
    }
    got = await hashUrl(ctx, SERVICE, target.toString(), { limit: size });
  }
  if (got.status < 200 || got.status > 299)
    throw httpError(ctx, SERVICE, `GET ${ctx.redact(new URL(url).pathname)} (download of ${asset.name})`, got.status, got.headers, '');
  return got.sha256;
}

/** The release of the tag; a draft (which has no tag yet) only through the list. Publish and yank find it alike. */
export async function findRelease<R extends { tag_name: string; draft?: boolean } = Release>(job: GithubAccess): Promise<R | undefined> {
  const tagPath = job.tag.split('/').map(encodeURIComponent).join('/');
  const res = await api<R>(job, { url: `${job.base}/releases/tags/${tagPath}`, expect: [404] });
  if (res.status !== 404) return res.data;
  if (!job.opts.draft) return undefined;
  // Drafts have no tag yet, so only the list shows one left by an earlier attempt.
  const list = await api<R[]>(job, { url: `${job.base}/releases?per_page=100` });
  return list.data.find((r) => r.tag_name === job.tag && r.draft);
}

async function createRelease(job: Job): Promise<Release> {
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
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `GitHub gave an upload URL on ${clip(url.host, 60)}, which is not ${apiHost} or its uploads host: refusing to send the token there`,
    );
  }
  url.searchParams.set('name', name);
  return url.toString();
}

function byName(ctx: PublishContext, name: string): ArtifactFile {
  const files = ctx.artifact.kind === 'files' ? ctx.artifact.files : [];
  return files.find((f) => path.posix.basename(f.path) === name) as ArtifactFile;
}

import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { definePublisher } from '../src/publishing/define-publisher.js';
import type { ArtifactFile, PublishContext } from '../src/publishing/types.js';
import { clip } from '../src/validate.js';
import { api, createRelease, findRelease, githubAccessFor, listAssets, uploadUrl, type Asset, type Job, type Plan } from './github/api.js';
import { ASSET_NAME, downloadSha256, inspect } from './github/inspect.js';
import { githubType } from './destination-types.js';
import { type GithubOptions as Options } from './github/options.js';
import { yankGithub } from './github-yank.js';

export { api, findRelease, type GithubAccess } from './github/api.js';

/** Creates the GitHub release for the tag and uploads the staged files as assets, never replacing one. */
export const githubPublisher = definePublisher<Options>({
  ...githubType,
  description: 'creates a GitHub release for the tag and uploads the staged files as assets, with a token from Conjur',
  yank: yankGithub,
  async plan(ctx, opts) {
    const { job, p } = await inspected(ctx, opts);
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
    const { job, p } = await inspected(ctx, opts);
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

/** The job of this release on this destination, and what GitHub holds of it (what to create, upload, skip). */
async function inspected(ctx: PublishContext, opts: Options): Promise<{ job: Job; p: Plan }> {
  const job = jobFor(ctx, opts);
  return { job, p: await inspect(job) };
}

function jobFor(ctx: PublishContext, opts: Options): Job {
  return { ctx, opts, ...githubAccessFor(ctx, opts), marker: markerFor(ctx) };
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
function byName(ctx: PublishContext, name: string): ArtifactFile {
  const files = ctx.artifact.kind === 'files' ? ctx.artifact.files : [];
  return files.find((f) => path.posix.basename(f.path) === name) as ArtifactFile;
}

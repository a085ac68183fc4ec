import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { clip } from '../../src/validate.js';
import { hashUrl, httpError } from '../http.js';
import { api, findRelease, listAssets, SERVICE, type Asset, type Job, type Plan, type Release } from './api.js';

/** GitHub renames other characters in asset names, which would break the read-back by name. */
export const ASSET_NAME = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$/;
export async function inspect(job: Job): Promise<Plan> {
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
export async function downloadSha256(job: Job, asset: Asset, size: number): Promise<string | undefined> {
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

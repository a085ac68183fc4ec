import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import type { PublishedRecord, YankContext, YankResult } from '../src/publishing/types.js';
import { Redactor } from '../src/redact.js';
import { MANIFEST_DIGEST, SkopeoError, copyImage, deleteImage, parseRepository, writeAuthFile } from '../src/staging/skopeo.js';
import { clip } from '../src/validate.js';
import { credentialPair, destinationError, PASSWORD, USERNAME } from './docker/session.js';
import { otherTagsOn } from './docker/yank-shared-tags.js';
import { digestAt } from './docker-tags.js';
import { RegistryClient } from './oci-registry.js';

/** The docker destination's options a yank reads (publishers/docker.ts). */
export interface DockerYankOptions {
  repository: string;
  tls_verify: boolean;
  tags: readonly string[];
  latest: boolean;
  delete_version_tag: boolean;
}

interface Access {
  repository: string;
  /** The destination registry's HTTP API, for what a tag or digest resolves to: no skopeo process for a question. */
  client: RegistryClient;
  tlsVerify: boolean;
  authFile?: string;
  redact: (text: string) => string;
  signal: AbortSignal;
  tmpDir: string;
}

/**
 * Undoes a docker release: every floating tag of the destination (`latest` with `latest: true`,
 * and a `tags` entry without a placeholder) that still points at the yanked digest is copied back, by digest
 * and within the destination repository, to the previous version's image; with
 * `delete_version_tag` the yanked manifest is then deleted, which removes the tags that name the
 * version, unless another tag (another version's, or one set by hand) is on the same manifest: then
 * the manifest stays and the answer is `cannot-yank`. Read back (a registry HEAD per tag, no skopeo process) before it answers.
 *
 * Tags with `{version}` or `{build}` name this build and stay: pointing `4.2.0-build.7` at 4.1.0's
 * image would make a version's own tag serve another version. Without a previous version (or when
 * its image is not in the repository) nothing is touched and the answer is `cannot-yank`: a
 * distribution registry cannot delete one tag (only a manifest with every tag on it), and deleting
 * `latest` with the version's image would leave pulls of `latest` failing rather than safe.
 */
export async function yankDocker(ctx: YankContext, opts: DockerYankOptions): Promise<YankResult> {
  const yanked = digestOf(ctx.published, 'yanked');
  const previous = ctx.previous ? digestOf(ctx.previous, 'previous') : undefined;
  const floating = [...new Set([...opts.tags.filter((t) => !t.includes('{')), ...(opts.latest ? ['latest'] : [])])];
  const access = await openAccess(ctx, opts);
  try {
    const moving: string[] = [];
    for (const tag of floating) {
      if ((await digestAt(access.client, tag)) === yanked) moving.push(tag);
    }
    const manifestPresent = opts.delete_version_tag && (await digestAt(access.client, yanked)) !== undefined;
    const plan: YankPlan = { repo: opts.repository, yanked, previous, floating, moving, manifestPresent };
    const unchanged = await answerWithoutChange(ctx, opts, access.client, plan);
    if (unchanged) return unchanged;
    if (ctx.dryRun) return planned(ctx, plan);

    for (const [i, tag] of moving.entries()) {
      if (previous === undefined) break; // checked above: moving tags needs a previous image
      ctx.progress(`moving ${plan.repo}:${tag} back to ${ctx.previous?.version} (${i + 1} of ${moving.length})`);
      await move(access, previous, tag);
    }
    const shared = manifestPresent ? await otherTagsOn(ctx, opts, access.client, yanked) : undefined;
    const refused = manifestPresent ? (shared ?? (await deleteManifest(access, yanked))) : undefined;
    return await readBack(ctx, access.client, plan, refused);
  } finally {
    await access.cleanup();
  }
}

/** What the registry holds before the yank: the floating tags still on the yanked image, and whether its manifest is there. */
interface YankPlan {
  repo: string;
  yanked: string;
  previous: string | undefined;
  floating: string[];
  moving: string[];
  manifestPresent: boolean;
}

/** The answers that change nothing: already yanked, or no earlier image the tags could safely move back to. */
async function answerWithoutChange(
  ctx: YankContext,
  opts: DockerYankOptions,
  client: RegistryClient,
  { repo, yanked, previous, floating, moving, manifestPresent }: YankPlan,
): Promise<YankResult | undefined> {
  if (moving.length === 0 && !manifestPresent) {
    const kept = opts.delete_version_tag
      ? `${yanked.slice(0, 19)}… is deleted from ${repo}`
      : `version tags stay on ${yanked.slice(0, 19)}…`;
    return {
      status: 'already-yanked',
      detail: `no floating tag of ${repo} points at ${ctx.version}'s image (${floating.join(', ') || 'none configured'}); ${kept}`,
      location: repo,
    };
  }
  if (previous === yanked) {
    return {
      status: 'cannot-yank',
      detail: `the previous version ${ctx.previous?.version} has the same image ${yanked.slice(0, 19)}…: there is nothing to move back to, and deleting it would delete that version too; nothing was changed`,
      location: repo,
    };
  }
  if (moving.length > 0 && previous === undefined) {
    return {
      status: 'cannot-yank',
      detail: `${tagList(repo, moving)} still point${moving.length === 1 ? 's' : ''} at ${ctx.version}'s image and there is no earlier released version of ${ctx.project} to move ${moving.length === 1 ? 'it' : 'them'} back to: nothing was changed; retag by hand or release a fixed version`,
      location: repo,
    };
  }
  if (moving.length > 0 && previous !== undefined && (await digestAt(client, previous)) === undefined) {
    return {
      status: 'cannot-yank',
      detail: `${ctx.previous?.version}'s image ${previous.slice(0, 19)}… is not in ${repo}, so ${tagList(repo, moving)} cannot move back to it: nothing was changed`,
      location: repo,
    };
  }
  return undefined;
}

/** A dry run's answer: the skopeo commands the yank would run. */
function planned(ctx: YankContext, { repo, yanked, previous, moving, manifestPresent }: YankPlan): YankResult {
  const actions = [
    ...moving.map((tag) => `skopeo copy ${repo}@${previous} to ${repo}:${tag} (${ctx.previous?.version})`),
    ...(manifestPresent ? [`skopeo delete ${repo}@${yanked} (removes ${ctx.version}'s own tags)`] : []),
  ];
  return {
    status: 'planned',
    detail: `would move ${moving.join(', ') || 'no tag'}${moving.length > 0 ? ` back to ${ctx.previous?.version}` : ''}${manifestPresent ? ` and delete ${ctx.version}'s manifest` : ''}`,
    actions,
    location: repo,
  };
}

/** Read back: the registry is the judge of what each tag now serves. `refused`: why the manifest could not be deleted. */
async function readBack(ctx: YankContext, client: RegistryClient, plan: YankPlan, refused: string | undefined): Promise<YankResult> {
  const { repo, yanked, previous, moving, manifestPresent } = plan;
  const wrong: string[] = [];
  for (const tag of moving) {
    const now = await digestAt(client, tag);
    if (now !== previous) wrong.push(`${tag} is ${now ?? 'missing'}`);
  }
  if (manifestPresent && refused === undefined && (await digestAt(client, yanked)) !== undefined) wrong.push(`${yanked} is still served`);
  if (wrong.length > 0) {
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `after the yank ${repo} does not serve what it should: ${wrong.join(', ')} (expected ${previous ?? 'none'}); will retry`,
      { retryable: true },
    );
  }
  const moved =
    moving.length > 0 && previous
      ? `${moving.join(', ')} -> ${ctx.previous?.version} (${previous.slice(0, 19)}…)`
      : 'no floating tag to move';
  const location = previous && moving.length > 0 ? `${repo}@${previous}` : repo;
  if (refused !== undefined) {
    return { status: 'cannot-yank', detail: `${moved}; ${ctx.version}'s own tags could not be deleted: ${refused}`, location };
  }
  return {
    status: 'yanked',
    detail: `${moved}${manifestPresent ? `; ${ctx.version}'s manifest and tags deleted` : `; ${ctx.version}'s own tags stay`}`,
    location,
  };
}

function digestOf(record: PublishedRecord, which: string): string {
  const digest = record.artifact.kind === 'docker' ? record.artifact.digest : record.readBackDigest;
  if (digest === undefined || !MANIFEST_DIGEST.test(digest)) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `the ${which} version ${clip(record.version, 40)} was not recorded as a docker image with a sha256 digest: a docker destination cannot yank it`,
    );
  }
  return digest;
}

function tagList(repo: string, tags: string[]): string {
  return tags.map((t) => `${repo}:${t}`).join(', ');
}

/**
 * The destination's registry client and auth file (REGISTRY_USERNAME/REGISTRY_PASSWORD, as publish
 * reads them), the file removed afterwards.
 */
async function openAccess(ctx: YankContext, opts: DockerYankOptions): Promise<Access & { cleanup: () => Promise<void> }> {
  const local = new Redactor();
  const repo = parseRepository(opts.repository);
  const dest = credentialPair(ctx, USERNAME, PASSWORD);
  const redact = (text: string) => ctx.redact(local.redact(text));
  const access: Access & { cleanup: () => Promise<void> } = {
    repository: opts.repository,
    client: new RegistryClient(
      repo.host,
      repo.path,
      { ...dest, tlsVerify: opts.tls_verify, signal: ctx.signal, redact, credentialName: PASSWORD },
      'pull',
    ),
    tlsVerify: opts.tls_verify,
    redact,
    signal: ctx.signal,
    tmpDir: ctx.tmpDir,
    cleanup: async () => {
      if (access.authFile) await rm(access.authFile, { force: true });
    },
  };
  if (!dest) return access;
  // base64(user:pass) lives in the auth file only; registered here in case skopeo ever echoes it.
  local.add(`${dest.username}:${dest.password}`);
  access.authFile = path.join(ctx.tmpDir, `yank-auth-${randomUUID()}.json`);
  await writeAuthFile(access.authFile, repo.host, dest.username, dest.password);
  return access;
}

/** Copies the previous image by digest to the tag, within the destination repository (its blobs are already there). */
async function move(access: Access, previous: string, tag: string): Promise<void> {
  const to = `${access.repository}:${tag}`;
  let pushed: string;
  try {
    pushed = await copyImage(`${access.repository}@${previous}`, to, {
      srcTlsVerify: access.tlsVerify,
      destTlsVerify: access.tlsVerify,
      ...(access.authFile ? { srcAuthFile: access.authFile, destAuthFile: access.authFile } : {}),
      digestFile: path.join(access.tmpDir, `yank-digest-${randomUUID()}`),
      redact: access.redact,
      signal: access.signal,
      tmpDir: access.tmpDir,
    });
  } catch (err) {
    throw destinationError(err, `moving ${to} back`);
  }
  if (pushed !== previous)
    throw new ReleaseBotError(ErrorCode.DestinationFailed, `skopeo pushed ${to} as ${pushed}, not the previous version's ${previous}`);
}

/** Deletes the yanked manifest; answers why when the registry does not allow deletes, throws otherwise. */
async function deleteManifest(access: Access, digest: string): Promise<string | undefined> {
  try {
    await deleteImage(`${access.repository}@${digest}`, {
      tlsVerify: access.tlsVerify,
      ...(access.authFile ? { authFile: access.authFile } : {}),
      redact: access.redact,
      signal: access.signal,
      tmpDir: access.tmpDir,
    });
    return undefined;
  } catch (err) {
    // distribution answers 405 UNSUPPORTED unless storage.delete.enabled is set.
    if (err instanceof SkopeoError && /\b405\b|unsupported|method not allowed/i.test(String(err.details.stderr))) {
      return `${access.repository} does not allow deletes (405; docker-registry needs storage.delete.enabled: true)`;
    }
    throw destinationError(err, `deleting ${access.repository}@${digest}`);
  }
}

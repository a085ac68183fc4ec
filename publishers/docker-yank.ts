import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import type { PublishedRecord, YankContext, YankResult } from '../src/publishing/types.js';
import { Redactor } from '../src/redact.js';
import {
  MANIFEST_DIGEST,
  SkopeoError,
  copyImage,
  deleteImage,
  digestIfPresent,
  parseRepository,
  writeAuthFile,
} from '../src/staging/skopeo.js';
import { clip } from '../src/validate.js';
import { destinationError } from './docker/session.js';
import { ANY_MANIFEST, MAX_MANIFEST_BYTES, RegistryClient } from './oci-registry.js';

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
 * the manifest stays and the answer is `cannot-yank`. Read back with `skopeo inspect` before it answers.
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
  const repo = opts.repository;
  const floating = [...new Set([...opts.tags.filter((t) => !t.includes('{')), ...(opts.latest ? ['latest'] : [])])];
  const access = await openAccess(ctx, opts);
  try {
    const moving: string[] = [];
    for (const tag of floating) {
      if ((await read(access, `${repo}:${tag}`)) === yanked) moving.push(tag);
    }
    const manifestPresent = opts.delete_version_tag && (await read(access, `${repo}@${yanked}`)) !== undefined;
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
    if (moving.length > 0 && previous !== undefined && (await read(access, `${repo}@${previous}`)) === undefined) {
      return {
        status: 'cannot-yank',
        detail: `${ctx.previous?.version}'s image ${previous.slice(0, 19)}… is not in ${repo}, so ${tagList(repo, moving)} cannot move back to it: nothing was changed`,
        location: repo,
      };
    }

    const actions = [
      ...moving.map((tag) => `skopeo copy ${repo}@${previous} to ${repo}:${tag} (${ctx.previous?.version})`),
      ...(manifestPresent ? [`skopeo delete ${repo}@${yanked} (removes ${ctx.version}'s own tags)`] : []),
    ];
    if (ctx.dryRun)
      return {
        status: 'planned',
        detail: `would move ${moving.join(', ') || 'no tag'}${moving.length > 0 ? ` back to ${ctx.previous?.version}` : ''}${manifestPresent ? ` and delete ${ctx.version}'s manifest` : ''}`,
        actions,
        location: repo,
      };

    for (const [i, tag] of moving.entries()) {
      if (previous === undefined) break; // checked above: moving tags needs a previous image
      ctx.progress(`moving ${repo}:${tag} back to ${ctx.previous?.version} (${i + 1} of ${moving.length})`);
      await move(access, previous, tag);
    }
    const shared = manifestPresent ? await otherTagsOn(ctx, opts, yanked) : undefined;
    const refused = manifestPresent ? (shared ?? (await deleteManifest(access, yanked))) : undefined;

    // Read back: the registry is the judge of what each tag now serves.
    const wrong: string[] = [];
    for (const tag of moving) {
      const now = await read(access, `${repo}:${tag}`);
      if (now !== previous) wrong.push(`${tag} is ${now ?? 'missing'}`);
    }
    if (manifestPresent && refused === undefined && (await read(access, `${repo}@${yanked}`)) !== undefined)
      wrong.push(`${yanked} is still served`);
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
  } finally {
    await access.cleanup();
  }
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

/**
 * Why the yanked manifest must not be deleted, if it must not: deleting by digest drops every tag on it
 * (distribution-spec "Deleting Manifests"), and a tag that is not this version's own (another version
 * released from the same bytes, or one set by hand) would go with it. Tags are listed and each is asked
 * for its digest; a listing the registry pages, or one that fails, keeps the manifest.
 */
async function otherTagsOn(ctx: YankContext, opts: DockerYankOptions, digest: string): Promise<string | undefined> {
  const repo = parseRepository(opts.repository);
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const own = opts.tags
    .filter((t) => t.includes('{'))
    .map(
      (t) =>
        new RegExp(
          `^${escape(t).replaceAll(escape('{version}'), escape(ctx.version)).replaceAll(escape('{build}'), '[A-Za-z0-9_.-]+').replaceAll(escape('{project}'), escape(ctx.project))}$`,
        ),
    );
  const client = new RegistryClient(
    repo.host,
    repo.path,
    {
      username: ctx.credentials.REGISTRY_USERNAME,
      password: ctx.credentials.REGISTRY_PASSWORD,
      tlsVerify: opts.tls_verify,
      signal: ctx.signal,
      redact: ctx.redact,
    },
    'pull',
  );
  const list = await client.call({ method: 'GET', url: client.repoUrl('tags/list'), limit: MAX_MANIFEST_BYTES });
  if (list.headers.link)
    return `${opts.repository} lists its tags in pages, so they cannot all be checked: ${ctx.version}'s manifest was not deleted`;
  let tags: unknown;
  try {
    tags = (JSON.parse(list.body.toString('utf8')) as { tags?: unknown }).tags;
  } catch {
    return `${opts.repository} answered its tag list with something that is not JSON, so the tags on the image cannot be checked: ${ctx.version}'s manifest was not deleted`;
  }
  const others: string[] = [];
  for (const tag of Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : []) {
    if (own.some((re) => re.test(tag))) continue;
    const head = await client.call({
      method: 'HEAD',
      url: client.repoUrl(`manifests/${encodeURIComponent(tag)}`),
      headers: { Accept: ANY_MANIFEST },
      expect: [404],
    });
    if (head.status !== 404 && head.headers['docker-content-digest'] === digest) others.push(tag);
  }
  if (others.length === 0) return undefined;
  return `its image is also tagged ${clip(others.join(', '), 200)} (another version's, or set by hand), which deleting it would remove: not deleted`;
}

function tagList(repo: string, tags: string[]): string {
  return tags.map((t) => `${repo}:${t}`).join(', ');
}

/** The destination's auth file (REGISTRY_USERNAME/REGISTRY_PASSWORD, as publish reads them), removed afterwards. */
async function openAccess(ctx: YankContext, opts: DockerYankOptions): Promise<Access & { cleanup: () => Promise<void> }> {
  const local = new Redactor();
  const access: Access & { cleanup: () => Promise<void> } = {
    repository: opts.repository,
    tlsVerify: opts.tls_verify,
    redact: (text) => ctx.redact(local.redact(text)),
    signal: ctx.signal,
    tmpDir: ctx.tmpDir,
    cleanup: async () => {
      if (access.authFile) await rm(access.authFile, { force: true });
    },
  };
  const username = ctx.credentials.REGISTRY_USERNAME;
  const password = ctx.credentials.REGISTRY_PASSWORD;
  if (username === undefined && password === undefined) return access;
  if (!username || !password) {
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      "credentials REGISTRY_USERNAME and REGISTRY_PASSWORD go together: map both to Conjur variables in this destination's credentials, or neither",
    );
  }
  if (username.includes(':'))
    throw new ReleaseBotError(ErrorCode.BadInput, 'the registry username in REGISTRY_USERNAME contains ":", which basic auth cannot carry');
  // base64(user:pass) lives in the auth file only; registered here in case skopeo ever echoes it.
  local.add(`${username}:${password}`);
  access.authFile = path.join(ctx.tmpDir, `yank-auth-${randomUUID()}.json`);
  await writeAuthFile(access.authFile, parseRepository(opts.repository).host, username, password);
  return access;
}

async function read(access: Access, ref: string): Promise<string | undefined> {
  try {
    return await digestIfPresent(ref, {
      tlsVerify: access.tlsVerify,
      ...(access.authFile ? { authFile: access.authFile } : {}),
      redact: access.redact,
      signal: access.signal,
      tmpDir: access.tmpDir,
    });
  } catch (err) {
    throw destinationError(err, `reading ${ref}`);
  }
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

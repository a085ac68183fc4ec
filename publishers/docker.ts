import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { definePublisher } from '../src/publishing/define-publisher.js';
import type { DryRunPlan, PublishContext, PublishResult } from '../src/publishing/types.js';
import { copyImage, parseRepository } from '../src/staging/skopeo.js';
import { yankDocker } from './docker-yank.js';
import { attestImage } from './docker-attestation.js';
import { checkTags, type TagState } from './docker-tags.js';
import { dockerType } from './destination-types.js';
import { type DockerOptions as Options } from './docker/options.js';
import { credentialPair, destinationError, PASSWORD, stagedImage, USERNAME, withSession, type Session } from './docker/session.js';

/** Read back before writing: a tag that holds another image is a conflict, never overwritten. */
function tagStates(ctx: PublishContext, opts: Options, session: Session, tags: string[], digest: string): Promise<TagState[]> {
  const { host, path: repoPath } = parseRepository(opts.repository);
  return checkTags(
    host,
    repoPath,
    { ...session.registry, tlsVerify: opts.tls_verify, signal: ctx.signal, redact: session.redact },
    tags,
    digest,
  );
}

type StagedImage = ReturnType<typeof stagedImage>;

function conflictError(opts: Options, conflicts: Array<{ tag: string; digest: string }>, digest: string): ReleaseBotError {
  const list = conflicts.map((c) => `${opts.repository}:${c.tag} is ${c.digest}`).join(', ');
  return new ReleaseBotError(
    ErrorCode.DestinationConflict,
    `${list}, not the staged ${digest}: a published tag is never overwritten; release a new version instead`,
    {
      details: { repository: opts.repository, tags: conflicts.map((c) => c.tag) },
    },
  );
}

/**
 * With `latest: true`, moves `latest` to the released image once its version tags read back right
 * (a copy by digest within the destination repository), and reads it back. Answers whether it moved.
 */
async function pointLatest(ctx: PublishContext, opts: Options, session: Session, image: StagedImage): Promise<boolean> {
  if (!opts.latest) return false;
  const to = `${opts.repository}:latest`;
  if (ctx.newerReleased !== undefined) {
    // A hotfix of an older line: latest stays with the newer version released before it.
    ctx.progress(`${to} stays at ${ctx.newerReleased}, newer than ${ctx.version}`);
    return false;
  }
  const [before] = await tagStates(ctx, opts, session, ['latest'], image.digest);
  if (before?.state === 'present') return false;
  ctx.progress(`moving ${to} to ${image.digest.slice(0, 19)}…`);
  try {
    await copyImage(`${opts.repository}@${image.digest}`, to, {
      srcTlsVerify: opts.tls_verify,
      destTlsVerify: opts.tls_verify,
      ...(session.destAuthFile ? { srcAuthFile: session.destAuthFile, destAuthFile: session.destAuthFile } : {}),
      digestFile: path.join(ctx.tmpDir, `digest-${randomUUID()}`),
      redact: session.redact,
      signal: ctx.signal,
      tmpDir: ctx.tmpDir,
    });
  } catch (err) {
    throw destinationError(err, `moving ${to}`);
  }
  const [after] = await tagStates(ctx, opts, session, ['latest'], image.digest);
  if (after?.state !== 'present') {
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `after moving it ${to} does not serve the released ${image.digest}; will retry`,
      { retryable: true },
    );
  }
  return true;
}

/** Copies the staged image by digest from the local registry to `tag`, and checks the digest skopeo pushed. */
async function copyToTag(ctx: PublishContext, opts: Options, session: Session, image: StagedImage, tag: string): Promise<void> {
  const to = `${opts.repository}:${tag}`;
  let pushed: string;
  try {
    pushed = await copyImage(`${image.ref}@${image.digest}`, to, {
      srcTlsVerify: image.tlsVerify,
      destTlsVerify: opts.tls_verify,
      ...(session.srcAuthFile ? { srcAuthFile: session.srcAuthFile } : {}),
      ...(session.destAuthFile ? { destAuthFile: session.destAuthFile } : {}),
      digestFile: path.join(ctx.tmpDir, `digest-${randomUUID()}`),
      redact: session.redact,
      signal: ctx.signal,
      tmpDir: ctx.tmpDir,
    });
  } catch (err) {
    throw destinationError(err, `copying to ${to}`);
  }
  if (pushed !== image.digest) {
    throw new ReleaseBotError(ErrorCode.DestinationFailed, `skopeo pushed ${to} as ${pushed}, not the staged ${image.digest}`);
  }
  ctx.log.info({ to, digest: pushed }, 'image copied');
}

/** Read back every tag, not only the new ones: the registry is the judge of what it now serves. */
async function readBackTags(ctx: PublishContext, opts: Options, session: Session, tags: string[], digest: string): Promise<void> {
  ctx.progress(`verifying ${tags.length} tag(s) on ${opts.repository}`);
  const after = await tagStates(ctx, opts, session, tags, digest);
  const wrong = after.filter((s) => s.state !== 'present');
  if (wrong.length > 0) {
    const what = wrong.map((s) => `${s.tag} ${s.state === 'conflict' ? `is ${s.digest}` : 'is missing'}`).join(', ');
    // Missing right after a push can be a lagging registry; another digest is someone else's push.
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `after the copy ${opts.repository} does not serve the staged ${digest}: ${what}`,
      {
        retryable: wrong.every((s) => s.state === 'absent'),
      },
    );
  }
}

/** Copies the staged image, by digest, from the local registry to a container registry under the version's tags. */
export const dockerPublisher = definePublisher<Options>({
  ...dockerType,
  description:
    'copies the staged image by digest to a container registry with skopeo (no Docker daemon); tags are checked over the registry HTTP API',
  yank: yankDocker,

  plan: (ctx, opts): Promise<DryRunPlan> =>
    withSession(ctx, opts, async (session, image, tags) => {
      const states = await tagStates(ctx, opts, session, tags, image.digest);
      const conflicts = states.flatMap((s) => (s.state === 'conflict' ? [s] : []));
      if (conflicts.length > 0) throw conflictError(opts, conflicts, image.digest);
      return {
        actions: [
          ...states.map((s) =>
            s.state === 'present'
              ? `${opts.repository}:${s.tag} already holds ${image.digest}: nothing to do`
              : `skopeo copy ${image.ref}@${image.digest} to ${opts.repository}:${s.tag}`,
          ),
          ...(opts.latest ? [`point ${opts.repository}:latest at ${image.digest}`] : []),
        ],
      };
    }),

  publish: (ctx, opts): Promise<PublishResult> =>
    withSession(ctx, opts, async (session, image, tags) => {
      ctx.progress(`checking ${opts.repository} for tags ${tags.join(', ')}`);
      const states = await tagStates(ctx, opts, session, tags, image.digest);
      const conflicts = states.flatMap((s) => (s.state === 'conflict' ? [s] : []));
      if (conflicts.length > 0) throw conflictError(opts, conflicts, image.digest);
      const missing = states.filter((s) => s.state === 'absent').map((s) => s.tag);
      const location = `${opts.repository}@${image.digest}`;
      if (missing.length === 0) {
        ctx.log.info({ repository: opts.repository, tags, digest: image.digest }, 'every tag already holds the staged image');
        const latest = await pointLatest(ctx, opts, session, image);
        return {
          status: 'already-present',
          readBackDigest: image.digest,
          location,
          detail: `tags ${tags.join(', ')} already hold ${image.digest}${latest ? '; latest moved to it' : ''}`,
        };
      }

      for (const [i, tag] of missing.entries()) {
        ctx.progress(`copying ${image.digest.slice(0, 19)}… to ${opts.repository}:${tag} (${i + 1} of ${missing.length})`);
        await copyToTag(ctx, opts, session, image, tag);
      }
      await readBackTags(ctx, opts, session, tags, image.digest);
      const latest = await pointLatest(ctx, opts, session, image);
      return {
        status: 'published',
        readBackDigest: image.digest,
        location,
        detail: `tagged ${missing.join(', ')}${latest ? ', latest' : ''}${missing.length < tags.length ? ` (${tags.length - missing.length} tag(s) already present)` : ''}`,
      };
    }),

  /** The attestation goes beside the image it is about: the staged digest that publish copied and read back, never a tag. */
  attest: (ctx, opts, attestation) => {
    const dest = credentialPair(ctx, USERNAME, PASSWORD);
    return attestImage(ctx, opts.repository, stagedImage(ctx).digest, attestation, {
      username: dest?.username,
      password: dest?.password,
      tlsVerify: opts.tls_verify,
      signal: ctx.signal,
      credentialName: PASSWORD,
    });
  },
});

import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { definePublisher } from '../src/publishing/define-publisher.js';
import type { DryRunPlan, PublishContext, PublishResult } from '../src/publishing/types.js';
import { Redactor } from '../src/redact.js';
import {
  IMAGE_REPOSITORY,
  IMAGE_TAG,
  SkopeoError,
  copyImage,
  parseImageReference,
  parseRepository,
  writeAuthFile,
} from '../src/staging/skopeo.js';
import { clip } from '../src/validate.js';
import { yankDocker } from './docker-yank.js';
import { attestImage } from './docker-attestation.js';
import { checkTags, type TagState } from './docker-tags.js';

const options = z
  .object({
    /** Destination repository, e.g. registry.example.com/org/conjur-cli (no tag, no transport). */
    repository: z
      .string()
      .regex(
        IMAGE_REPOSITORY,
        'use "<registry host[:port]>/<lower-case path>" such as registry.example.com/org/conjur-cli, without a tag or "docker://"',
      ),
    /** false only for a plain-HTTP registry (a loopback test registry); certificates are checked otherwise. */
    tls_verify: z.boolean().default(true),
    /** Tags to create; {version} and {build} (the Jenkins build number) are replaced. */
    tags: z
      .array(z.string().regex(/^[A-Za-z0-9_{}][A-Za-z0-9_.{}-]{0,127}$/, 'a docker tag, optionally with {version} and {build}'))
      .min(1)
      .default(['{version}', '{version}-build.{build}']),
    /**
     * Also point `latest` at every release's image: the one tag a release moves (version tags are never
     * overwritten), and the one a yank moves back to the previous release.
     */
    latest: z.boolean().default(false),
    /** On a yank, delete the yanked manifest (and with it the version's own tags); the registry must allow deletes. */
    delete_version_tag: z.boolean().default(false),
  })
  .strict();
type Options = z.infer<typeof options>;

/** Credentials of the destination registry (optional: an anonymous push is allowed where the registry allows it). */
const USERNAME = 'REGISTRY_USERNAME';
const PASSWORD = 'REGISTRY_PASSWORD';
/** Credentials of the local staging registry, when it needs any. */
const SOURCE_USERNAME = 'SOURCE_REGISTRY_USERNAME';
const SOURCE_PASSWORD = 'SOURCE_REGISTRY_PASSWORD';

function expandTags(ctx: PublishContext, opts: Options): string[] {
  const tags = opts.tags.map((template) => {
    if (template.includes('{build}') && ctx.build.number === undefined) {
      throw new ReleaseBotError(
        ErrorCode.BadInput,
        `tag "${template}" needs a build number and this staged build has none: stage it with a build number or drop {build} from tags`,
      );
    }
    const tag = template.replaceAll('{version}', ctx.version).replaceAll('{build}', String(ctx.build.number ?? ''));
    if (!IMAGE_TAG.test(tag)) {
      throw new ReleaseBotError(
        ErrorCode.BadInput,
        `tag ${JSON.stringify(clip(tag))} (from "${template}") is not a valid docker tag: letters, digits, "_", "." and "-" only (a "+" in a version cannot be a tag)`,
      );
    }
    return tag;
  });
  return [...new Set(tags)];
}

function stagedImage(ctx: PublishContext): { ref: string; digest: string; tlsVerify: boolean; host: string } {
  if (ctx.artifact.kind !== 'docker')
    throw new ReleaseBotError(ErrorCode.BadInput, 'a docker destination publishes a docker image: set artifact: docker for this project');
  const { ref, digest, tlsVerify } = ctx.artifact;
  const parsed = parseImageReference(`${ref}@${digest}`);
  return { ref, digest, tlsVerify, host: parsed.host };
}

function credentialPair(ctx: PublishContext, userKey: string, passKey: string): { username: string; password: string } | undefined {
  const username = ctx.credentials[userKey];
  const password = ctx.credentials[passKey];
  if (username === undefined && password === undefined) return undefined;
  if (!username || !password) {
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `credentials ${userKey} and ${passKey} go together: map both to Conjur variables in this destination's credentials, or neither`,
    );
  }
  if (username.includes(':'))
    throw new ReleaseBotError(ErrorCode.BadInput, `the registry username in ${userKey} contains ":", which basic auth cannot carry`);
  return { username, password };
}

interface Session {
  /** The destination's credentials for the registry HTTP API (the tag checks); none for an anonymous push. */
  registry: { username?: string; password?: string; credentialName: string };
  srcAuthFile?: string;
  destAuthFile?: string;
  redact: (text: string) => string;
  cleanup: () => Promise<void>;
}

/**
 * Auth files for this run, in the destination's private temp dir, removed afterwards. The
 * base64(user:pass) they contain is a form no one else registered, so it is added to a local
 * redactor too, in case a tool ever echoes it.
 */
async function openSession(ctx: PublishContext, sourceHost: string, destHost: string): Promise<Session> {
  const local = new Redactor();
  const files: string[] = [];
  const session: Session = {
    registry: { credentialName: PASSWORD },
    redact: (text) => ctx.redact(local.redact(text)),
    cleanup: async () => {
      await Promise.all(files.map((f) => rm(f, { force: true })));
    },
  };
  try {
    const dest = credentialPair(ctx, USERNAME, PASSWORD);
    if (dest) {
      session.registry = { ...dest, credentialName: PASSWORD };
      local.add(`${dest.username}:${dest.password}`);
      session.destAuthFile = path.join(ctx.tmpDir, `dest-auth-${randomUUID()}.json`);
      files.push(session.destAuthFile);
      await writeAuthFile(session.destAuthFile, destHost, dest.username, dest.password);
    }
    const src = credentialPair(ctx, SOURCE_USERNAME, SOURCE_PASSWORD);
    if (src) {
      local.add(`${src.username}:${src.password}`);
      session.srcAuthFile = path.join(ctx.tmpDir, `src-auth-${randomUUID()}.json`);
      files.push(session.srcAuthFile);
      await writeAuthFile(session.srcAuthFile, sourceHost, src.username, src.password);
    }
  } catch (err) {
    await session.cleanup();
    throw err;
  }
  return session;
}

/** Turns a skopeo failure into the destination's verdict: retryable stays retryable, the rest is final. */
function destinationError(err: unknown, what: string): unknown {
  if (!(err instanceof SkopeoError)) return err;
  return new ReleaseBotError(ErrorCode.DestinationFailed, `${what}: ${err.message}`, {
    retryable: err.retryable,
    cause: err,
    details: { reason: err.reason },
  });
}

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

async function withSession<T>(
  ctx: PublishContext,
  opts: Options,
  run: (session: Session, image: ReturnType<typeof stagedImage>, tags: string[]) => Promise<T>,
): Promise<T> {
  const image = stagedImage(ctx);
  const tags = expandTags(ctx, opts);
  const session = await openSession(ctx, image.host, parseRepository(opts.repository).host);
  try {
    return await run(session, image, tags);
  } finally {
    await session.cleanup();
  }
}

/**
 * With `latest: true`, moves `latest` to the released image once its version tags read back right
 * (a copy by digest within the destination repository), and reads it back. Answers whether it moved.
 */
async function pointLatest(ctx: PublishContext, opts: Options, session: Session, image: ReturnType<typeof stagedImage>): Promise<boolean> {
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

/** Copies the staged image, by digest, from the local registry to a container registry under the version's tags. */
export const dockerPublisher = definePublisher<Options>({
  type: 'docker',
  description:
    'copies the staged image by digest to a container registry with skopeo (no Docker daemon); tags are checked over the registry HTTP API',
  artifacts: ['docker'],
  options,
  tools: ['skopeo'],
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
        const to = `${opts.repository}:${tag}`;
        ctx.progress(`copying ${image.digest.slice(0, 19)}… to ${to} (${i + 1} of ${missing.length})`);
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

      // Read back every tag, not only the new ones: the registry is the judge of what it now serves.
      ctx.progress(`verifying ${tags.length} tag(s) on ${opts.repository}`);
      const after = await tagStates(ctx, opts, session, tags, image.digest);
      const wrong = after.filter((s) => s.state !== 'present');
      if (wrong.length > 0) {
        const what = wrong.map((s) => `${s.tag} ${s.state === 'conflict' ? `is ${s.digest}` : 'is missing'}`).join(', ');
        // Missing right after a push can be a lagging registry; another digest is someone else's push.
        throw new ReleaseBotError(
          ErrorCode.DestinationFailed,
          `after the copy ${opts.repository} does not serve the staged ${image.digest}: ${what}`,
          {
            retryable: wrong.every((s) => s.state === 'absent'),
          },
        );
      }
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

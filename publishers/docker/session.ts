import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import type { PublishContext } from '../../src/publishing/types.js';
import { Redactor } from '../../src/redact.js';
import { IMAGE_TAG, SkopeoError, parseImageReference, parseRepository, writeAuthFile } from '../../src/staging/skopeo.js';
import { clip } from '../../src/validate.js';
import type { DockerOptions as Options } from './options.js';

/** Credentials of the destination registry (optional: an anonymous push is allowed where the registry allows it). */
export const USERNAME = 'REGISTRY_USERNAME';
export const PASSWORD = 'REGISTRY_PASSWORD';
/** Credentials of the local staging registry, when it needs any. */
export const SOURCE_USERNAME = 'SOURCE_REGISTRY_USERNAME';
export const SOURCE_PASSWORD = 'SOURCE_REGISTRY_PASSWORD';

export function expandTags(ctx: PublishContext, opts: Options): string[] {
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

export function stagedImage(ctx: PublishContext): { ref: string; digest: string; tlsVerify: boolean; host: string } {
  if (ctx.artifact.kind !== 'docker')
    throw new ReleaseBotError(ErrorCode.BadInput, 'a docker destination publishes a docker image: set artifact: docker for this project');
  const { ref, digest, tlsVerify } = ctx.artifact;
  const parsed = parseImageReference(`${ref}@${digest}`);
  return { ref, digest, tlsVerify, host: parsed.host };
}

export function credentialPair(
  ctx: Pick<PublishContext, 'credentials'>,
  userKey: string,
  passKey: string,
): { username: string; password: string } | undefined {
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

export interface Session {
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
export async function openSession(ctx: PublishContext, sourceHost: string, destHost: string): Promise<Session> {
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

export async function withSession<T>(
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

/** Turns a skopeo failure into the destination's verdict: retryable stays retryable, the rest is final. */
export function destinationError(err: unknown, what: string): unknown {
  if (!(err instanceof SkopeoError)) return err;
  return new ReleaseBotError(ErrorCode.DestinationFailed, `${what}: ${err.message}`, {
    retryable: err.retryable,
    cause: err,
    details: { reason: err.reason },
  });
}

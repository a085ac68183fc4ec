import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import type { PublishContext } from '../../src/publishing/types.js';
import { clip } from '../../src/validate.js';

/**
 * How a registry destination that publishes one named package (npm, rubygems) speaks of it in a
 * refusal: `declares the <noun> X, but this destination <verb> Y (<nameOption>)`, `nothing was <done>`.
 */
export interface PackageWords {
  noun: string;
  verb: string;
  done: string;
  /** The destination option that names the package when it is not named as the project. */
  nameOption: string;
  /** What to stage again: `the <artifact> of this version`. */
  artifact: string;
  /** Between the name and the version: `name@1.0.0`, `name 1.0.0`. */
  at: string;
}

/** Refuses a package whose bytes, as read, are not the staged ones that were verified. */
export function assertVerifiedBytes(file: { path: string; sha256: string }, readSha256: string, words: Pick<PackageWords, 'done'>): void {
  if (readSha256 === file.sha256) return;
  // The core hands over a verified copy, so this is a bug or tampering on the release machine: never publish it.
  throw new ReleaseBotError(
    ErrorCode.ArtifactMismatch,
    `${file.path} now has sha256 ${readSha256.slice(0, 12)}…, not the staged ${file.sha256.slice(0, 12)}… that was verified: nothing was ${words.done}; stage the build again`,
    { details: { reason: 'bad-artifact', file: file.path } },
  );
}

/** Refuses a package that is not the one this release publishes: another package's name, or another version. */
export function assertReleasedPackage(
  ctx: Pick<PublishContext, 'project' | 'version'>,
  file: { path: string },
  read: { name: string; version: string },
  configuredName: string | undefined,
  words: PackageWords,
): void {
  const wanted = configuredName ?? ctx.project;
  if (read.name !== wanted) {
    const why = configuredName
      ? ` (${words.nameOption})`
      : ` (the project name; set ${words.nameOption} if the ${words.noun} is named otherwise)`;
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `${file.path} declares the ${words.noun} ${JSON.stringify(clip(read.name, 80))}, but this destination ${words.verb} ${wanted}${why}: nothing was ${words.done}`,
      { details: { reason: 'wrong-package', declared: clip(read.name, 80), expected: wanted } },
    );
  }
  if (read.version !== ctx.version.replace(/^v/, '')) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `${file.path} holds ${read.name}${words.at}${clip(read.version, 40)}, but this release is version ${ctx.version}: stage the ${words.artifact} of this version`,
      { details: { reason: 'wrong-version' } },
    );
  }
}

/**
 * `inspect` run once per attempt: a destination's steps (check, push, read-back) share one context,
 * so they share the package as it was read and checked once.
 */
export function oncePerAttempt<O, T>(inspect: (ctx: PublishContext, opts: O) => Promise<T>): (ctx: PublishContext, opts: O) => Promise<T> {
  const inspections = new WeakMap<PublishContext, Promise<T>>();
  return (ctx, opts) => {
    let inspected = inspections.get(ctx);
    if (!inspected) {
      inspected = inspect(ctx, opts);
      inspections.set(ctx, inspected);
    }
    return inspected;
  };
}

import { assertHarmlessPublishConfig, readNpmTarball } from '../../src/artifact/npm-tarball.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import type { PublishContext } from '../../src/publishing/types.js';
import { clip } from '../../src/validate.js';
import { stagedFile } from '../common/staged-file.js';
import { assertReleasedPackage, assertVerifiedBytes, type PackageWords } from '../common/staged-package.js';
import type { NpmOptions as Options } from '../npm.js';

/** npm names; also keeps anything that could look like an option out of argv. */
const NPM_NAME = /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
const NPM_WORDS: PackageWords = {
  noun: 'package',
  verb: 'publishes',
  done: 'published',
  nameOption: 'package_name',
  artifact: 'tarball',
  at: '@',
};

export interface Tarball {
  file: string;
  abs: string;
  name: string;
  version: string;
  integrity: string;
}
/**
 * The staged tarball as npm would publish it, refused unless it declares this destination's package
 * name and the version being released, carries no publishConfig that could act as configuration, and
 * is byte for byte the staged file (the manifest read is the one of the bytes hashed).
 */
export async function inspectTarball(ctx: PublishContext, opts: Options): Promise<Tarball> {
  const file = stagedFile(ctx, 'npm', opts.package, ['.tgz']);
  let read;
  try {
    read = await readNpmTarball(file.abs);
  } catch (err) {
    throw refine(err, `${file.path} is not an npm package tarball npm and release-bot read alike`);
  }
  assertVerifiedBytes(file, read.sha256, NPM_WORDS);
  const { name, version } = read;
  if (!NPM_NAME.test(name) || !version) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `${file.path} is not an npm package tarball with a valid package.json name and version (name ${JSON.stringify(clip(name, 60))})`,
      { details: { reason: 'bad-artifact' } },
    );
  }
  assertReleasedPackage(ctx, file, read, opts.package_name, NPM_WORDS);
  assertHarmlessPublishConfig(read.publishConfig, opts.registry);
  return { file: file.path, abs: file.abs, name, version, integrity: read.integrity };
}

/** A refusal of the tar reader, with the file it was about. */
function refine(err: unknown, what: string): ReleaseBotError {
  if (err instanceof ReleaseBotError) return new ReleaseBotError(err.code, `${what}: ${err.message}`, { details: err.details, cause: err });
  return new ReleaseBotError(ErrorCode.BadInput, `${what}: ${clip(err instanceof Error ? err.message : String(err), 120)}`, {
    details: { reason: 'bad-artifact' },
  });
}

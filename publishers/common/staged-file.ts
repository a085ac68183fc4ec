import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import type { ArtifactFile, PublishContext } from '../../src/publishing/types.js';
import { clip } from '../../src/validate.js';

/** The one staged file a destination publishes: the named one, or the single file with one of `extensions`. */
export function stagedFile(
  ctx: Pick<PublishContext, 'artifact' | 'dir'>,
  type: string,
  wanted: string | undefined,
  extensions: readonly string[],
): ArtifactFile & { abs: string } {
  if (ctx.artifact.kind !== 'files')
    throw new ReleaseBotError(ErrorCode.BadInput, `a ${type} destination publishes staged files, not a docker image`);
  const files = ctx.artifact.files;
  const matches =
    wanted === undefined ? files.filter((f) => extensions.some((e) => f.path.endsWith(e))) : files.filter((f) => f.path === wanted);
  if (matches.length !== 1 || matches[0] === undefined) {
    const what =
      wanted === undefined ? `exactly one ${extensions.join(' or ')} file` : `a staged file named ${JSON.stringify(clip(wanted))}`;
    const found =
      files
        .map((f) => f.path)
        .slice(0, 10)
        .join(', ') || 'none';
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `the ${type} destination needs ${what} among the staged files (found: ${clip(found, 300)}); name it with the destination's file option`,
    );
  }
  return { ...matches[0], abs: path.join(ctx.dir, matches[0].path) };
}

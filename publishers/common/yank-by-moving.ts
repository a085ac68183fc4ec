import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import type { YankContext, YankResult } from '../../src/publishing/types.js';

/** A yank that moves each published file into yanked/ (directory, ssh), as the destination found them. */
export interface MoveYank<F extends { path: string }> {
  /** Every file the yank takes back (the artifact's files and the release label). */
  files: readonly F[];
  /** Those still in the published directory. */
  toMove: F[];
  /** The yanked/ directory, as a person reads it. */
  location: string;
  /** A dry run's line for one move. */
  planned(f: F): string;
  /** Moves `toMove` into yanked/, with the note saying why beside each. */
  move(toMove: F[]): Promise<void>;
  /** Read back after the move: the files that are not (only) in yanked/. */
  notOnlyYanked(): Promise<readonly F[]>;
}

/**
 * The outcome of a yank by moving: planned (a dry run), already yanked (nothing left in place), or
 * moved and read back (every file only in yanked/; otherwise a retryable failure).
 */
export async function yankByMoving<F extends { path: string }>(ctx: YankContext, y: MoveYank<F>): Promise<YankResult> {
  const { files, toMove, location } = y;
  if (ctx.dryRun) {
    return {
      status: 'planned',
      detail: toMove.length ? `move ${toMove.length} file(s) into ${location}` : `nothing: every file is in ${location} already`,
      location,
      actions: toMove.length ? toMove.map((f) => y.planned(f)) : [`nothing: every file is in ${location} already`],
    };
  }
  if (toMove.length === 0) return { status: 'already-yanked', detail: `all ${files.length} file(s) are in ${location} already`, location };
  await y.move(toMove);
  const wrong = await y.notOnlyYanked();
  if (wrong.length > 0)
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `after the move ${wrong.map((w) => w.path).join(', ')} is not (only) in ${location}`,
      { retryable: true },
    );
  return { status: 'yanked', detail: `${toMove.length} file(s) moved into ${location} with the reason beside each`, location };
}

import { tail } from '../src/exec.js';
import type { YankContext, YankResult } from '../src/publishing/types.js';
import { runScript } from './exec.js';

/** The exec destination's options a yank reads (publishers/exec.ts). */
export interface ExecYankOptions {
  env: Readonly<Record<string, string>>;
  yank_command?: readonly string[] | undefined;
}

/** The exit status by which a yank script says the version was already yanked. */
export const ALREADY_YANKED_EXIT = 10;

/**
 * Runs the destination's `yank_command` exactly as publish runs `command`: argv without a shell, the
 * allowlisted environment plus the destination's own variables and credentials (also as `<NAME>_FILE`),
 * its own process group, output redacted. The script is the only one who knows the destination, so
 * its exit status is the verdict: 0 yanked, 10 already yanked, anything else a failure. Without a
 * yank_command the destination cannot yank, and says so.
 */
export async function yankExec(ctx: YankContext, opts: ExecYankOptions): Promise<YankResult> {
  if (!opts.yank_command) {
    return {
      status: 'cannot-yank',
      detail:
        'this exec destination has no yank_command: undo the release there by hand, or add a yank_command (argv, like command) to the destination',
    };
  }
  const [file, ...args] = opts.yank_command.map((a) =>
    a.replace(/\{(project|version)\}/g, (_, k: string) => (k === 'project' ? ctx.project : ctx.version)),
  ) as [string, ...string[]];
  if (ctx.dryRun) return { status: 'planned', detail: `would run ${file}`, actions: [`run ${[file, ...args].join(' ')}`] };

  const result = await runScript(
    ctx,
    opts.env,
    file,
    args,
    {
      YANK_PROJECT: ctx.project,
      YANK_VERSION: ctx.version,
      // A person's words: a credential they pasted into them is not handed on.
      YANK_REASON: ctx.redact(ctx.reason),
      ...(ctx.previous ? { YANK_PREVIOUS_VERSION: ctx.previous.version } : {}),
    },
    [ALREADY_YANKED_EXIT],
  );
  ctx.log.info({ exitCode: result.exitCode, stdout: tail(result.stdout, 40), stderr: tail(result.stderr, 40) }, 'yank script output');
  const out = tail(result.stdout, 3);
  if (result.exitCode === ALREADY_YANKED_EXIT)
    return { status: 'already-yanked', detail: out || `${file} says ${ctx.version} was already yanked` };
  return { status: 'yanked', detail: out || `${file} yanked ${ctx.version}` };
}

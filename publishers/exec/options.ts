import { z } from '../../src/config/zod.js';

/** The options of an exec destination: the script's argv, its environment and the yank script. */
export const execOptions = z.lazy(() =>
  z
    .object({
      /** argv, never a shell string: placeholders {project} {version} {dir} {build} are replaced whole-word inside each element. */
      command: z
        .array(z.string().min(1))
        .min(1, 'command is an argv array such as ["/opt/release/publish", "{project}", "{version}", "{dir}"]'),
      /** Extra, non-secret environment for the script. */
      env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/), z.string()).default({}),
      /**
       * The yank script, run like `command` (argv, no shell, the same environment and credentials) with
       * YANK_REASON, YANK_PROJECT, YANK_VERSION (and YANK_PREVIOUS_VERSION); placeholders {project} and
       * {version}. Exit 0: yanked; exit 10: it was already yanked. Absent: the destination cannot yank.
       */
      yank_command: z
        .array(z.string().min(1))
        .min(1, 'yank_command is an argv array such as ["/opt/release/yank", "{project}", "{version}"]')
        .refine(
          (argv) => argv.every((a) => !/\{(dir|build)\}/.test(a)),
          'yank_command has no {dir} or {build}: a yank has no staged files; use {project} and {version}',
        )
        .optional(),
    })
    .strict(),
);
export type ExecOptions = z.infer<typeof execOptions>;

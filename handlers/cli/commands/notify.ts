import type { Command } from 'commander';
import { exitCodes, ReleaseBotError, type ErrorCode } from '../../../src/errors.js';
import { NOTIFY_DESCRIPTION, NOTIFY_FILES, NOTIFY_OPTIONS, NotifyError, notify, type NotifyOptions } from '../notify/main.mjs';
import { action, positiveInt } from '../run.js';

/**
 * `release-bot notify`: the code is notify/ (joined into release-bot-notify.mjs), the single file Jenkins agents can run
 * without this package; here it gets commander's parsing and the CLI's error rendering.
 */
export function registerNotify(program: Command): void {
  const command = program.command('notify').description(NOTIFY_DESCRIPTION).argument(NOTIFY_FILES.name, NOTIFY_FILES.description);
  for (const spec of NOTIFY_OPTIONS) {
    const parse = spec.kind === 'count' ? positiveInt : undefined;
    if (spec.required) command.requiredOption(spec.flags, spec.description);
    else if (parse) command.option(spec.flags, spec.description, parse, spec.default);
    else command.option(spec.flags, spec.description);
  }
  command.action(
    action(async (files: string[], o: NotifyOptions) => {
      try {
        return await notify(files, o, {
          env: process.env,
          stdout: (s) => process.stdout.write(s),
          stderr: (s) => process.stderr.write(s),
          exitCodes,
        });
      } catch (err) {
        if (err instanceof NotifyError) throw new ReleaseBotError(err.code as ErrorCode, err.message, { cause: err });
        throw err;
      }
    }),
  );
}

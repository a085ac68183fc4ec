import type { Command } from 'commander';
import { Option } from './commander.js';

/**
 * `--log-format json|human` on the program and every command under it: the same as LOG_FORMAT, which
 * the flag sets for the command it runs. Only the CLI's commands read it; serve always logs JSON.
 */
export function addLogFormatEverywhere(program: Command): void {
  const add = (command: Command) => {
    if (!command.options.some((o) => o.long === '--log-format')) {
      command.addOption(
        new Option('--log-format <format>', 'log lines on stderr as plain text (default) or JSON (as LOG_FORMAT)').choices([
          'json',
          'human',
        ]),
      );
    }
    for (const sub of command.commands) add(sub);
  };
  add(program);
  program.hook('preAction', (_program, actionCommand) => {
    // The nearest command that was given the flag wins (a command's own before the program's).
    for (let c: Command | null = actionCommand; c; c = c.parent) {
      const format = c.getOptionValue('logFormat') as string | undefined;
      if (format !== undefined) {
        process.env.LOG_FORMAT = format;
        return;
      }
    }
  });
}

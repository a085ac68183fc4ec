import { readFileSync } from 'node:fs';
import type { Command } from 'commander';

/** The installed package's version: what an operator quotes when asking for help. */
export function packageVersion(): string {
  // dist/handlers/cli/ and handlers/cli/ are both three levels under the package root.
  const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

/**
 * `--version` (and `-V`) on the program and every command under it. A command whose own `--version`
 * names a version (`notify --version <v>`, `audit list --version <v>`) keeps it and gets `-V` only.
 */
export function addVersionEverywhere(program: Command, version = packageVersion()): void {
  const taken = program.options.some((o) => o.long === '--version');
  program.version(version, taken ? '-V' : '-V, --version', 'print the release-bot version');
  // A parent's options only before the command's name: else the program's --version would take
  // `notify --version 1.2.3` for itself.
  if (program.commands.length > 0) program.enablePositionalOptions();
  for (const command of program.commands) addVersionEverywhere(command, version);
}

import type { Command } from 'commander';
import { action, cliRedactor } from '../run.js';

export function registerCheckConfig(program: Command): void {
  program
    .command('check-config')
    .description(
      'check the environment and the projects file without the network (values, paths, programs on PATH, credential names); print every problem and exit non-zero',
    )
    .action(
      action(async () => {
        const { destinationTypes } = await import('../../../publishers/destination-types.js');
        const { loadConfig } = await import('../../../src/config/load.js');
        // The same load as serve's, plus the programs each destination runs: a release would need them.
        const config = loadConfig(process.env, { destinationTypes, redactor: cliRedactor, checkPrograms: true });
        for (const warning of config.warnings) process.stderr.write(`release-bot: warning: ${warning}\n`);
        process.stdout.write(
          `configuration OK: ${config.projects.size} project(s) in ${config.configFile}; data in ${config.dataDir}; staging in ${config.stagingDir}\n`,
        );
      }),
    );
}

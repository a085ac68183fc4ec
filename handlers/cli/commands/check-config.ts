import type { Command } from 'commander';
import { loadAppConfig } from '../../../src/main.js';
import { action } from '../run.js';

export function registerCheckConfig(program: Command): void {
  program
    .command('check-config')
    .description('validate the environment and the projects file; print every problem and exit non-zero')
    .action(
      action(async () => {
        const config = loadAppConfig();
        process.stdout.write(`configuration OK: ${config.projects.size} project(s) in ${config.configFile}; data in ${config.dataDir}; staging in ${config.stagingDir}\n`);
      }),
    );
}

import type { Command } from 'commander';
import { projectStatus, statusText } from '../../../src/release/status.js';
import { action, cliLogs } from '../run.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('the staged build and the latest releases of a project (and version)')
    .argument('<project>')
    .argument('[version]')
    .option('--json', 'print as JSON')
    .action(
      action(async (project: string, version: string | undefined, o: { json?: boolean }) => {
        const { createApp } = await import('../../../app/create.js');
        const app = createApp(cliLogs);
        try {
          const status = projectStatus(app.core, app.yanks, project, version);
          process.stdout.write(o.json ? `${JSON.stringify(status, null, 2)}\n` : statusText(status));
        } finally {
          app.close();
        }
      }),
    );
}

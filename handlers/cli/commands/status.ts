import type { Command } from 'commander';
import { statusText } from '../../../src/release/status.js';
import { action, cliRedactor } from '../run.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('the staged build and the latest releases of a project (and version)')
    .argument('<project>')
    .argument('[version]')
    .option('--json', 'print as JSON')
    .action(
      action(async (project: string, version: string | undefined, o: { json?: boolean }) => {
        const { readProjectStatus } = await import('../../../app/status.js');
        const status = readProjectStatus(process.env, cliRedactor, project, version);
        process.stdout.write(o.json ? `${JSON.stringify(status, null, 2)}\n` : statusText(status));
      }),
    );
}

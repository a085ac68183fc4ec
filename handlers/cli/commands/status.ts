import type { Command } from 'commander';
import { yankedLines } from '../../../src/release/yank-summary.js';
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
          app.core.project(project);
          const staged = version
            ? [app.core.staged.current(project, version)].filter((s) => s !== undefined)
            : app.core.staged.list(project, 10);
          const releases = app.core.releases.latest(project, version, 10);
          const yanks = app.yanks.yanks.latest(project, version, 10);
          if (o.json) {
            process.stdout.write(`${JSON.stringify({ staged, releases, yanks }, null, 2)}\n`);
            return;
          }
          process.stdout.write(
            `staged:\n${staged.map((s) => `  ${s.version} build #${s.build.number ?? '?'} staged ${s.stagedAt} by ${s.reportedBy}`).join('\n') || '  (none)'}\n`,
          );
          process.stdout.write(
            `releases:\n${releases.map((r) => `  ${r.version} ${r.state} by ${r.requesterLogin ?? '?'} at ${r.createdAt} (${r.id})${r.errorCode ? ` ${r.errorCode}` : ''}`).join('\n') || '  (none)'}\n`,
          );
          process.stdout.write(yankedLines(yanks));
        } finally {
          app.close();
        }
      }),
    );
}

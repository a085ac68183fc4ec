import type { Command } from 'commander';
import { exitCodes, type ErrorCode } from '../../../src/errors.js';
import { action, cliLogs } from '../run.js';

export function registerPublish(program: Command): void {
  program
    .command('publish')
    .description('release a staged version as a Conjur user (the same checks as /release)')
    .argument('<project>')
    .argument('<version>')
    .requiredOption('--as <login>', 'the Conjur login of the person asking (checked against the authorized group)')
    .option('--dry-run', 'run every check and credential fetch, push nothing')
    .option('--resume', 'continue an interrupted or failed release: only unfinished destinations run')
    .option('--json', 'print the summary as JSON')
    .action(
      action(async (project: string, version: string, o: { as: string; dryRun?: boolean; resume?: boolean; json?: boolean }) => {
        const { createApp } = await import('../../../app/create.js');
        const { summaryText } = await import('../../../src/release/summary.js');
        const app = createApp(cliLogs);
        try {
          const summary = await app.core.release(project, version, { login: o.as, via: 'cli' }, { dryRun: o.dryRun, resume: o.resume });
          process.stdout.write(o.json ? `${JSON.stringify(summary, null, 2)}\n` : `${summaryText(summary)}\n`);
          if (summary.state === 'failed') {
            const code = summary.error?.code as ErrorCode | undefined;
            return code && exitCodes[code] ? exitCodes[code] : 1;
          }
        } finally {
          app.close();
        }
      }),
    );
}

import type { Command } from 'commander';
import { action, cliLogs } from '../run.js';

const DAY_MS = 24 * 3600_000;

export function registerGc(program: Command): void {
  program
    .command('gc')
    .description('remove quarantined copies of builds that were superseded, or released more than staging.retention_days ago')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (o: { json?: boolean }) => {
        const { Quarantine } = await import('../../../src/staging/quarantine.js');
        const { createApp } = await import('../../../app/create.js');
        const app = createApp(cliLogs);
        try {
          const now = new Date();
          const days = app.core.config.staging.retention_days;
          // Every build a release or a resume could still read keeps its tree (see quarantineKeep).
          const keep = new Set(
            app.staged
              .quarantineKeep(new Date(now.getTime() - days * DAY_MS).toISOString())
              .map((s) => (s.artifact.kind === 'files' ? Quarantine.treeDigest(s.artifact.files) : '')),
          );
          const result = await app.core.quarantine.collect(keep, now);
          if (o.json) process.stdout.write(`${JSON.stringify({ ...result, retentionDays: days }, null, 2)}\n`);
          else
            process.stdout.write(
              `removed ${result.removed.length} quarantined build(s), kept ${result.kept} (retention ${days} day(s)) in ${app.core.quarantine.root}\n`,
            );
        } finally {
          app.close();
        }
      }),
    );
}

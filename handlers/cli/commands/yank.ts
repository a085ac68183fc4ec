import type { Command } from 'commander';
import { exitCodes, type ErrorCode } from '../../../src/errors.js';
import { createApp } from '../../../app/create.js';
import type { YankSummary } from '../../../src/release/yank.js';
import { yankSummaryText } from '../../../src/release/yank-summary.js';
import { action, cliLogs } from '../run.js';

interface YankFlags {
  as: string;
  dryRun?: boolean;
  /** commander's negation of --no-lock: false when given. */
  lock?: boolean;
  json?: boolean;
}

/** Prints the summary; a failed destination is exit 1 (or the error's own code), like a failed release. */
function report(summary: YankSummary, json: boolean | undefined): number {
  process.stdout.write(json ? `${JSON.stringify(summary, null, 2)}\n` : `${yankSummaryText(summary)}\n`);
  if (summary.state !== 'failed') return 0;
  const code = summary.error?.code as ErrorCode | undefined;
  return code && exitCodes[code] ? exitCodes[code] : 1;
}

export function registerYank(program: Command): void {
  program
    .command('yank')
    .description('take a released version back on every destination that published it, as a Conjur user (the same checks as /release yank)')
    .argument('<project>')
    .argument('<version>')
    .argument('<reason...>', 'why: shown in the deprecation, the yanked/ files, the audit and the freeze')
    .requiredOption('--as <login>', 'the Conjur login of the person asking (checked against the yank group)')
    .option('--dry-run', 'run every check and credential fetch; each destination says what it would do; nothing changes')
    .option('--no-lock', 'do not freeze the project afterwards')
    .option('--json', 'print the summary as JSON')
    .action(
      action(async (project: string, version: string, reason: string[], o: YankFlags) => {
        const app = createApp(cliLogs);
        try {
          return report(
            await app.yanks.yank(
              project,
              version,
              reason.join(' '),
              { login: o.as, via: 'cli' },
              { dryRun: o.dryRun, noLock: o.lock === false },
            ),
            o.json,
          );
        } finally {
          app.close();
        }
      }),
    );
  program
    .command('rollback')
    .description(
      'yank the newest released version of a project ("rollback" and your text as the reason) and say which version is latest now',
    )
    .argument('<project>')
    .argument('[text...]', 'why, added to the reason')
    .requiredOption('--as <login>', 'the Conjur login of the person asking (checked against the yank group)')
    .option('--dry-run', 'run every check and credential fetch; nothing changes')
    .option('--no-lock', 'do not freeze the project afterwards')
    .option('--json', 'print the summary as JSON')
    .action(
      action(async (project: string, text: string[], o: YankFlags) => {
        const app = createApp(cliLogs);
        try {
          return report(
            await app.yanks.rollback(project, text.join(' '), { login: o.as, via: 'cli' }, { dryRun: o.dryRun, noLock: o.lock === false }),
            o.json,
          );
        } finally {
          app.close();
        }
      }),
    );
}

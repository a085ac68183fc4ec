import type { Command } from 'commander';
import { AuditLog } from '../../../src/audit/log.js';
import { Redactor } from '../../../src/redact.js';
import { openDatabase } from '../../../src/store/db.js';
import { action, positiveInt } from '../run.js';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('read the audit log');
  audit
    .command('list')
    .description('the latest audit entries, newest first')
    .option('--project <p>', 'only this project')
    .option('--limit <n>', 'how many entries', positiveInt, 20)
    .option('--json', 'one JSON object per line')
    .action(
      action(async (o: { project?: string; limit: number; json?: boolean }) => {
        const db = openDatabase(process.env.RELEASE_BOT_DATA_DIR || './data');
        try {
          const entries = new AuditLog(db, new Redactor()).list({ project: o.project, limit: o.limit });
          for (const e of entries) {
            process.stdout.write(
              o.json
                ? `${JSON.stringify(e)}\n`
                : `${e.at} ${e.id} ${e.type.padEnd(12)} ${e.project ?? '-'} ${e.version ?? '-'} ${e.actor.conjurLogin ?? e.actor.via}${e.data.code ? ` ${String(e.data.code)}` : ''}\n`,
            );
          }
        } finally {
          db.close();
        }
      }),
    );
}

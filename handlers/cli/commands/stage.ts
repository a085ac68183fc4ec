import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { action, cliLogs, positiveInt } from '../run.js';

export function registerStage(program: Command): void {
  program
    .command('stage')
    .description('record a staged build from the files now in <staging_dir>/<project>/<version>/ (the operator path)')
    .argument('<project>')
    .argument('<version>')
    .option('--build-number <n>', 'Jenkins build number', positiveInt)
    .option('--build-url <url>', 'Jenkins build URL')
    .option('--commit <sha>', 'source commit')
    .option('--image <ref>', 'docker projects: the staged image reference on the local registry')
    .option('--image-digest <digest>', 'docker projects: the expected manifest digest (sha256:...)')
    .option('--json', 'print the result as JSON')
    .action(
      action(
        async (
          project: string,
          version: string,
          o: { buildNumber?: number; buildUrl?: string; commit?: string; image?: string; imageDigest?: string; json?: boolean },
        ) => {
          const { createApp } = await import('../../../app/create.js');
          const app = createApp(cliLogs);
          try {
            const who = `cli:${userInfo().username}`;
            const result = await app.core.stage({
              project,
              version,
              build: { number: o.buildNumber, url: o.buildUrl, commit: o.commit },
              image: o.image ? { ref: o.image, digest: o.imageDigest } : undefined,
              reportedBy: who,
              actor: { via: who },
            });
            if (o.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
            else {
              const a = result.staged.artifact;
              process.stdout.write(`${result.outcome}: ${project} ${version}\n`);
              if (a.kind === 'files') for (const f of a.files) process.stdout.write(`  ${f.sha256}  ${f.path}\n`);
              else process.stdout.write(`  ${a.ref}@${a.digest}\n`);
            }
          } finally {
            app.close();
          }
        },
      ),
    );
}

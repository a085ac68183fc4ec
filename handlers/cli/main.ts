import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { exitCodes, ErrorCode } from '../../src/errors.js';
import { createApp, loadAppConfig, serve } from '../../src/main.js';
import { openDatabase } from '../../src/store/db.js';
import { AuditLog } from '../../src/audit/log.js';
import { Redactor } from '../../src/redact.js';
import { summaryText } from '../../src/release/summary.js';
import { action, loadDotEnv } from './run.js';

await loadDotEnv();

const program = new Command('release-bot')
  .description('Publishes staged build artifacts after a Conjur-authorized request, and audits every attempt.')
  .showHelpAfterError()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : exitCodes[ErrorCode.BadInput]));

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('a whole number');
  return n;
};
const cliLogs = { logDestination: process.stderr };

program
  .command('serve')
  .description('run the HTTP server (Slack, Jenkins webhook, /healthz); SIGTERM drains in-flight releases')
  .action(
    action(async () => {
      const running = await serve();
      const stop = (signal: string) => {
        running.app.log.info({ signal }, 'signal received');
        running.stop().then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      await new Promise(() => undefined);
    }),
  );

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
    action(async (project: string, version: string, o: { buildNumber?: number; buildUrl?: string; commit?: string; image?: string; imageDigest?: string; json?: boolean }) => {
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
    }),
  );

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

program
  .command('status')
  .description('the staged build and the latest releases of a project (and version)')
  .argument('<project>')
  .argument('[version]')
  .option('--json', 'print as JSON')
  .action(
    action(async (project: string, version: string | undefined, o: { json?: boolean }) => {
      const app = createApp(cliLogs);
      try {
        app.core.project(project);
        const staged = version ? [app.core.staged.current(project, version)].filter((s) => s !== undefined) : app.core.staged.list(project, 10);
        const releases = app.core.releases.latest(project, version, 10);
        if (o.json) {
          process.stdout.write(`${JSON.stringify({ staged, releases }, null, 2)}\n`);
          return;
        }
        process.stdout.write(`staged:\n${staged.map((s) => `  ${s.version} build #${s.build.number ?? '?'} staged ${s.stagedAt} by ${s.reportedBy}`).join('\n') || '  (none)'}\n`);
        process.stdout.write(`releases:\n${releases.map((r) => `  ${r.version} ${r.state} by ${r.requesterLogin ?? '?'} at ${r.createdAt} (${r.id})${r.errorCode ? ` ${r.errorCode}` : ''}`).join('\n') || '  (none)'}\n`);
      } finally {
        app.close();
      }
    }),
  );

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

program
  .command('check-config')
  .description('validate the environment and the projects file; print every problem and exit non-zero')
  .action(
    action(async () => {
      const config = loadAppConfig();
      process.stdout.write(`configuration OK: ${config.projects.size} project(s) in ${config.configFile}; data in ${config.dataDir}; staging in ${config.stagingDir}\n`);
    }),
  );

await program.parseAsync(process.argv);

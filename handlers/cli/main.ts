import { Command } from 'commander';
import { ErrorCode, exitCodes } from '../../src/errors.js';
import { addLogFormatEverywhere } from './log-format.js';
import { loadDotEnv } from './run.js';
import { addVersionEverywhere } from './version.js';

type Register = (program: Command) => void;

/**
 * Every command: a one-line summary for `release-bot --help`, and its module, loaded only when the
 * command runs (or its own help is asked for), so that a command starts with what it uses and not
 * with Bolt, Express and every publisher. A new command is a new file in commands/ plus one entry here.
 */
const commands: Record<string, { summary: string; load: () => Promise<Register> }> = {
  serve: {
    summary: 'run the HTTP server (Slack, Jenkins webhook, /healthz, /readyz)',
    load: async () => (await import('./commands/serve.js')).registerServe,
  },
  stage: {
    summary: 'record a staged build (what the Jenkins webhook does)',
    load: async () => (await import('./commands/stage.js')).registerStage,
  },
  publish: {
    summary: 'release a staged version from the command line, as a Conjur user',
    load: async () => (await import('./commands/publish.js')).registerPublish,
  },
  status: {
    summary: 'the staged build and the latest releases of a project',
    load: async () => (await import('./commands/status.js')).registerStatus,
  },
  audit: {
    summary: 'read, verify, export and trace the hash-chained audit log',
    load: async () => (await import('./commands/audit.js')).registerAudit,
  },
  'check-config': {
    summary: 'check the environment and the projects file without the network',
    load: async () => (await import('./commands/check-config.js')).registerCheckConfig,
  },
  'ssh-command': {
    summary: 'the forced command of the release ssh account',
    load: async () => (await import('./commands/ssh-command.js')).registerSshCommand,
  },
  doctor: {
    summary: 'check-config plus the host and the network: tools, Conjur, Slack, the JWKS, each destination, the audit chain',
    load: async () => (await import('./commands/doctor.js')).registerDoctor,
  },
  notify: {
    summary: 'report a staged build to the bot (for Jenkins agents)',
    load: async () => (await import('./commands/notify.js')).registerNotify,
  },
  provenance: {
    summary: 'print the signing key of attestations, or verify an artifact against its attestation offline',
    load: async () => (await import('./commands/provenance.js')).registerProvenance,
  },
  yank: {
    summary: 'take a released version back on every destination that published it',
    load: async () => (await import('./commands/yank.js')).registerYank,
  },
  rollback: {
    summary: 'yank the newest released version of a project',
    load: async () => (await import('./commands/yank.js')).registerYank,
  },
  gc: { summary: 'remove quarantined copies of superseded or old builds', load: async () => (await import('./commands/gc.js')).registerGc },
};

/** The command this run is for: the first argument that names one (`help <command>` too). */
function invokedCommand(argv: readonly string[]): string | undefined {
  return argv.slice(2).find((a) => Object.hasOwn(commands, a));
}

const program = new Command('release-bot')
  .description('Publishes staged build artifacts after a Conjur-authorized request, and audits every attempt.')
  .showHelpAfterError()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : exitCodes[ErrorCode.BadInput]));

const invoked = invokedCommand(process.argv);
// `.env` is for a command: the command list and the version need none of it (nor dotenv).
if (invoked) await loadDotEnv();
if (invoked) (await commands[invoked]!.load())(program);
for (const name of Object.keys(commands)) {
  // The others only name themselves, for the command list of `release-bot --help` (a module may hold two).
  if (!program.commands.some((c) => c.name() === name))
    program
      .command(name)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => {
        throw new Error(`release-bot: the ${name} command was not loaded`);
      });
}
// Every command's one line in `release-bot --help`, loaded or not, set here once.
for (const c of program.commands) c.summary(commands[c.name()]?.summary ?? '');
addLogFormatEverywhere(program);
addVersionEverywhere(program);

await program.parseAsync(process.argv);

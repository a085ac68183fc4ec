import type { Command as Program } from 'commander';
import { ErrorCode, exitCodes } from '../../src/errors.js';
import { Command } from './commander.js';
import { addLogFormatEverywhere } from './log-format.js';
import { loadDotEnv } from './run.js';
import { addVersionEverywhere } from './version.js';

type Register = (program: Program) => void;

/** Every command and its one-line summary for `release-bot --help`. A new command is a new file in commands/ plus one entry here and in `modules`. */
const summaries = {
  serve: 'run the HTTP server (Slack, Jenkins webhook, /healthz, /readyz)',
  stage: 'record a staged build (what the Jenkins webhook does)',
  publish: 'release a staged version from the command line, as a Conjur user',
  status: 'the staged build and the latest releases of a project',
  audit: 'read, verify, export and trace the hash-chained audit log',
  'check-config': 'check the environment and the projects file without the network',
  'ssh-command': 'the forced command of the release ssh account',
  doctor: 'check-config plus the host and the network: tools, Conjur, Slack, the JWKS, each destination, the audit chain',
  notify: 'report a staged build to the bot (for Jenkins agents)',
  provenance: 'print the signing key of attestations, or verify an artifact against its attestation offline',
  yank: 'take a released version back on every destination that published it',
  rollback: 'yank the newest released version of a project',
  gc: 'remove quarantined copies of superseded or old builds',
};
type CommandName = keyof typeof summaries;

/**
 * Each command's module, loaded only when the command runs (or its own help is asked for), so that a
 * command starts with what it uses and not with Bolt, Express and every publisher (one module may hold two).
 */
const modules: Record<CommandName, () => Promise<Register>> = {
  serve: async () => (await import('./commands/serve.js')).registerServe,
  stage: async () => (await import('./commands/stage.js')).registerStage,
  publish: async () => (await import('./commands/publish.js')).registerPublish,
  status: async () => (await import('./commands/status.js')).registerStatus,
  audit: async () => (await import('./commands/audit.js')).registerAudit,
  'check-config': async () => (await import('./commands/check-config.js')).registerCheckConfig,
  'ssh-command': async () => (await import('./commands/ssh-command.js')).registerSshCommand,
  doctor: async () => (await import('./commands/doctor.js')).registerDoctor,
  notify: async () => (await import('./commands/notify.js')).registerNotify,
  provenance: async () => (await import('./commands/provenance.js')).registerProvenance,
  yank: async () => (await import('./commands/yank.js')).registerYank,
  rollback: async () => (await import('./commands/yank.js')).registerYank,
  gc: async () => (await import('./commands/gc.js')).registerGc,
};

const isCommand = (a: string): a is CommandName => Object.hasOwn(summaries, a);

/** The command this run is for: the first argument that names one (`help <command>` too). */
function invokedCommand(argv: readonly string[]): CommandName | undefined {
  return argv.slice(2).find(isCommand);
}

const program = new Command('release-bot')
  .description('Publishes staged build artifacts after a Conjur-authorized request, and audits every attempt.')
  .showHelpAfterError()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : exitCodes[ErrorCode.BadInput]));

const invoked = invokedCommand(process.argv);
// `.env` is for a command: the command list and the version need none of it (nor dotenv).
if (invoked) await loadDotEnv();
if (invoked) (await modules[invoked]())(program);
for (const name of Object.keys(summaries)) {
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
for (const c of program.commands) {
  const name = c.name();
  c.summary(isCommand(name) ? summaries[name] : '');
}
addLogFormatEverywhere(program);
addVersionEverywhere(program);

await program.parseAsync(process.argv);

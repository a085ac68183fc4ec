import { Command } from 'commander';
import { ErrorCode, exitCodes } from '../../src/errors.js';
import { registerAudit } from './commands/audit.js';
import { registerCheckConfig } from './commands/check-config.js';
import { registerDoctor } from './commands/doctor.js';
import { registerGc } from './commands/gc.js';
import { registerNotify } from './commands/notify.js';
import { registerPublish } from './commands/publish.js';
import { registerServe } from './commands/serve.js';
import { registerSshCommand } from './commands/ssh-command.js';
import { registerStage } from './commands/stage.js';
import { registerStatus } from './commands/status.js';
import { addLogFormatEverywhere } from './log-format.js';
import { loadDotEnv } from './run.js';
import { addVersionEverywhere } from './version.js';

await loadDotEnv();

const program = new Command('release-bot')
  .description('Publishes staged build artifacts after a Conjur-authorized request, and audits every attempt.')
  .showHelpAfterError()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : exitCodes[ErrorCode.BadInput]));

// One line per command module: a new command is a new file in commands/ plus one line here.
registerServe(program);
registerStage(program);
registerPublish(program);
registerStatus(program);
registerAudit(program);
registerCheckConfig(program);
registerSshCommand(program);
registerDoctor(program);
registerNotify(program);
registerGc(program);
addLogFormatEverywhere(program);
addVersionEverywhere(program);

await program.parseAsync(process.argv);

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { ErrorCode, ReleaseBotError, toReleaseBotError } from '../../../src/errors.js';
import { createApp } from '../../../app/create.js';
import { clip } from '../../../src/validate.js';
import { parseSshCommand } from '../../ssh/parse-command.js';
import { runSshRequest } from '../../ssh/run-ssh-command.js';
import { action, cliLogs } from '../run.js';

const LOGIN = /^[A-Za-z0-9@._-]+(\/[A-Za-z0-9@._-]+)*$/;

/** The client address sshd reports in SSH_CONNECTION ("ip port ip port"), when it is one. */
function sshClient(env: NodeJS.ProcessEnv): string | undefined {
  const ip = (env.SSH_CONNECTION ?? '').split(' ')[0] ?? '';
  return isIP(ip) ? ip : undefined;
}

/**
 * Loads the bot's environment file over the session's: an ssh session's environment is partly the
 * client's to choose (AcceptEnv), the file is the administrator's.
 */
async function loadEnvFile(file: string): Promise<void> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `--environment-file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): point it at the bot's environment file, readable by this user`,
    );
  }
  const dotenv = await import('dotenv');
  Object.assign(process.env, dotenv.parse(text));
}

export function registerSshCommand(program: Command): void {
  program
    .command('ssh-command')
    .description('the forced command of an authorized_keys line: runs SSH_ORIGINAL_COMMAND if it is publish, stage or status, as --as')
    .requiredOption(
      '--as <login>',
      "the Conjur login of the key's owner (set by the administrator in authorized_keys, never by the client)",
    )
    .option('--environment-file <file>', "read the bot's environment from this file (e.g. the systemd EnvironmentFile)")
    .action(
      action(async (o: { as: string; environmentFile?: string }) => {
        if (!LOGIN.test(o.as))
          throw new ReleaseBotError(
            ErrorCode.BadInput,
            `--as ${JSON.stringify(clip(o.as))} is not a Conjur login: fix the command="..." of this key in authorized_keys`,
          );
        if (o.environmentFile) await loadEnvFile(o.environmentFile);
        const original = process.env.SSH_ORIGINAL_COMMAND;
        const client = sshClient(process.env);
        let request;
        try {
          request = parseSshCommand(original);
        } catch (err) {
          auditRefusal(o.as, original, client, toReleaseBotError(err));
          throw err;
        }
        const app = createApp(cliLogs);
        try {
          app.log.info(
            { login: o.as, client, command: request.command, project: request.project, version: request.version },
            'ssh forced command',
          );
          return await runSshRequest(app, o.as, request, { stdout: (t) => process.stdout.write(t) });
        } finally {
          app.close();
        }
      }),
    );
}

/** A refused command is a security event: it is audited when the configuration allows, and refused regardless. */
function auditRefusal(login: string, original: string | undefined, client: string | undefined, err: ReleaseBotError): void {
  let app;
  try {
    app = createApp(cliLogs);
    app.denials.deny(err, {
      actor: { via: 'ssh', conjurLogin: login },
      data: { sshCommand: original === undefined ? null : clip(original, 200), sshClient: client },
    });
  } catch (auditErr) {
    process.stderr.write(`release-bot: the refusal could not be audited: ${toReleaseBotError(auditErr).message}\n`);
  } finally {
    app?.close();
  }
}

import type { App, BlockAction, ButtonAction, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { APPROVE_ACTION, parseReleaseValue, RELEASE_ACTION } from './action-values.js';
import type { BackgroundTasks } from './background.js';
import type { SlackChat } from './chat.js';
import { parseCommand, type SlackCommand } from './command-parser.js';
import { approveFlow, lockFlow, readFlow, releaseFlow, unlockFlow, type Asker, type SlackFlowDeps } from './flows.js';
import type { SlackMessage } from './messages/mrkdwn.js';
import { acceptedMessage, helpMessage, usageMessage } from './messages/usage.js';
import { yankFlow } from './yank-flows.js';

export const RELEASE_COMMAND = '/release';

/**
 * The Bolt listeners. Each one acknowledges first (Slack's 3 s limit), answering help and usage in
 * the ack itself; anything that waits for Slack (identity), Conjur or a destination runs afterwards
 * as a background task, and its answer goes back through response_url.
 */
export function registerListeners(bolt: App, deps: SlackFlowDeps, chat: SlackChat, tasks: BackgroundTasks): void {
  bolt.command(RELEASE_COMMAND, (args) => answerCommand({ deps, chat, tasks }, args));

  bolt.action<BlockAction<ButtonAction>>(RELEASE_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const asker = clicker(body, chat, respond);
    const value = parseReleaseValue(action.value);
    if (!value) {
      tasks.run('release-button', () => asker.reply(usageMessage('this button does not name a staged build')));
      return;
    }
    tasks.run('release-button', () => releaseFlow(deps, asker, { ...value, dryRun: false, resume: false }));
  });

  bolt.action<BlockAction<ButtonAction>>(APPROVE_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const asker = clicker(body, chat, respond);
    tasks.run('approve-button', () => approveFlow(deps, asker, typeof action.value === 'string' ? action.value : ''));
  });
}

interface Listening {
  deps: SlackFlowDeps;
  chat: SlackChat;
  tasks: BackgroundTasks;
}

type Change = Extract<SlackCommand, { kind: 'release' | 'lock' | 'yank' | 'rollback' | 'unlock' }>;

/** `/release`: help and usage are answered in the ack; a read is acked empty and answered privately once who asks is known. */
async function answerCommand({ deps, chat, tasks }: Listening, { command, ack, respond }: SlackCommandMiddlewareArgs): Promise<void> {
  const answer = (m: SlackMessage) => ack({ response_type: 'ephemeral', ...chat.redacted(m) });
  const asker: Asker = {
    userId: command.user_id,
    teamId: command.team_id,
    enterpriseId: command.enterprise_id,
    reply: (m) => chat.respond(respond, m),
  };
  const parsed = parseCommand(typeof command.text === 'string' ? command.text : '');
  switch (parsed.kind) {
    case 'help':
      return answer(helpMessage());
    case 'usage':
      return answer(usageMessage(parsed.problem));
    case 'list':
    case 'status':
    case 'audit':
      // Who asks is known only after users.info: an empty ack, the answer (or the refusal) follows privately.
      await ack();
      tasks.run(parsed.kind, () => readFlow(deps, asker, parsed));
      return;
    default:
      return startChange(deps, tasks, asker, parsed, answer);
  }
}

/** A command that changes something: acknowledged with what it starts, then run as a background task. */
async function startChange(
  deps: SlackFlowDeps,
  tasks: BackgroundTasks,
  asker: Asker,
  parsed: Change,
  answer: (m: SlackMessage) => Promise<void>,
): Promise<void> {
  switch (parsed.kind) {
    case 'release': {
      const what = parsed.dryRun ? 'Dry run' : parsed.resume ? 'Resuming the release' : 'Release';
      await answer(acceptedMessage(`${what} of ${parsed.project} ${parsed.version}: checking who you are and what Conjur allows`));
      tasks.run('release', () => releaseFlow(deps, asker, parsed));
      return;
    }
    case 'lock':
      await answer(acceptedMessage(`Freezing ${parsed.project}`));
      tasks.run('lock', () => lockFlow(deps, asker, parsed.project, parsed.reason));
      return;
    case 'yank':
      await answer(
        acceptedMessage(
          `${parsed.dryRun ? 'Dry run of the yank' : 'Yank'} of ${parsed.project} ${parsed.version}: checking who you are and what Conjur allows`,
        ),
      );
      tasks.run('yank', () =>
        yankFlow(deps, asker, {
          project: parsed.project,
          version: parsed.version,
          text: parsed.reason,
          dryRun: parsed.dryRun,
          noLock: parsed.noLock,
        }),
      );
      return;
    case 'rollback':
      await answer(
        acceptedMessage(
          `${parsed.dryRun ? 'Dry run of the rollback' : 'Rollback'} of ${parsed.project}: checking who you are and what Conjur allows`,
        ),
      );
      tasks.run('rollback', () =>
        yankFlow(deps, asker, { project: parsed.project, text: parsed.text, dryRun: parsed.dryRun, noLock: parsed.noLock }),
      );
      return;
    case 'unlock':
      await answer(acceptedMessage(`Lifting the freeze of ${parsed.project}`));
      tasks.run('unlock', () => unlockFlow(deps, asker, parsed.project));
      return;
  }
}

function clicker(body: BlockAction, chat: SlackChat, respond: (m: Record<string, unknown>) => Promise<unknown>): Asker {
  return {
    userId: body.user.id,
    teamId: body.team?.id,
    enterpriseId: body.team?.enterprise_id ?? body.enterprise?.id,
    userTeamId: body.user.team_id,
    reply: (m) => chat.respond(respond, m),
  };
}

import { code, context, esc, section, type SlackMessage } from './mrkdwn.js';

const COMMANDS: ReadonlyArray<readonly [string, string]> = [
  ['/release <project> <version>', 'release a staged build (as you: your Conjur groups decide)'],
  ['/release <project> <version> --dry-run', 'every check and credential fetch, nothing pushed'],
  ['/release <project> <version> resume', 'finish an interrupted or failed release: only unfinished destinations run'],
  ['/release list [project]', 'staged builds ready to release'],
  ['/release status <project> [version]', 'latest releases, freeze, staged builds and approvals'],
  ['/release audit [project] [limit]', 'the latest audit entries, newest first'],
  ['/release lock <project> <reason>', 'freeze releases of a project'],
  ['/release unlock <project>', 'lift a freeze'],
  [
    '/release yank <project> <version> <reason> [--dry-run] [--no-lock]',
    'take a released version back everywhere (deprecate, move latest back, move files to yanked/), then freeze the project',
  ],
  ['/release rollback <project> [why] [--dry-run] [--no-lock]', 'yank the newest released version; says which version is latest now'],
  ['/release help', 'this help'],
];

export function helpMessage(): SlackMessage {
  return {
    text: esc(`release-bot commands:\n${COMMANDS.map(([c, d]) => `${c}: ${d}`).join('\n')}`),
    blocks: [section(`*release-bot*\n${COMMANDS.map(([c, d]) => `${code(c)}  ${esc(d)}`).join('\n')}`)],
  };
}

/** Unknown or malformed text: one line on what was wrong, one on the right form. */
export function usageMessage(problem: string): SlackMessage {
  return {
    text: esc(`${problem}. Usage: /release <project> <version> [--dry-run | resume], or /release help`),
    blocks: [
      section(`:pencil2: ${esc(problem)}.`),
      context(`Usage: ${code('/release <project> <version> [--dry-run | resume]')}; all commands: ${code('/release help')}`),
    ],
  };
}

/** The immediate answer (ack) to a command whose work continues in the background. */
export function acceptedMessage(what: string): SlackMessage {
  return { text: esc(`${what}…`), blocks: [context(`:hourglass_flowing_sand: ${esc(what)}…`)] };
}

/** A short ephemeral note (confirmation or pointer). */
export function noteMessage(markdown: string, plain: string): SlackMessage {
  return { text: esc(plain), blocks: [section(markdown)] };
}

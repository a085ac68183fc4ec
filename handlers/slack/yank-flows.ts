import { toReleaseBotError } from '../../src/errors.js';
import type { ApprovalRequest } from '../../src/release/approvals.js';
import type { YankOptions, YankSummary } from '../../src/release/yank.js';
import { errorMessage } from './messages/denial.js';
import { channelRef, code, esc } from './messages/mrkdwn.js';
import { noteMessage } from './messages/usage.js';
import { yankSummaryMessage } from './messages/yank-summary.js';
import { identify, type Asker, type SlackFlowDeps } from './flows.js';

export interface YankAsk {
  project: string;
  /** Absent: a rollback (the newest released version). */
  version?: string | undefined;
  /** The reason (yank) or the requester's text (rollback). */
  text: string;
  dryRun: boolean;
  noLock: boolean;
}

/**
 * `/release yank <project> <version> <reason>` and `/release rollback <project> [why]`: resolve who
 * asks, then the yank runs in the core's YankService through the same gates as a release, or, for a
 * project with `approvals: N`, waits for N approvals (a request in the channel, as a release does).
 * The summary goes to the project's channel (a dry run only to the asker); every refusal goes back to the asker.
 */
export async function yankFlow(deps: SlackFlowDeps, asker: Asker, ask: YankAsk): Promise<void> {
  try {
    const requester = await identify(deps, asker, ask.version === undefined ? 'rollback' : 'yank', ask.project, ask.version ?? '-');
    // A dry run changes nothing, so it needs no approval (as a release's dry run).
    if (!ask.dryRun && deps.approvals.required(ask.project)) {
      const asked = await deps.approvals.requestYank(ask.project, ask.version, ask.text, requester, { noLock: ask.noLock });
      await asker.reply(yankRequestNote(deps, asked.request, asked.created));
      return;
    }
    const options: YankOptions = { dryRun: ask.dryRun, noLock: ask.noLock };
    const summary: YankSummary =
      ask.version === undefined
        ? await deps.yanks.rollback(ask.project, ask.text, requester, options)
        : await deps.yanks.yank(ask.project, ask.version, ask.text, requester, options);
    const message = yankSummaryMessage(summary);
    if (!summary.dryRun) await deps.chat.post(deps.core.project(summary.project).channel, message);
    await asker.reply(message);
  } catch (thrown) {
    await asker.reply(errorMessage(toReleaseBotError(thrown)));
  }
}

function yankRequestNote(deps: SlackFlowDeps, r: ApprovalRequest, created: boolean) {
  const where = channelRef(deps.core.config.projects.get(r.project)?.channel ?? deps.core.config.channel);
  return created
    ? noteMessage(
        `:raised_hand: The yank of ${code(r.project)} ${code(r.version)} needs ${r.needed} approval(s) from members of ${code(r.approverGroup)} other than you. The request is in ${where}; it expires ${esc(r.expiresAt)}.`,
        `The yank of ${r.project} ${r.version} waits for ${r.needed} approval(s) from ${r.approverGroup}; the request is in the release channel.`,
      )
    : noteMessage(
        `:raised_hand: The yank of ${code(r.project)} ${code(r.version)} already waits for approval (asked by ${esc(r.requester.login)}: ${r.approvals.length} of ${r.needed}). See ${where}.`,
        `The yank already waits for approval (${r.approvals.length} of ${r.needed}).`,
      );
}

/**
 * The approval that completed a yank's set: the yank runs as its requester; its summary goes to the
 * channel, as a yank without approvals does; a refusal (e.g. the requester left the yank group
 * meanwhile) goes to the approver and the channel.
 */
export async function approvedYankFlow(deps: SlackFlowDeps, asker: Asker, r: ApprovalRequest, yank: Promise<YankSummary>): Promise<void> {
  await asker.reply(
    noteMessage(
      `:white_check_mark: Your approval completes the set: ${code(r.project)} ${code(r.version)} is being yanked as ${esc(r.requester.login)}.`,
      `Approved: the yank of ${r.project} ${r.version} runs now.`,
    ),
  );
  const channel = deps.core.config.projects.get(r.project)?.channel ?? deps.core.config.channel;
  try {
    await deps.chat.post(channel, yankSummaryMessage(await yank));
  } catch (thrown) {
    const err = toReleaseBotError(thrown);
    await asker.reply(errorMessage(err));
    await deps.chat.post(
      channel,
      noteMessage(
        `:x: The approved yank of ${code(r.project)} ${code(r.version)} was refused: ${esc(err.message)}`,
        `The approved yank of ${r.project} ${r.version} was refused: ${err.message}`,
      ),
    );
  }
}

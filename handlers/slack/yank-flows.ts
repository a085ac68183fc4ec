import { toReleaseBotError } from '../../src/errors.js';
import type { YankOptions, YankSummary } from '../../src/release/yank.js';
import { errorMessage } from './messages/denial.js';
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
 * asks, then the yank runs in the core's YankService through the same gates as a release. The summary
 * goes to the project's channel (a dry run only to the asker); every refusal goes back to the asker.
 */
export async function yankFlow(deps: SlackFlowDeps, asker: Asker, ask: YankAsk): Promise<void> {
  try {
    const requester = await identify(deps, asker, ask.version === undefined ? 'rollback' : 'yank', ask.project, ask.version ?? '-');
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

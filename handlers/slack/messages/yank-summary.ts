import type { YankDestinationOutcome, YankSummary } from '../../../src/release/yank.js';
import { yankDestinationLine, yankSummaryText } from '../../../src/release/yank-summary.js';
import { code, context, esc, header, section, sectionsOf, type SlackMessage } from './mrkdwn.js';

const ICON: Record<YankDestinationOutcome['status'], string> = {
  yanked: ':white_check_mark:',
  'already-yanked': ':white_check_mark:',
  'cannot-yank': ':warning:',
  planned: ':mag:',
  failed: ':x:',
};

/** The yank's summary in the channel: each destination's outcome (done, already done, cannot, failed), what is latest now, the freeze. */
export function yankSummaryMessage(s: YankSummary): SlackMessage {
  const title = s.dryRun
    ? `Dry run: yank of ${s.project} ${s.version}`
    : s.state === 'yanked'
      ? `Yanked ${s.project} ${s.version}`
      : `Yank of ${s.project} ${s.version} FAILED`;
  return {
    text: esc(yankSummaryText(s)),
    blocks: [
      header(`${s.dryRun ? ':mag:' : s.state === 'yanked' ? ':rewind:' : ':x:'} ${title}`),
      section(
        `*Reason:* _${esc(s.reason)}_\n*Requested by* ${esc(s.requester.login)}${s.approvers.length ? `; *approved by* ${esc(s.approvers.join(', '))}` : ''}`,
      ),
      ...sectionsOf(s.destinations.map((d) => `${ICON[d.status]} ${esc(yankDestinationLine(d))}`)),
      ...(s.error ? [section(`:x: ${esc(s.error.code)}: ${esc(s.error.message)}`)] : []),
      section(
        s.latest ? `${code('latest')} is now ${code(s.latest)}` : `no released version of ${code(s.project)} is left that is not yanked`,
      ),
      ...(s.frozen
        ? [
            section(
              `:snowflake: ${code(s.project)} is frozen until someone unlocks it (${code(`/release unlock ${s.project}`)}): _${esc(s.frozen.reason)}_`,
            ),
          ]
        : []),
      context(`yank ${code(s.yankId)}; audit entry ${code(s.auditId)}`),
    ],
  };
}

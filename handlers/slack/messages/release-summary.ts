import { formatDuration, provenanceText, summaryText } from '../../../src/release/summary.js';
import type { DestinationOutcome, ReleaseSummary } from '../../../src/release/types.js';
import { buildLink, commitText, digestLines } from './build-facts.js';
import { code, context, esc, fields, header, mention, section, shortDigest, type SlackMessage } from './mrkdwn.js';

const STATUS_ICON: Record<DestinationOutcome['status'], string> = {
  published: ':white_check_mark:',
  'already-present': ':ballot_box_with_check:',
  skipped: ':fast_forward:',
  planned: ':memo:',
  failed: ':x:',
  pending: ':hourglass:',
  running: ':arrows_counterclockwise:',
};

export function destinationLine(d: DestinationOutcome): string {
  const what =
    d.status === 'failed'
      ? `failed (${esc(d.error?.code ?? 'error')}): ${esc(d.error?.message ?? '')}`
      : d.plan
        ? `would ${esc(d.plan.join('; '))}`
        : `${esc(d.status)}${d.readBackDigest ? ` ${code(shortDigest(d.readBackDigest))}` : ''}${d.detail && d.status === 'skipped' ? ` (${esc(d.detail)})` : ''}`;
  const attempts = d.attempts > 1 ? ` after ${d.attempts} attempts` : '';
  const signed = provenanceText(d);
  return `${STATUS_ICON[d.status]} *${esc(d.name)}* [${esc(d.type)}]: ${what} in ${formatDuration(d.durationMs)}${attempts}${signed ? `; ${esc(signed)}` : ''}`;
}

function title(s: ReleaseSummary): string {
  if (s.dryRun) return `Dry run of ${s.project} ${s.version}: ${s.state === 'dry-run' ? 'all checks passed' : 'FAILED'}`;
  return s.state === 'published' ? `Released ${s.project} ${s.version}` : `Release of ${s.project} ${s.version} FAILED`;
}

/** The audit summary of a finished release: what the release channel keeps. */
export function releaseSummaryMessage(s: ReleaseSummary): SlackMessage {
  const icon = s.state === 'published' ? ':rocket:' : s.state === 'dry-run' ? ':test_tube:' : ':x:';
  return {
    text: esc(summaryText(s)),
    blocks: [
      header(`${icon} ${title(s)}`),
      fields([
        ['Project', `${code(s.project)} ${code(s.version)}`],
        ['Build', buildLink(s.build)],
        ['Commit', commitText(s.build)],
        ['Requested by', `${esc(s.requester.login)}${s.requester.chatUserId ? ` (${mention(s.requester.chatUserId)})` : ''}`],
        ['Approved by', s.approvers.length ? s.approvers.map(esc).join(', ') : '_no approvals required_'],
        ['Total time', formatDuration(s.durationMs)],
      ]),
      section(`*Artifact*\n${digestLines(s.artifact)}`),
      section(`*Destinations*\n${s.destinations.map(destinationLine).join('\n') || '_none ran_'}`),
      ...(s.error ? [section(`:warning: *${esc(s.error.code)}*: ${esc(s.error.message)}`)] : []),
      context(`release ${code(s.releaseId)}`, `audit entry ${code(s.auditId)}`, ...(s.resumeOf ? [`resumes ${code(s.resumeOf)}`] : [])),
    ],
  };
}

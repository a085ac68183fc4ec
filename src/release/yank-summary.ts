import type { YankRecord } from '../store/yanks.js';
import type { YankDestinationOutcome, YankSummary } from './yank.js';

const WORDS: Record<YankDestinationOutcome['status'], string> = {
  yanked: 'done',
  'already-yanked': 'already done',
  'cannot-yank': 'cannot',
  planned: 'would',
  failed: 'FAILED',
};

/** One line per destination: done, already done, cannot or failed, with what or why. */
export function yankDestinationLine(d: YankDestinationOutcome): string {
  const what = d.status === 'planned' ? (d.actions?.length ? d.actions.join('; ') : d.detail) : d.detail;
  return `${d.name} [${d.type}]: ${WORDS[d.status]}: ${what}${d.location && d.status !== 'planned' ? ` (${d.location})` : ''}`;
}

/** The yank summary as plain text: the terminal's view, and the fallback text of the chat message. */
export function yankSummaryText(s: YankSummary): string {
  const verb = s.dryRun ? 'Dry run of the yank of' : s.state === 'yanked' ? 'Yanked' : 'Yank FAILED:';
  return [
    `${verb} ${s.project} ${s.version}: ${s.reason}`,
    `requested by: ${s.requester.login}${s.approvers.length ? `; approved by: ${s.approvers.join(', ')}` : ''}`,
    ...s.destinations.map((d) => `  - ${yankDestinationLine(d)}`),
    ...(s.error ? [`error (${s.error.code}): ${s.error.message}`] : []),
    s.latest ? `latest is now ${s.latest}` : `no released version of ${s.project} is left that is not yanked`,
    ...(s.frozen ? [`${s.project} is frozen until someone unlocks it (/release unlock ${s.project}): ${s.frozen.reason}`] : []),
    `yank ${s.yankId}; audit entry ${s.auditId}`,
  ].join('\n');
}

/** `status`'s yanked section (CLI and ssh): nothing when no version was yanked. */
export function yankedLines(yanks: readonly YankRecord[]): string {
  if (yanks.length === 0) return '';
  return `yanked:\n${yanks.map((y) => `  ${y.version} ${y.state === 'yanked' ? 'yanked' : `yank ${y.state}`} by ${y.requesterLogin} at ${y.createdAt} (${y.id}): ${y.reason}`).join('\n')}\n`;
}

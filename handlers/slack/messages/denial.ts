import { ErrorCode, type ReleaseBotError } from '../../../src/errors.js';
import { code, context, esc, section, when, type SlackMessage } from './mrkdwn.js';

const HEADLINE: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.NotAuthorized]: ':no_entry: Not authorized',
  [ErrorCode.IdentityUnresolved]: ':bust_in_silhouette: Who are you in Conjur?',
  [ErrorCode.UnknownProject]: ':grey_question: Unknown project',
  [ErrorCode.NotStaged]: ':package: Not staged',
  [ErrorCode.AlreadyReleased]: ':ballot_box_with_check: Already released',
  [ErrorCode.InProgress]: ':arrows_counterclockwise: In progress',
  [ErrorCode.Frozen]: ':snowflake: Releases are frozen',
  [ErrorCode.ApprovalPending]: ':raised_hand: Approvals needed',
  [ErrorCode.ConjurUnavailable]: ':warning: Conjur did not answer',
  [ErrorCode.MembershipUndetermined]: ':warning: Conjur policy hides who is in the group',
  [ErrorCode.ArtifactMismatch]: ':rotating_light: The staged artifact changed',
  [ErrorCode.BadInput]: ':pencil2: Bad input',
  [ErrorCode.Conflict]: ':warning: Conflict',
  [ErrorCode.NotFound]: ':grey_question: Not found',
};

/** The facts a refusal carries (`details`), said plainly: which group, when and by whom, why. */
function detailLine(err: ReleaseBotError): string | undefined {
  const d = err.details;
  const s = (k: string) => (typeof d[k] === 'string' ? (d[k] as string) : undefined);
  switch (err.code) {
    case ErrorCode.NotAuthorized:
      if (d.reason === 'own-request')
        return `You asked for this release, so you cannot approve it: another member of ${code(s('group') ?? '?')} has to.`;
      return s('group')
        ? `You need to be a member of the Conjur group ${code(s('group') as string)}. Ask its owners to add you.`
        : undefined;
    case ErrorCode.AlreadyReleased:
      return `Released ${s('at') ? when(s('at') as string) : 'earlier'} by ${esc(s('by') ?? 'unknown')}${s('releaseId') ? ` (${code(s('releaseId') as string)})` : ''}. A released version is never published again.`;
    case ErrorCode.Frozen:
      return `Frozen by ${esc(s('by') ?? 'unknown')} since ${s('at') ? when(s('at') as string) : '?'}: _${esc(s('reason') ?? '')}_. Unfreeze with ${code('/release unlock <project>')}.`;
    case ErrorCode.InProgress:
      return s('by') ? `${esc(s('by') as string)} is releasing it right now; the release channel shows its progress.` : undefined;
    case ErrorCode.ApprovalPending:
      return typeof d.needed === 'number' ? `It needs ${d.needed} approval(s) first.` : undefined;
    default:
      return undefined;
  }
}

/** An error or refusal, shown only to the person who asked (ephemeral): what happened and what to do. */
export function errorMessage(err: ReleaseBotError): SlackMessage {
  const headline = HEADLINE[err.code] ?? ':x: Something went wrong';
  const detail = detailLine(err);
  return {
    // The detail line is escaped mrkdwn already: the fallback carries it as the blocks do.
    text: `${esc(`${headline.replace(/^:[a-z0-9_]+: /, '')}: ${err.message}`)}${detail ? `\n${detail}` : ''}`,
    blocks: [section(`*${headline}*\n${esc(err.message)}`), ...(detail ? [section(detail)] : []), context(`code ${code(err.code)}`)],
  };
}

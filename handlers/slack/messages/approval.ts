import type { types } from '@slack/bolt';
import type { ApprovalRequest } from '../../../src/release/approvals.js';
import type { StagedBuild } from '../../../src/store/staged-builds.js';
import { APPROVE_ACTION } from '../action-values.js';
import { buildLink, buildPlain, commitText, digestLines, digestsPlain } from './build-facts.js';
import { code, context, esc, fields, header, mention, section, when, type SlackMessage } from './mrkdwn.js';

const closed = (r: ApprovalRequest): string =>
  ({
    approved: `:white_check_mark: Approved: the ${asked(r)} is running`,
    expired: `:hourglass: Expired: nobody approved in time; ask for the ${asked(r)} again`,
    void: ':no_entry_sign: Void',
    open: '',
  })[r.status];

/** What is asked, as the header says it: "release conjur-cli 4.2.0" or "yank conjur-cli 4.2.0". */
const asked = (r: ApprovalRequest): string => (r.action === 'yank' ? 'yank' : 'release');

/**
 * The approval request in the channel, with an Approve button while it is open. Each approval and
 * the closing (approved, expired, void after a re-stage) replaces it with `chat.update`. A yank's
 * request shows its reason and the build that was published (the one taken back).
 */
export function approvalRequestMessage(r: ApprovalRequest, staged?: StagedBuild): SlackMessage {
  const who = `${r.project} ${r.version}`;
  const approvedBy = r.approvals.map((a) => esc(a.login)).join(', ') || '_nobody yet_';
  const status =
    r.status === 'open'
      ? `waiting for ${r.needed - r.approvals.length} more approval(s)`
      : closed(r) + (r.status === 'void' && r.closedReason ? `: ${esc(r.closedReason)}` : '');
  const blocks: types.KnownBlock[] = [
    header(`:raised_hand: ${r.requester.login} asks to ${asked(r)} ${who}${r.resume ? ' (resume)' : ''}`),
    ...(r.action === 'yank'
      ? [section(`*Reason* (approvals are bound to it): _${esc(r.reason ?? '')}_${r.noLock ? ' (--no-lock)' : ''}`)]
      : []),
    fields([
      ['Requested by', `${esc(r.requester.login)}${r.requester.chatUserId ? ` (${mention(r.requester.chatUserId)})` : ''}`],
      ['Needs', `${r.needed} approval(s) from members of ${code(r.approverGroup)}, not the requester`],
      ['Approved by', `${approvedBy} (${r.approvals.length} of ${r.needed})`],
      ['Expires', when(r.expiresAt)],
      ...(staged
        ? ([
            ['Build', buildLink(staged.build)],
            ['Commit', commitText(staged.build)],
          ] as const)
        : []),
    ]),
    ...(staged
      ? [
          section(
            `${r.action === 'yank' ? '*Artifact* (published, to be taken back)' : '*Artifact* (approvals are bound to these digests)'}\n${digestLines(staged.artifact)}`,
          ),
        ]
      : []),
    section(`*Status*: ${status}`),
  ];
  if (r.status === 'open') blocks.push(approveButton(r));
  blocks.push(context(`approval request ${code(r.id)}`));
  return {
    text: esc(
      `${r.requester.login} asks to ${asked(r)} ${who}${r.action === 'yank' ? ` (${r.reason ?? ''}${r.noLock ? ', --no-lock' : ''})` : ''}: ${r.approvals.length} of ${r.needed} approval(s) from ${r.approverGroup}${r.approvals.length ? ` (${r.approvals.map((a) => a.login).join(', ')})` : ''}; ` +
        `${staged ? `build ${buildPlain(staged.build)}, ${digestsPlain(staged.artifact)}; ` : ''}${r.status === 'open' ? `expires ${r.expiresAt}` : `${r.status}${r.status === 'void' && r.closedReason ? `: ${r.closedReason}` : ''}`}`,
    ),
    blocks,
  };
}

/** The Approve button, with a confirmation that says what the approver's name goes on. */
function approveButton(r: ApprovalRequest): types.KnownBlock {
  return {
    type: 'actions',
    block_id: `approve:${r.id}`,
    elements: [
      {
        type: 'button',
        action_id: APPROVE_ACTION,
        text: { type: 'plain_text', text: 'Approve', emoji: false },
        style: 'primary',
        value: r.id,
        confirm: {
          title: { type: 'plain_text', text: `Approve this ${asked(r)}?` },
          text: {
            type: 'mrkdwn',
            text: `${esc(r.requester.login)} will ${r.action === 'yank' ? 'yank' : 'publish'} ${code(r.project)} ${code(r.version)} with your name as approver.`,
          },
          confirm: { type: 'plain_text', text: 'Approve' },
          deny: { type: 'plain_text', text: 'Cancel' },
        },
      },
    ],
  };
}

/** An approval request closed (expired, void) whose own message this process cannot update (asked before a restart). */
export function approvalClosedMessage(r: ApprovalRequest): SlackMessage {
  const why = r.status === 'expired' ? `expired at ${r.expiresAt}` : `is void: ${r.closedReason ?? 'the build was re-staged'}`;
  return {
    text: esc(
      `The approval request ${r.id} for ${r.project} ${r.version} (asked by ${r.requester.login}) ${why}. Its Approve button no longer works; ask for the ${asked(r)} again.`,
    ),
    blocks: [
      section(
        `${r.status === 'expired' ? ':hourglass:' : ':no_entry_sign:'} The approval request for ${code(r.project)} ${code(r.version)} (asked by ${esc(r.requester.login)}) ${esc(why)}. Its Approve button no longer works; ask for the ${asked(r)} again.`,
      ),
      context(`approval request ${code(r.id)}`),
    ],
  };
}

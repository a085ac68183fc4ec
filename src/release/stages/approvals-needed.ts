import { ErrorCode, ReleaseBotError } from '../../errors.js';
import { need } from '../services.js';
import type { GateStage } from './context.js';

/** Approvals: a project of the two-person rule needs its approvers (checked by the approvals flow); a dry run needs none. */
export const approvals: GateStage = {
  name: 'approvals',
  deniedWithBuild: true,
  skip: (r) => r.options.dryRun === true && 'a dry run needs no approval',
  run: (r) => {
    const project = need(r.project);
    if (project.approvals > r.approvers.length) {
      throw new ReleaseBotError(
        ErrorCode.ApprovalPending,
        `${project.name} needs ${project.approvals} approval(s) from members of ${project.approver_group} other than the requester: request the release in Slack`,
        { details: { needed: project.approvals, have: r.approvers.length } },
      );
    }
  },
};

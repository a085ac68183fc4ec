import type { types } from '@slack/bolt';
import type { ProjectConfig } from '../../../src/config/load.js';
import type { StagedBuild } from '../../../src/store/staged-builds.js';
import { encodeReleaseValue, RELEASE_ACTION } from '../action-values.js';
import { buildLink, buildPlain, commitText, digestLines, digestsPlain } from './build-facts.js';
import { code, context, esc, fields, header, section, when, type SlackMessage } from './mrkdwn.js';

export interface ReadinessView {
  staged: StagedBuild;
  /** The build this one replaced (re-staged with other digests). */
  replaced?: Pick<StagedBuild, 'build' | 'stagedAt'> | undefined;
  project: Pick<ProjectConfig, 'name' | 'approvals' | 'approver_group' | 'authorized_group'> & {
    destinations: ReadonlyArray<{ name: string; type: string }>;
  };
}

/** "ready to release" with a Release button; a click runs the same flow as `/release <project> <version>`. */
export function readinessMessage(v: ReadinessView): SlackMessage {
  const { staged, project } = v;
  const who = `${staged.project} ${staged.version}`;
  const approvals =
    project.approvals > 0
      ? `needs ${project.approvals} approval(s) from members of ${project.approver_group} other than the requester`
      : 'no approvals needed';
  const button: types.Button = {
    type: 'button',
    action_id: RELEASE_ACTION,
    text: { type: 'plain_text', text: project.approvals > 0 ? 'Request release' : 'Release', emoji: false },
    style: 'primary',
    value: encodeReleaseValue({ project: staged.project, version: staged.version, stagedBuildId: staged.id }),
    confirm: {
      title: { type: 'plain_text', text: 'Release?' },
      text: {
        type: 'mrkdwn',
        text: `Publish ${code(staged.project)} ${code(staged.version)} (build ${buildLink(staged.build)}) to ${project.destinations.map((d) => esc(d.name)).join(', ')}?`,
      },
      confirm: { type: 'plain_text', text: 'Release' },
      deny: { type: 'plain_text', text: 'Cancel' },
    },
  };
  return {
    text: esc(
      `${who} is ready to release: build ${buildPlain(staged.build)}, ${digestsPlain(staged.artifact)}, staged by ${staged.reportedBy}${v.replaced ? ` (re-staged: replaces build ${buildPlain(v.replaced.build)})` : ''}; ` +
        `to ${project.destinations.map((d) => `${d.name} [${d.type}]`).join(', ')}; ${approvals}. Members of ${project.authorized_group} may release it.`,
    ),
    blocks: [
      header(`:package: ${who} is ready to release`),
      fields([
        ['Build', buildLink(staged.build)],
        ['Commit', commitText(staged.build)],
        ['Staged', `${when(staged.stagedAt)} by ${esc(staged.reportedBy)}`],
        ['Destinations', project.destinations.map((d) => `${esc(d.name)} [${esc(d.type)}]`).join(', ')],
        ['Who may release', `members of ${code(project.authorized_group)}`],
        ['Approvals', esc(approvals)],
      ]),
      section(`*Artifact*\n${digestLines(staged.artifact)}`),
      ...(v.replaced
        ? [
            context(
              `:warning: re-staged: replaces build ${buildLink(v.replaced.build)} staged ${when(v.replaced.stagedAt)}; approvals given for the earlier build are void`,
            ),
          ]
        : []),
      { type: 'actions', block_id: `release:${staged.id}`, elements: [button] },
      context(`or type ${code(`/release ${staged.project} ${staged.version}`)}`),
    ],
  };
}

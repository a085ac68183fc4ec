import type { Approvals } from '../../src/release/approvals.js';
import type { ReleaseCore } from '../../src/release/core.js';
import type { Freezes } from '../../src/release/freeze.js';
import type { Yanks } from '../../src/store/yanks.js';
import { assertVersion } from '../../src/validate.js';
import { auditListMessage, stagedListMessage, statusMessage } from './messages/listings.js';
import type { SlackMessage } from './messages/mrkdwn.js';

/** The read-only subcommands: answered from the bot's own records, fast enough to go in the ack. */
export function listReply(core: ReleaseCore, project?: string, yanks?: Yanks): SlackMessage {
  if (project) core.project(project);
  const yanked = new Map<string, Set<string>>();
  const isYanked = (p: string, v: string) => (yanked.get(p) ?? yanked.set(p, yanks?.yankedVersions(p) ?? new Set()).get(p))?.has(v);
  const items = core.staged.list(project, 30).map((staged) => ({
    staged,
    release: core.releases.live(staged.project, staged.version),
    yanked: isYanked(staged.project, staged.version),
  }));
  return stagedListMessage(items, project);
}

export function statusReply(
  core: ReleaseCore,
  approvals: Approvals,
  freezes: Freezes,
  project: string,
  version?: string,
  yanks?: Yanks,
): SlackMessage {
  core.project(project);
  if (version) assertVersion(version);
  const staged = version ? [core.staged.current(project, version)].filter((s) => s !== undefined) : core.staged.list(project, 10);
  return statusMessage({
    project,
    version,
    staged,
    releases: core.releases.latest(project, version, 10),
    freeze: freezes.get(project),
    approvals: approvals.open(project).filter((a) => !version || a.version === version),
    yanks: yanks?.latest(project, version, 10),
  });
}

export function auditReply(core: ReleaseCore, project: string | undefined, limit: number): SlackMessage {
  if (project) core.project(project);
  return auditListMessage(core.audit.list({ project, limit }), project);
}

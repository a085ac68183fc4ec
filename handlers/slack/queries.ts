import type { App, AuditReader, ReleaseReader, StagedReader, YankReader } from '../../src/app.js';
import type { Approvals } from '../../src/release/approvals.js';
import type { ReleaseCore } from '../../src/release/core.js';
import type { Freezes } from '../../src/release/freeze.js';
import { assertVersion } from '../../src/validate.js';
import { auditListMessage, stagedListMessage, statusMessage } from './messages/listings.js';
import type { SlackMessage } from './messages/mrkdwn.js';

/** The read-only subcommands: answered from the bot's own records, fast enough to go in the ack. */
export function listReply(
  deps: { core: ReleaseCore; staged: StagedReader; releases: ReleaseReader },
  project?: string,
  yanks?: YankReader,
): SlackMessage {
  if (project) deps.core.project(project);
  const yanked = new Map<string, Set<string>>();
  const isYanked = (p: string, v: string) => (yanked.get(p) ?? yanked.set(p, yanks?.yankedVersions(p) ?? new Set()).get(p))?.has(v);
  const items = deps.staged.list(project, 30).map((staged) => ({
    staged,
    release: deps.releases.live(staged.project, staged.version),
    yanked: isYanked(staged.project, staged.version),
  }));
  return stagedListMessage(items, project);
}

export function statusReply(
  deps: { core: ReleaseCore; approvals: Approvals; freezes: Freezes; projectStatus: App['projectStatus'] },
  project: string,
  version?: string,
): SlackMessage {
  deps.core.project(project);
  if (version) assertVersion(version);
  return statusMessage({
    project,
    version,
    ...deps.projectStatus(project, version),
    freeze: deps.freezes.get(project),
    approvals: deps.approvals.open(project).filter((a) => !version || a.version === version),
  });
}

export function auditReply(core: ReleaseCore, audit: AuditReader, project: string | undefined, limit: number): SlackMessage {
  if (project) core.project(project);
  return auditListMessage(audit.list({ project, limit }), project);
}

import type { ReleaseRecord, ReleaseState } from '../store/releases.js';
import { FINAL_STATES } from '../store/releases.js';
import type { StagedBuild } from '../store/staged-builds.js';
import type { YankRecord } from '../store/yanks.js';
import type { ReleaseCore } from './core.js';
import type { ReleaseReader, StagedReader, YankReader } from './ports.js';
import { yankedLines } from './yank-summary.js';

/** A project's (or one version's) staged builds, latest releases and yanks: what every `status` shows. */
export interface ProjectStatus {
  staged: StagedBuild[];
  releases: ReleaseRecord[];
  yanks: YankRecord[];
}

/**
 * The status of a project, and of one version when given, for every way in (the CLI, the ssh forced
 * command, Slack): an unknown project is refused; the current staged build of the version, or the
 * project's latest ten; its latest ten releases and yanks.
 */
export function projectStatus(
  core: Pick<ReleaseCore, 'project'> & { staged: StagedReader; releases: ReleaseReader },
  records: { yanks: YankReader },
  project: string,
  version?: string,
): ProjectStatus {
  core.project(project);
  const staged = version ? [core.staged.current(project, version)].filter((s) => s !== undefined) : core.staged.list(project, 10);
  return { staged, releases: core.releases.latest(project, version, 10), yanks: records.yanks.latest(project, version, 10) };
}

/** `status` as plain text (the terminal and the ssh forced command): staged, releases, then yanked when any. */
export function statusText(s: ProjectStatus): string {
  const staged = s.staged.map((b) => `  ${b.version} build #${b.build.number ?? '?'} staged ${b.stagedAt} by ${b.reportedBy}`);
  const releases = s.releases.map(
    (r) => `  ${r.version} ${r.state} by ${r.requesterLogin ?? '?'} at ${r.createdAt} (${r.id})${r.errorCode ? ` ${r.errorCode}` : ''}`,
  );
  return `staged:\n${staged.join('\n') || '  (none)'}\nreleases:\n${releases.join('\n') || '  (none)'}\n${yankedLines(s.yanks)}`;
}

/** A release in one of these states is over: nothing about it changes any more. */
export function isFinalState(state: ReleaseState): boolean {
  return FINAL_STATES.includes(state);
}

import type { Logger } from 'pino';
import type { AuditLog } from '../audit/log.js';
import type { Config } from '../config/load.js';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { ReleaseRecord, Releases } from '../store/releases.js';
import type { StagedBuild } from '../store/staged-builds.js';
import type { CoreEvents } from './events.js';
import { ownerIsDead, type ProcessProbe } from './owner.js';

export interface RecoveryDeps {
  releases: Releases;
  audit: AuditLog;
  events: CoreEvents;
  log: Logger;
  /** The policy in force, for the project the announcement names. */
  policy: () => Config;
}

/**
 * Releases left in a live state by a process that is provably gone (crash, SIGKILL, reboot): they
 * are marked `interrupted`, audited and announced. Nothing is published again until someone resumes
 * them. `serve` runs it for every release at start; every release and resume runs it first for its
 * own project+version, so a killed CLI or ssh release does not block the version until serve restarts.
 */
export function recoverInterrupted(deps: RecoveryDeps, probe: ProcessProbe, only?: { project: string; version: string }): ReleaseRecord[] {
  const recovered: ReleaseRecord[] = [];
  for (const release of deps.releases.inFlight(only?.project, only?.version)) {
    const owner = { host: release.ownerHost, bootId: release.ownerBootId, pid: release.ownerPid, startTime: release.ownerStartTime };
    if (!ownerIsDead(owner, probe)) continue;
    // Conditional: when two processes recover the same release, one audits and announces it.
    if (!deps.releases.markInterrupted(release.id, { code: 'INTERRUPTED', message: 'release-bot stopped while this release was running' }))
      continue;
    deps.log.warn(
      {
        releaseId: release.id,
        project: release.project,
        version: release.version,
        ownerPid: release.ownerPid,
        ownerHost: release.ownerHost,
      },
      'release of a process that no longer runs marked interrupted',
    );
    const destinations = deps.releases.destinations(release.id);
    const entry = deps.audit.append({
      type: 'interrupted',
      project: release.project,
      version: release.version,
      releaseId: release.id,
      actor: { via: 'release-bot' },
      data: { previousState: release.state, destinations: destinations.map((d) => ({ name: d.destination, status: d.status })) },
    });
    const updated = deps.releases.get(release.id) as ReleaseRecord;
    deps.events.emit('release-interrupted', { release: updated, project: deps.policy().projects.get(release.project), auditId: entry.id });
    recovered.push(updated);
  }
  return recovered;
}

/** The interrupted or failed release of this staged build a resume continues. */
export function resumable(releases: Releases, project: string, version: string, staged: StagedBuild): ReleaseRecord {
  const previous = releases.latest(project, version, 20).find((x) => !x.dryRun && (x.state === 'interrupted' || x.state === 'failed'));
  if (!previous)
    throw new ReleaseBotError(ErrorCode.NotFound, `${project} ${version} has no interrupted or failed release to resume`, {
      details: { reason: 'nothing-to-resume' },
    });
  if (previous.stagedBuildId !== staged.id) {
    throw new ReleaseBotError(
      ErrorCode.Conflict,
      `${project} ${version} was re-staged after release ${previous.id}: start a new release instead of resuming`,
    );
  }
  return previous;
}

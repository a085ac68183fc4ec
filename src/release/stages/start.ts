import { setState } from '../services.js';
import type { RunStage } from './context.js';
import { artifactDigests } from './label-text.js';

/** Start: the authorized, locked release is audited as requested, its state set and announced. */
export const start: RunStage = {
  name: 'start',
  run: (r) => {
    const { s, release, project, staged } = r;
    r.requested = s.audit.append({
      type: 'requested',
      project: project.name,
      version: release.version,
      releaseId: release.id,
      actor: r.actor,
      data: {
        authorizedBy: project.authorized_group,
        approvers: r.approvers,
        dryRun: r.dryRun,
        resumeOf: r.previous?.id,
        build: staged.build,
        artifact: artifactDigests(staged.artifact),
        policySha256: release.policySha256,
      },
    });
    setState(s, release.id, 'authorized');
    const destinations = project.destinations.map((d) => d.name);
    s.events.emit('release-started', { release, staged, project, requester: r.requester, destinations });
    r.log.info({ login: r.requester.login, via: r.requester.via, dryRun: r.dryRun, resumeOf: r.previous?.id }, 'release started');
  },
};

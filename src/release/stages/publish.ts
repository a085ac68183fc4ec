import { ErrorCode, ReleaseBotError } from '../../errors.js';
import { runDestinations } from '../run-destinations.js';
import { newerReleased } from '../newer-released.js';
import { destinationCredentials, withBinaryCredentials } from '../destination-credentials.js';
import { need, setState } from '../services.js';
import type { DestinationOutcome } from '../types.js';
import type { ReleaseRun, RunStage } from './context.js';

/** Destinations: a job per destination still to run (a resume skips those its previous release finished), each with its credentials. */
export const destinations: RunStage = {
  name: 'destinations',
  run: (r) => {
    const finished = r.previous ? r.s.releases.destinations(r.previous.id) : [];
    r.done = new Map(finished.filter((d) => d.status === 'published' || d.status === 'already-present').map((d) => [d.destination, d]));
    for (const destination of r.project.destinations) {
      if (r.done.has(destination.name)) continue;
      const publisher = r.s.publishers.get(destination.type);
      if (!publisher)
        throw new ReleaseBotError(ErrorCode.ConfigInvalid, `destination ${destination.name} has unknown type ${destination.type}`);
      const { credentials, binary } = destinationCredentials(destination, publisher, r.secrets);
      const job = { destination, publisher: withBinaryCredentials(publisher, binary), credentials };
      r.jobs.push(r.provenance && !r.dryRun ? r.provenance.sign(job) : job);
    }
  },
};

/** Publish: every destination's preflight, then publish and read back (run-destinations.ts); the outcomes in the project's order. */
export const publish: RunStage = {
  name: 'publish',
  run: async (r) => {
    const { s, release, project, staged } = r;
    setState(s, release.id, 'publishing');
    const ran = await runDestinations(r.jobs, {
      releaseId: release.id,
      context: {
        project: project.name,
        version: release.version,
        releaseId: release.id,
        build: staged.build,
        artifact: staged.artifact,
        dir: need(r.dir),
        labelFile: need(r.labelFile),
        newerReleased: newerReleased(s.db, project.name, release.version),
        redact: (t) => s.redactor.redact(t),
      },
      tmpRoot: need(r.tmpRoot),
      concurrency: project.concurrency,
      dryRun: r.dryRun,
      log: r.log,
      releases: s.releases,
      events: s.events,
      shutdown: s.work.signal,
      retryBaseMs: s.retryBaseMs,
      now: () => s.now().getTime(),
    });
    const order = project.destinations.map((d) => d.name);
    r.outcomes = [...ran, ...doneBefore(r)].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  },
};

/** The destinations the resumed release had finished: recorded for this one as skipped. */
function doneBefore(r: ReleaseRun): DestinationOutcome[] {
  return [...r.done.values()].map((d) => {
    r.s.releases.upsertDestination({ ...d, releaseId: r.release.id, detail: `done in ${r.previous?.id}` });
    return {
      name: d.destination,
      type: d.type,
      status: 'skipped',
      attempts: 0,
      durationMs: 0,
      readBackDigest: d.readBackDigest ?? undefined,
      location: d.location ?? undefined,
      detail: `done in ${r.previous?.id}`,
      attestations: d.attestationsJson ? (JSON.parse(d.attestationsJson) as DestinationOutcome['attestations']) : undefined,
    };
  });
}

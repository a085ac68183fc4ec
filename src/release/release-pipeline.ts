import type { AuditActor } from '../audit/log.js';
import type { SecretValue } from '../conjur/secret-value.js';
import type { ProjectConfig } from '../config/load.js';
import type { ReleaseRecord } from '../store/releases.js';
import { runPipeline, type Pipeline } from './pipeline.js';
import { need, type CoreServices } from './services.js';
import { admit } from './stages/admit.js';
import { approvals } from './stages/approvals-needed.js';
import { authorize } from './stages/authorize.js';
import type { GateStage, ReleaseRequest, ReleaseRun, RunStage } from './stages/context.js';
import { credentials, provenance } from './stages/credentials.js';
import { cleanup, finalize } from './stages/finalize.js';
import { label, placeLabel, stagingLabel } from './stages/label.js';
import { lock } from './stages/lock.js';
import { destinations, publish } from './stages/publish.js';
import { recover } from './stages/recover.js';
import { refuse } from './stages/refuse.js';
import { resume } from './stages/resume.js';
import { start } from './stages/start.js';
import { verify } from './stages/verify.js';
import { workspace } from './stages/workspace.js';
import type { ReleaseOptions, ReleaseSummary, Requester } from './types.js';

/** The gates of a release, in order; the first that says no refuses it (audited as denied). Authorized and locked, it is a release. */
export const releaseGates: Pipeline<ReleaseRequest, GateStage, ReleaseRequest> = {
  name: 'release-gates',
  stages: [admit, authorize, recover, approvals, resume, lock],
  outcome: (r, failure) => (failure ? refuse(r, failure) : r),
};

/** A locked release: verified, labelled, given its credentials, published; its outcome is audited whatever happened. */
export const releaseRun: Pipeline<ReleaseRun, RunStage, ReleaseSummary> = {
  name: 'release',
  stages: [start, workspace, verify, label, stagingLabel, credentials, provenance, destinations, publish, placeLabel],
  cleanup,
  outcome: finalize,
};

/**
 * A release as `requester`, through its two pipelines: the gates (a refusal throws a coded error after
 * being audited), a free release slot, then the release itself (its outcome returned as a summary).
 */
export async function releaseThroughStages(
  s: CoreServices,
  releaseId: string,
  ask: { projectName: string; version: string; requester: Requester; options: ReleaseOptions },
): Promise<ReleaseSummary> {
  const actor: AuditActor = { via: ask.requester.via, chatUserId: ask.requester.chatUserId, conjurLogin: ask.requester.login };
  const request: ReleaseRequest = {
    ...ask,
    s,
    releaseId,
    policy: s.policy(),
    actor,
    startedMs: s.now().getTime(),
    approvers: ask.options.approvers ?? [],
  };
  const admitted = await runPipeline(releaseGates, request, s.log);
  // Authorized and locked: a second request is told it is in progress while this one waits its turn.
  if (s.slots.full) s.log.info({ queued: s.slots.queued + 1, slots: s.slots.size }, 'release authorized; waiting for a free release slot');
  const free = await s.slots.acquire();
  try {
    const run = runOf(admitted, need(admitted.release), need(admitted.project));
    return await runPipeline(releaseRun, run, run.log);
  } finally {
    free();
  }
}

function runOf(r: ReleaseRequest, release: ReleaseRecord, project: ProjectConfig): ReleaseRun {
  return {
    s: r.s,
    log: r.s.log.child({ releaseId: release.id, project: project.name, version: release.version }),
    release,
    project,
    staged: need(r.staged),
    requester: r.requester,
    actor: r.actor,
    approvers: r.approvers,
    previous: r.previous,
    startedMs: r.startedMs,
    dryRun: Boolean(r.options.dryRun),
    // The provenance key is read in the same one batch as the destinations' credentials.
    credentialIds: [
      ...new Set([
        ...project.destinations.flatMap((d) => Object.values(d.credentials)),
        ...(project.provenance ? [project.provenance.signing_key] : []),
      ]),
    ].sort(),
    secrets: new Map<string, SecretValue>(),
    done: new Map(),
    jobs: [],
    outcomes: [],
  };
}

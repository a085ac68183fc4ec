import type { ProjectConfig } from '../config/load.js';
import type { StagedBuild } from '../store/staged-builds.js';
import type { ReleaseRecord, ReleaseState } from '../store/releases.js';
import type { DestinationOutcome, ReleaseSummary, Requester } from './types.js';

/** What the core tells the ways out (chat, metrics) while it works. Listeners must not throw. */
export interface CoreEventMap {
  staged: [{ staged: StagedBuild; replaced?: StagedBuild | undefined; project: ProjectConfig }];
  'stage-conflict': [
    {
      project: ProjectConfig;
      version: string;
      reportedBy: string;
      build: StagedBuild['build'];
      releasedBy: string | null;
      releaseId: string;
    },
  ];
  'release-started': [
    { release: ReleaseRecord; staged: StagedBuild; project: ProjectConfig; requester: Requester; destinations: string[] },
  ];
  'release-state': [{ releaseId: string; state: ReleaseState }];
  'destination-started': [{ releaseId: string; destination: string; type: string; attempt: number }];
  'destination-progress': [{ releaseId: string; destination: string; message: string }];
  'destination-finished': [{ releaseId: string; outcome: DestinationOutcome }];
  'release-finished': [{ summary: ReleaseSummary; project: ProjectConfig }];
  'release-denied': [{ project: string; version: string; requester: Requester; code: string; message: string; auditId: string }];
  'release-interrupted': [{ release: ReleaseRecord; project: ProjectConfig | undefined; auditId: string }];
  /** serve put a new projects file in place (see src/config/reload.ts). */
  'policy-changed': [{ file: string; sha256: string; previousSha256: string; trigger: string; changes: string[]; auditId: string }];
  /** serve refused an edited projects file: the running policy stays. */
  'policy-rejected': [{ file: string; sha256: string | null; runningSha256: string; trigger: string; problems: string[]; auditId: string }];
}

/** The core's events travel on the app's one bus (src/events.ts); `CoreEvents` is its former name. */
export { EventBus as CoreEvents } from '../events.js';

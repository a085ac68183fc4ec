import path from 'node:path';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/log.js';
import type { Config, ProjectConfig } from '../config/load.js';
import type { Conjur } from '../conjur/types.js';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { PublisherDefinition } from '../publishing/types.js';
import type { Redactor } from '../redact.js';
import type { Db } from '../store/db.js';
import type { ReleaseRecord, Releases } from '../store/releases.js';
import type { StagedBuilds } from '../store/staged-builds.js';
import type { Quarantine } from '../staging/quarantine.js';
import { assertProjectName, assertVersion, clip } from '../validate.js';
import type { InFlight } from './drain.js';
import type { CoreEvents } from './events.js';
import type { ProcessProbe } from './owner.js';
import type { Slots } from './slots.js';

/** What the stages of a release and of staging use: built once by the ReleaseCore, shared by every run. */
export interface CoreServices {
  /** The configuration the process started with (data and staging directories, limits). */
  config: Config;
  /** The policy new runs start under (serve's reload swaps it); a release captures it once. */
  policy: () => Config;
  db: Db;
  conjur: Conjur;
  publishers: ReadonlyMap<string, PublisherDefinition>;
  redactor: Redactor;
  log: Logger;
  /** The manifest digest of an image on the staging registry (skopeo inspect). */
  inspectImage?: ((ref: string, tlsVerify: boolean) => Promise<string>) | undefined;
  /** The release's re-check of a staged image by digest, without a process (a registry HEAD). */
  recheckImage?: ((ref: string, tlsVerify: boolean) => Promise<string>) | undefined;
  now: () => Date;
  probe: ProcessProbe;
  retryBaseMs: number;
  audit: AuditLog;
  staged: StagedBuilds;
  releases: Releases;
  quarantine: Quarantine;
  events: CoreEvents;
  slots: Slots;
  work: InFlight;
}

/** A Conjur login as the bot accepts it (user or host, nested ids). */
export const CONJUR_LOGIN = /^[A-Za-z0-9@._-]+(\/[A-Za-z0-9@._-]+)*$/;

/** A project of `policy` by name, or UNKNOWN_PROJECT naming the known ones. */
export function projectOf(name: string, policy: Config): ProjectConfig {
  assertProjectName(name);
  const project = policy.projects.get(name);
  if (!project) {
    throw new ReleaseBotError(
      ErrorCode.UnknownProject,
      `unknown project ${JSON.stringify(clip(name))}: known projects are ${[...policy.projects.keys()].join(', ') || 'none'}`,
    );
  }
  return project;
}

/** The staging directory of a version (both names checked: nothing escapes the staging root). */
export function versionDir(stagingDir: string, project: string, version: string): string {
  return path.join(stagingDir, assertProjectName(project), assertVersion(version));
}

/** A release's state change, recorded and told to the ways out. */
export function setState(
  s: Pick<CoreServices, 'releases' | 'events'>,
  id: string,
  state: ReleaseRecord['state'],
  error?: { code: string; message: string },
): void {
  s.releases.setState(id, state, error);
  s.events.emit('release-state', { releaseId: id, state });
}

/** A value an earlier stage set; its absence is a bug in the order of the stages. */
export function need<T>(value: T | undefined): T {
  if (value === undefined) throw new ReleaseBotError(ErrorCode.Internal, 'a stage ran before the one that prepares its input');
  return value;
}

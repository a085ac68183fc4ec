import path from 'node:path';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/log.js';
import type { Config, ProjectConfig } from '../config/load.js';
import type { Conjur } from '../conjur/types.js';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import { withLogContext } from '../log.js';
import type { PublisherDefinition } from '../publishing/types.js';
import type { Redactor } from '../redact.js';
import { EventBus } from '../events.js';
import type { Db } from '../store/db.js';
import { newReleaseId, type ReleaseRecord, type Releases } from '../store/releases.js';
import type { StagedBuilds } from '../store/staged-builds.js';
import { Quarantine } from '../staging/quarantine.js';
import { clip } from '../validate.js';
import { InFlight } from './drain.js';
import { systemProbe, type ProcessProbe } from './owner.js';
import { recoverInterrupted } from './recovery.js';
import { releaseThroughStages } from './release-pipeline.js';
import { CONJUR_LOGIN, projectOf, versionDir, type CoreServices } from './services.js';
import { Slots } from './slots.js';
import { stageBuild, type StageReport, type StageResult } from './stage-build.js';
import type { ReleaseOptions, ReleaseSummary, Requester } from './types.js';

export type { StageReport, StageResult } from './stage-build.js';
export { artifactDigests } from './stages/label-text.js';
export { assertExpectedStaged } from './stages/expected-staged.js';

export interface CoreDeps {
  config: Config;
  db: Db;
  conjur: Conjur;
  publishers: ReadonlyMap<string, PublisherDefinition>;
  redactor: Redactor;
  log: Logger;
  /** The manifest digest of an image on the staging registry (skopeo inspect). */
  inspectImage?: (ref: string, tlsVerify: boolean) => Promise<string>;
  /** The release's re-check of a staged image by digest, without a process (a registry HEAD). */
  recheckImage?: (ref: string, tlsVerify: boolean) => Promise<string>;
  now?: () => Date;
  /** How the owner of a live release is looked up (tests); the real processes of this machine by default. */
  probe?: ProcessProbe;
  /** First retry delay; doubles each attempt. */
  retryBaseMs?: number;
  /** Releases that verify and publish at once (RELEASE_BOT_MAX_CONCURRENT_RELEASES); the rest queue. */
  maxConcurrentReleases?: number;
  /** The app's event bus (app/create.ts), where the core emits; its own when not given. */
  events?: EventBus;
  /**
   * The audit log and the repositories the core writes, built by app/create.ts (on the same bus), which
   * gives the other services and the ways in only narrow views of them (src/release/ports.ts): the core
   * keeps them private.
   */
  audit: AuditLog;
  staged: StagedBuilds;
  releases: Releases;
}

/**
 * The release core: every way in (Slack, Jenkins, CLI, ssh) calls these methods, so every request
 * gets the same checks: Conjur membership, the lock on project+version, the digests recorded at staging.
 * A facade: staging (stage-build.ts), the release's stages (release-pipeline.ts), crash recovery
 * (recovery.ts) and draining (drain.ts) each live in their own module.
 */
export class ReleaseCore {
  readonly events: EventBus;
  /** The bot's own copies of staged files; releases read only these (see Quarantine). */
  readonly quarantine: Quarantine;
  private readonly work = new InFlight();
  private readonly probe: ProcessProbe;
  /** The policy new releases start under; `replaceConfig` swaps it (serve's reload). */
  private policy: Config;
  private readonly services: CoreServices;

  constructor(deps: CoreDeps) {
    const now = deps.now ?? (() => new Date());
    this.policy = deps.config;
    this.probe = deps.probe ?? systemProbe;
    this.events = deps.events ?? new EventBus();
    this.quarantine = new Quarantine(path.join(deps.config.dataDir, 'quarantine'));
    this.services = {
      ...deps,
      policy: () => this.policy,
      now,
      probe: this.probe,
      retryBaseMs: deps.retryBaseMs ?? 1000,
      quarantine: this.quarantine,
      events: this.events,
      slots: new Slots(deps.maxConcurrentReleases ?? 4),
      work: this.work,
    };
  }

  get config(): Config {
    return this.policy;
  }

  /**
   * Puts a new policy (projects file) in place for every release that starts from now on. One
   * reference swap: a release already running keeps the policy it captured when it started.
   */
  replaceConfig(next: Config): void {
    this.policy = next;
  }

  project(name: string, policy: Config = this.policy): ProjectConfig {
    return projectOf(name, policy);
  }

  versionDir(project: string, version: string): string {
    return versionDir(this.policy.stagingDir, project, version);
  }

  /** Whether a Conjur login belongs to a group, directly or through nested groups. Conjur errors throw: callers fail closed. */
  async isMember(login: string, group: string): Promise<boolean> {
    if (!CONJUR_LOGIN.test(login)) throw new ReleaseBotError(ErrorCode.BadInput, `invalid Conjur login ${JSON.stringify(clip(login))}`);
    return this.services.conjur.isMember(login, group);
  }

  /** Records a staged build after checking its files (or image) against the report (the staging pipeline). */
  stage(report: StageReport): Promise<StageResult> {
    return stageBuild(this.services, report);
  }

  /**
   * Runs a release as `requester`. Refusals (bad input, unknown project, not staged, not authorized,
   * Conjur unreachable, in progress, already released) throw a coded error after being audited; once
   * the release holds its lock, the outcome (published, failed, dry-run) is returned as a summary.
   */
  release(projectName: string, version: string, requester: Requester, options: ReleaseOptions = {}): Promise<ReleaseSummary> {
    if (this.work.signal.aborted) {
      return Promise.reject(new ReleaseBotError(ErrorCode.InProgress, 'release-bot is shutting down: ask again in a minute'));
    }
    // The id exists from the first moment, so every log line of the request (the Conjur client's
    // included, through the log context) carries it, also when the request is refused.
    const releaseId = newReleaseId();
    const context = { releaseId, project: clip(String(projectName), 100), version: clip(String(version), 100) };
    const ask = { projectName, version, requester, options };
    return this.work.add(withLogContext(context, () => releaseThroughStages(this.services, releaseId, ask)));
  }

  /** Marks the releases of dead processes interrupted (see recovery.ts); serve runs it at start. */
  recoverInterrupted(probe: ProcessProbe = this.probe, only?: { project: string; version: string }): ReleaseRecord[] {
    const s = this.services;
    return recoverInterrupted({ releases: s.releases, audit: s.audit, events: s.events, log: s.log, policy: s.policy }, probe, only);
  }

  /** Waits for in-flight releases; after `timeoutMs` they are told to stop. */
  drain(timeoutMs?: number): Promise<void> {
    return this.work.drain(timeoutMs);
  }

  /**
   * Runs other work of the core's (a yank) as in flight: `drain` waits for it, and nothing new starts
   * while the bot shuts down. `signal` aborts when the bot stops for good.
   */
  track<T>(start: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.work.track(start);
  }

  get inFlightCount(): number {
    return this.work.count;
  }

  /**
   * Remembers the channel message that shows a release (Slack's channel and ts), so that the process
   * that finds it interrupted after a crash updates it in place. A durable commit: serve's release
   * thread makes it, off the thread that acknowledges Slack (app/release-thread.ts).
   */
  recordMessage(releaseId: string, channel: string, ts: string): Promise<void> {
    try {
      this.services.releases.recordMessage(releaseId, channel, ts);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
}

import type { Logger } from 'pino';
import type { App } from '../../src/app.js';
import type { Approvals, ApprovalRequest } from '../../src/release/approvals.js';
import type { ReleaseCore } from '../../src/release/core.js';
import type { CoreEventMap } from '../../src/release/events.js';
import type { DestinationOutcome, ReleaseSummary } from '../../src/release/types.js';
import type { YankSummary } from '../../src/release/yank.js';
import { isFinalState } from '../../src/release/status.js';
import type { ReleaseRecord } from '../../src/store/releases.js';
import type { SlackChat } from './chat.js';
import { approvalClosedMessage, approvalRequestMessage } from './messages/approval.js';
import type { SlackMessage } from './messages/mrkdwn.js';
import { interruptedMessage, policyRejectedMessage, stageConflictMessage } from './messages/notices.js';
import { readinessMessage, type ReadinessView } from './messages/readiness.js';
import { destinationFinishedMessage, releaseProgressMessage, type ProgressView } from './messages/release-progress.js';
import { releaseSummaryMessage } from './messages/release-summary.js';
import { yankSummaryMessage } from './messages/yank-summary.js';
import { ReleaseMessage, UPDATE_INTERVAL_MS, type Thread } from './release-message.js';

interface TrackedRelease {
  message: ReleaseMessage;
  view: ProgressView;
}

/**
 * Tells the release channel what the core does: readiness notes with a Release button, one message
 * per release updated as it goes (at most once a second, the latest state winning; one reply in its
 * thread per destination outcome; the audit summary at the end), approval requests, stage conflicts
 * and interrupted releases. Dry runs stay with their requester.
 */
export class ReleaseAnnouncer {
  private readonly releases = new Map<string, TrackedRelease>();
  private readonly approvalThreads = new Map<string, Thread>();
  private readonly pending = new Set<Promise<void>>();
  private readonly announced = new Set<string>();

  constructor(
    private readonly core: ReleaseCore,
    /** What the channel notes read back: the audit, the releases and the staged builds, read only. */
    private readonly records: Pick<App, 'audit' | 'releases' | 'staged'>,
    private readonly approvals: Approvals,
    private readonly chat: SlackChat,
    private readonly log: Logger,
    private readonly updateIntervalMs = UPDATE_INTERVAL_MS,
  ) {}

  /** Listens to the core's events and the approvals'. */
  attach(): this {
    this.listenToCore();
    const ap = this.approvals.events;
    ap.on('approval-requested', ({ request, staged }) => {
      const channel = this.channelOf(request.project);
      const ts = this.chat.post(channel, approvalRequestMessage(request, staged));
      const thread: Thread = { channel, ts, queue: ts.then(() => undefined) };
      this.approvalThreads.set(request.id, thread);
      this.track(thread.queue);
    });
    ap.on('approval-recorded', ({ request }) => this.updateApproval(request));
    ap.on('approval-closed', ({ request }) => {
      // A request asked before a restart has no message this process knows: say in the channel that it ended.
      if (!this.updateApproval(request) && request.status !== 'approved') {
        this.track(this.chat.post(this.channelOf(request.project), approvalClosedMessage(request)).then(() => undefined));
      }
      this.approvalThreads.delete(request.id);
    });
    return this;
  }

  private listenToCore(): void {
    const ev = this.core.events;
    ev.on('staged', ({ staged, replaced, project }) => this.announceStaged({ staged, replaced, project }));
    ev.on('stage-conflict', (e) => {
      this.track(this.chat.post(e.project.channel, stageConflictMessage({ ...e, project: e.project.name })).then(() => undefined));
    });
    ev.on('release-started', (e) => this.releaseStarted(e));
    ev.on('release-state', ({ releaseId, state }) => {
      const t = this.releases.get(releaseId);
      if (!t || isFinalState(state)) return;
      t.view.state = state;
      this.updateMain(t);
    });
    ev.on('destination-started', (e) => {
      const t = this.releases.get(e.releaseId);
      if (!t) return;
      const d = t.view.destinations.find((x) => x.name === e.destination);
      if (d) d.running = true;
      // Shown in the message ("running"), not in the thread: the thread gets one reply per outcome.
      this.updateMain(t);
      t.message.post();
    });
    ev.on('destination-finished', ({ releaseId, outcome }) => this.destinationFinished(releaseId, outcome));
    ev.on('release-finished', ({ summary }) => {
      const t = this.releases.get(summary.releaseId);
      if (!t) return;
      this.releases.delete(summary.releaseId);
      t.message.show(releaseSummaryMessage(summary), { final: true });
    });
    ev.on('release-interrupted', ({ release, auditId }) => this.announceInterrupted(release, auditId));
    // Once per refused file content (the reloader does not emit a repeat): the release channel of the policy in force.
    ev.on('policy-rejected', (e) => this.track(this.chat.post(this.core.config.channel, policyRejectedMessage(e)).then(() => undefined)));
  }

  /** A release's own message in its project's channel (not for a dry run), updated as it goes. */
  private releaseStarted({ release, staged, project, requester, destinations }: CoreEventMap['release-started'][0]): void {
    if (release.dryRun) return;
    const view: ProgressView = {
      releaseId: release.id,
      project: project.name,
      version: release.version,
      // The core emits this once the requester is authorized; the record it carries predates that.
      state: 'authorized',
      build: staged.build,
      artifact: staged.artifact,
      requester,
      approvers: release.approvers,
      resumeOf: release.resumeOf,
      destinations: destinations.map((name) => ({ name, type: project.destinations.find((d) => d.name === name)?.type })),
    };
    const message = new ReleaseMessage(project.channel, releaseProgressMessage(view), {
      chat: this.chat,
      intervalMs: this.updateIntervalMs,
      enqueue: (thread, work) => this.enqueue(thread, work),
      track: (p) => this.track(p),
      posted: (ts) => this.recordMessage(release.id, project.channel, ts),
    });
    this.releases.set(release.id, { message, view });
  }

  private destinationFinished(releaseId: string, outcome: DestinationOutcome): void {
    const t = this.releases.get(releaseId);
    if (!t) return;
    const d = t.view.destinations.find((x) => x.name === outcome.name);
    if (d) Object.assign(d, { running: false, outcome });
    this.reply(t, destinationFinishedMessage(outcome));
    // Every destination done: the summary comes next and takes this update's place.
    this.updateMain(
      t,
      t.view.destinations.every((x) => x.outcome !== undefined),
    );
  }

  /**
   * `serve()` marks the releases a crash left mid-way as interrupted before the handlers are mounted,
   * so their events found no listener: announce them from the audit entries this process wrote.
   */
  announceRecovered(since: string): void {
    const entries = this.records.audit.list({ limit: 200 }).filter((e) => e.type === 'interrupted' && e.at >= since && e.releaseId);
    for (const e of entries.reverse()) {
      const release = this.records.releases.get(e.releaseId as string);
      if (release) this.announceInterrupted(release, e.id);
    }
  }

  /** "ready to release" with a Release button, in the project's channel. */
  announceStaged(view: ReadinessView & { project: { channel: string } }): void {
    this.track(this.chat.post(view.project.channel, readinessMessage(view)).then(() => undefined));
  }

  /** The audit summary of a release this process did not run (so it has no progress message to update). */
  announceSummary(summary: ReleaseSummary): void {
    if (summary.dryRun) return;
    this.track(this.chat.post(this.channelOf(summary.project), releaseSummaryMessage(summary)).then(() => undefined));
  }

  /** Settles when every message queued so far has been sent (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** A yank's summary in the project's channel (a yank run by another process: the CLI, the ssh forced command). */
  announceYank(summary: YankSummary): void {
    this.track(this.chat.post(this.channelOf(summary.project), yankSummaryMessage(summary)).then(() => undefined));
  }

  /**
   * The channel note for a release a crash left mid-way (once per audit entry), with how to resume it:
   * in place of the release's own message when one was posted, else a new message.
   */
  announceInterrupted(release: ReleaseRecord, auditId: string): void {
    if (this.announced.has(auditId)) return;
    this.announced.add(auditId);
    const message = interruptedMessage(release, this.records.releases.destinations(release.id), auditId);
    // The release's own message said "running": it is replaced, so the channel never shows a dead release as live.
    const shown = this.records.releases.message(release.id);
    if (shown) this.track(this.chat.update(shown.channel, shown.ts, message));
    else this.track(this.chat.post(this.channelOf(release.project), message).then(() => undefined));
  }

  /** Remembered in the database, not in memory: the process that updates the message after a crash is another one. */
  private async recordMessage(releaseId: string, channel: string, ts: string): Promise<void> {
    try {
      await this.core.recordMessage(releaseId, channel, ts);
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message, releaseId },
        'could not record the release message: a restart after a crash will post a new one',
      );
    }
  }

  private channelOf(project: string): string {
    return this.core.config.projects.get(project)?.channel ?? this.core.config.channel;
  }

  /** Replaces the request's message; false when this process never posted it. */
  private updateApproval(request: ApprovalRequest): boolean {
    const thread = this.approvalThreads.get(request.id);
    if (!thread) return false;
    const staged = this.records.staged.byId(request.stagedBuildId);
    this.enqueue(thread, async (ts) => {
      if (ts) await this.chat.update(thread.channel, ts, approvalRequestMessage(request, staged));
    });
    return true;
  }

  private updateMain(t: TrackedRelease, hold = false): void {
    t.message.show(releaseProgressMessage(structuredClone(t.view)), { hold });
  }

  private reply(t: TrackedRelease, message: SlackMessage): void {
    this.enqueue(t.message, async (ts) => {
      if (ts) await this.chat.post(t.message.channel, message, ts);
    });
  }

  private enqueue(thread: Thread, work: (ts: string | undefined) => Promise<void>): void {
    thread.queue = thread.queue
      .then(async () => work(await thread.ts))
      .catch((err: unknown) => {
        this.log.warn({ err: (err as Error).message }, 'could not update the release channel');
      });
    this.track(thread.queue);
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'could not post to the release channel'));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }
}

import type { Logger } from 'pino';
import { canonicalJson } from '../../src/audit/canonical.js';
import type { AuditEntry, AuditEntryOf } from '../../src/audit/entries.js';
import type { AuditReader, ReleaseReader, StagedReader } from '../../src/app.js';
import type { Config } from '../../src/config/load.js';
import type { EventBus } from '../../src/events.js';
import { artifactDigests } from '../../src/release/core.js';
import type { ReleaseAnnouncer } from './announcer.js';
import { summaryFromAudit, yankSummaryFromAudit } from './summary-from-audit.js';

/** Staged builds announced, kept to this many: enough to never announce one build twice in a burst. */
const REMEMBERED = 1000;

/**
 * Only `serve` speaks in Slack, but `release-bot stage`, `release-bot publish` and the ssh forced
 * command work in other processes on the same database, and their events never reach this one.
 * The audit log is the event log they share: every staging and every release end is an entry, in
 * `seq` order. This polls it for entries this process did not append itself (those were announced
 * from the in-process events) and announces them: a readiness note for `staged`, the audit summary
 * for a real release's `published` or `failed` and for a yank's `yanked` or `yank-failed`, the resume hint for `interrupted`. The Slack mount calls `poll()` every second.
 *
 * It starts at the head of the log: a restart never announces an entry again (what other processes
 * did while serve was down is not announced either; `/release list` shows it).
 */
export class AuditWatcher {
  private position = 0;
  private readonly own = new Set<number>();
  private readonly announcedStaged = new Set<number>();
  private stopped = false;
  private readonly audit: AuditReader;

  constructor(
    private readonly app: {
      /** The policy in force (its projects). */
      config: Config;
      /** The shared log, read only: what other processes appended. */
      audit: AuditReader;
      staged: StagedReader;
      releases: ReleaseReader;
      /** The app's bus: the entries this process (and serve's release thread) appended, its own. */
      bus: EventBus;
    },
    private readonly announcer: ReleaseAnnouncer,
    private readonly log: Logger,
  ) {
    this.audit = app.audit;
  }

  start(): this {
    // Listening before reading the head: an entry this process appends in between is still known as its own.
    this.app.bus.on('audit-appended', (entry) => {
      if (!this.stopped && entry.seq > this.position) this.own.add(entry.seq);
    });
    this.position = this.audit.list({ limit: 1 })[0]?.seq ?? 0;
    return this;
  }

  /** Announces every entry other processes appended since the last look. */
  poll(): void {
    if (this.stopped) return;
    try {
      for (;;) {
        const entries = this.audit.entriesAfter(this.position, 100);
        if (entries.length === 0) return;
        for (const entry of entries) {
          // Advanced first: an entry that cannot be announced is skipped, never retried in a loop.
          this.position = entry.seq;
          if (this.own.delete(entry.seq)) continue;
          this.announce(entry);
        }
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message, seq: this.position }, 'could not read the audit log for work done by other processes');
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private announce(entry: AuditEntry): void {
    if (entry.type === 'staged') this.staged(entry);
    else if (entry.type === 'published' || entry.type === 'failed') this.finished(entry);
    else if (entry.type === 'interrupted') this.interrupted(entry);
    else if (entry.type === 'yanked' || entry.type === 'yank-failed') this.yanked(entry);
  }

  /** A yank another process ran (`release-bot yank`, the ssh forced command): its summary, as a Slack yank posts it. */
  private yanked(entry: AuditEntry): void {
    const summary = yankSummaryFromAudit(entry);
    if (!summary) return;
    this.log.info(
      { yankId: summary.yankId, project: summary.project, version: summary.version, auditId: entry.id },
      'announcing a yank another process ran',
    );
    this.announcer.announceYank(summary);
  }

  /** Another process (a CLI publish or resume) found a release whose owner died, and marked it. */
  private interrupted(entry: AuditEntry): void {
    const release = entry.releaseId ? this.app.releases.get(entry.releaseId) : undefined;
    if (!release) return;
    this.log.info(
      { releaseId: release.id, project: release.project, version: release.version, auditId: entry.id },
      'announcing a release another process found interrupted',
    );
    this.announcer.announceInterrupted(release, entry.id);
  }

  private staged(entry: AuditEntryOf<'staged'>): void {
    const project = entry.project ? this.app.config.projects.get(entry.project) : undefined;
    if (!project || !entry.version) return;
    const staged = this.app.staged.current(project.name, entry.version);
    // The Release button names the staged build: announce only the one this entry recorded, while it is current.
    if (!staged || this.announcedStaged.has(staged.id) || !sameBuild(entry, staged)) {
      this.log.debug(
        { project: project.name, version: entry.version, auditId: entry.id },
        'staged build already replaced or announced: no readiness note',
      );
      return;
    }
    this.remember(staged.id);
    const replaces = entry.data.replaces;
    this.log.info(
      { project: project.name, version: entry.version, auditId: entry.id, by: staged.reportedBy },
      'announcing a build staged by another process',
    );
    this.announcer.announceStaged({
      staged,
      replaced: replaces?.stagedAt ? { stagedAt: replaces.stagedAt, build: replaces.build } : undefined,
      project,
    });
  }

  private finished(entry: AuditEntry): void {
    const release = entry.releaseId ? this.app.releases.get(entry.releaseId) : undefined;
    if (!release) return;
    const staged = release.stagedBuildId !== null ? this.app.staged.byId(release.stagedBuildId) : undefined;
    const summary = summaryFromAudit(entry, release, staged);
    if (!summary) return;
    this.log.info(
      { releaseId: release.id, project: release.project, version: release.version, via: release.via, auditId: entry.id },
      'announcing a release run by another process',
    );
    this.announcer.announceSummary(summary);
  }

  private remember(stagedId: number): void {
    this.announcedStaged.add(stagedId);
    if (this.announcedStaged.size > REMEMBERED) this.announcedStaged.delete(this.announcedStaged.values().next().value as number);
  }
}

function sameBuild(entry: AuditEntryOf<'staged'>, staged: { artifact: Parameters<typeof artifactDigests>[0]; build: unknown }): boolean {
  return (
    canonicalJson(entry.data.artifact) === canonicalJson(artifactDigests(staged.artifact)) &&
    canonicalJson(entry.data.build) === canonicalJson(staged.build)
  );
}

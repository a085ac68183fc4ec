import type { Logger } from 'pino';
import type { VerifyResult } from './audit/verify.js';
import type { Config } from './config/load.js';
import type { Conjur } from './conjur/types.js';
import type { EventBus } from './events.js';
import type { Metrics } from './metrics.js';
import type { Redactor } from './redact.js';
import type { ReleaseCore } from './release/core.js';
import type { Approvals } from './release/approvals.js';
import type { Denials } from './release/denials.js';
import type { Freezes } from './release/freeze.js';
import type { AuditReader, ReleaseReader, StagedReader, YankReader } from './release/ports.js';
import type { ProjectStatus } from './release/status.js';
import type { YankService } from './release/yank.js';

export type { AuditReader, ReleaseReader, StagedReader, YankReader } from './release/ports.js';

/**
 * What a way in (a handler) is given: the core and the things it shares. Built by `app/create.ts`,
 * the one place that wires the core to its handlers and publishers.
 */
export interface App {
  config: Config;
  core: ReleaseCore;
  /** `/release yank` and `rollback`: the same gates as a release, undone per destination. */
  yanks: YankService;
  /** The yanks as a way in sees them: read only (the yank service records them). */
  yankRecords: YankReader;
  /** Refusals at a way in (identity, audit_group, a refused forced command): audited by the core, never by a handler. */
  denials: Denials;
  /** The audit log as a way in sees it: read and watched, never appended to (the core writes it). */
  audit: AuditReader;
  /** The staged builds as a way in sees them: read only (staging is the core's). */
  staged: StagedReader;
  /** The releases as a way in sees them: read only (the core records them). */
  releases: ReleaseReader;
  /** The status every way in shows (src/release/status.ts): the staged builds, releases and yanks of a project. */
  projectStatus(project: string, version?: string): ProjectStatus;
  /**
   * The freezes and approvals of a front end (Slack's), with its log and clock (tests travel in time):
   * wired here to the audit log and the store, which the front end never holds.
   */
  approvalServices(options: ApprovalServicesOptions): { freezes: Freezes; approvals: Approvals };
  /** The one event bus: what the core, approvals, the audit log and the policy reloader tell the chat side and the forwarders. */
  bus: EventBus;
  conjur: Conjur;
  /**
   * Whether the database is still open: serve closes it when it stops, and a way in's timers stop with it.
   * A way in never holds the database itself (app/create.ts keeps it); these three are what it may know of it.
   */
  storeOpen(): boolean;
  /** What `doctor` reports of the database: its schema version and whether the audit chain is intact. */
  databaseHealth(): { schema: number; chain: VerifyResult };
  /** Audit entries each forwarder has not delivered yet (only the forwarders with a backlog). */
  forwardingBacklog(): { forwarder: string; n: number }[];
  log: Logger;
  redactor: Redactor;
  metrics: Metrics;
  close(): void;
}

export interface ApprovalServicesOptions {
  log: Logger;
  /** Clock for approval expiry and freeze times (tests). */
  now?: (() => Date) | undefined;
}

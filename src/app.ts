import type { Logger } from 'pino';
import type { AuditLog } from './audit/log.js';
import type { Config } from './config/load.js';
import type { Conjur } from './conjur/types.js';
import type { EventBus } from './events.js';
import type { Metrics } from './metrics.js';
import type { Redactor } from './redact.js';
import type { ReleaseCore } from './release/core.js';
import type { Denials } from './release/denials.js';
import type { YankService } from './release/yank.js';
import type { Db } from './store/db.js';
import type { Releases } from './store/releases.js';
import type { StagedBuilds } from './store/staged-builds.js';

/**
 * What a way in (a handler) is given: the core and the things it shares. Built by `app/create.ts`,
 * the one place that wires the core to its handlers and publishers.
 */
export interface App {
  config: Config;
  core: ReleaseCore;
  /** `/release yank` and `rollback`: the same gates as a release, undone per destination. */
  yanks: YankService;
  /** Refusals at a way in (identity, audit_group, a refused forced command): audited by the core, never by a handler. */
  denials: Denials;
  /** The audit log as a way in sees it: read and watched, never appended to (the core writes it). */
  audit: AuditReader;
  /** The staged builds as a way in sees them: read only (staging is the core's). */
  staged: StagedReader;
  /** The releases as a way in sees them: read only (the core records them). */
  releases: ReleaseReader;
  /** The one event bus: what the core, approvals, the audit log and the policy reloader tell the chat side and the forwarders. */
  bus: EventBus;
  conjur: Conjur;
  db: Db;
  log: Logger;
  redactor: Redactor;
  metrics: Metrics;
  close(): void;
}

/** What handlers may do with the audit log: read it (new entries are heard of on the bus); writing is the core's. */
export type AuditReader = Pick<AuditLog, 'list' | 'get' | 'entriesAfter'>;

/** What handlers may read of the staged builds. */
export type StagedReader = Pick<StagedBuilds, 'current' | 'byId' | 'list'>;

/** What handlers may read of the releases. */
export type ReleaseReader = Pick<Releases, 'get' | 'live' | 'latest' | 'destinations' | 'message'>;

import type { AuditLog } from '../audit/log.js';
import type { Releases } from '../store/releases.js';
import type { StagedBuilds } from '../store/staged-builds.js';
import type { Yanks } from '../store/yanks.js';

/**
 * The narrow views of the audit log and the store that app/create.ts hands out: the core keeps the
 * repositories themselves, and nobody reaches them through it.
 */

/** What the core's services (freezes, approvals, yanks, denials) do with the audit log: append, nothing else. */
export type AuditAppend = Pick<AuditLog, 'append'>;

/** What a way in may do with the audit log: read it (new entries are heard of on the bus); writing is the core's. */
export type AuditReader = Pick<AuditLog, 'list' | 'get' | 'entriesAfter'>;

/** The staged builds, read only: staging is the core's. */
export type StagedReader = Pick<StagedBuilds, 'current' | 'byId' | 'list' | 'quarantineKeep'>;

/** The releases, read only: the core records them. */
export type ReleaseReader = Pick<Releases, 'get' | 'live' | 'latest' | 'inFlight' | 'destinations' | 'message'>;

/** The yanks, read only: the yank service records them. */
export type YankReader = Pick<Yanks, 'get' | 'live' | 'latest' | 'yankedVersions' | 'destinations' | 'publications'>;

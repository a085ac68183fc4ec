import type {
  StagedData,
  StageRefusedData,
  RequestedData,
  ReleaseEndData,
  InterruptedData,
  DeniedData,
  ApprovalRequestedData,
  ApprovedData,
  ApprovalVoidData,
  FrozenData,
  UnfrozenData,
  ConfigChangedData,
  ConfigRejectedData,
  YankRequestedData,
  YankEndData,
  YankInterruptedData,
} from './entry-data.js';

export type * from './entry-data.js';

/**
 * One type per kind of audit entry: the writers append through it and the readers (the Slack
 * announcements of work done by other processes, `audit trace`) read through it, narrowing on `type`.
 *
 * What a reader may not count on is optional here, whatever the writers do today: an entry is
 * permanent, so one written by an older release-bot lacks the fields added since, and an entry over
 * MAX_AUDIT_DATA_BYTES keeps only its small top-level fields (`truncated` says so), so its arrays
 * and objects may be gone.
 */

export interface AuditActor {
  /** Slack user id, `jenkins:<job>`, `cli:<unix user>`, `ssh:<login>` ... */
  via: string;
  chatUserId?: string | undefined;
  conjurLogin?: string | undefined;
}

/** Each kind of entry and what its `data` holds. */
export interface AuditDataByType {
  staged: StagedData;
  'stage-refused': StageRefusedData;
  requested: RequestedData;
  'approval-requested': ApprovalRequestedData;
  approved: ApprovedData;
  'approval-void': ApprovalVoidData;
  denied: DeniedData;
  published: ReleaseEndData;
  failed: ReleaseEndData;
  interrupted: InterruptedData;
  'dry-run': ReleaseEndData;
  frozen: FrozenData;
  unfrozen: UnfrozenData;
  'config-changed': ConfigChangedData;
  'config-rejected': ConfigRejectedData;
  'yank-requested': YankRequestedData;
  yanked: YankEndData;
  'yank-failed': YankEndData;
  'yank-dry-run': YankEndData;
  'yank-interrupted': YankInterruptedData;
}

export type AuditType = keyof AuditDataByType;

/** Every kind, in the order of AuditDataByType: for tests and for readers that list them. */
export const AUDIT_TYPES = [
  'staged',
  'stage-refused',
  'requested',
  'approval-requested',
  'approved',
  'approval-void',
  'denied',
  'published',
  'failed',
  'interrupted',
  'dry-run',
  'frozen',
  'unfrozen',
  'config-changed',
  'config-rejected',
  'yank-requested',
  'yanked',
  'yank-failed',
  'yank-dry-run',
  'yank-interrupted',
] as const satisfies readonly AuditType[];

/** What every entry holds besides its kind and data. */
export interface AuditEntryBase {
  seq: number;
  id: string;
  at: string;
  project: string | null;
  version: string | null;
  releaseId: string | null;
  actor: AuditActor;
  prevHash: string;
  hash: string;
}

/** An entry of one kind. */
export type AuditEntryOf<T extends AuditType> = AuditEntryBase & { type: T; data: AuditDataByType[T] };

/** An entry of any kind: narrow on `type` to read its data. */
export type AuditEntry = { [T in AuditType]: AuditEntryOf<T> }[AuditType];

/** What a writer gives for an entry of one kind; the log adds id, time, sequence and hashes. */
export type AuditInputOf<T extends AuditType> = {
  type: T;
  actor: AuditActor;
  data: AuditDataByType[T];
  project?: string | null | undefined;
  version?: string | null | undefined;
  releaseId?: string | null | undefined;
};

/** What a writer gives for an entry of any kind. */
export type AuditInput = { [T in AuditType]: AuditInputOf<T> }[AuditType];

/** Whether `entry` is of one of `types`, narrowing it: `entries.filter(isAuditType('published', 'failed'))`. */
export function isAuditType<T extends AuditType>(...types: T[]): (entry: AuditEntry) => entry is AuditEntryOf<T> & AuditEntry {
  return (entry): entry is AuditEntryOf<T> & AuditEntry => (types as AuditType[]).includes(entry.type);
}

/** The error code of a refusal (`denied`, `stage-refused`), if the entry is one. */
export function auditCode(entry: AuditEntry): string | undefined {
  return 'code' in entry.data && typeof entry.data.code === 'string' ? entry.data.code : undefined;
}

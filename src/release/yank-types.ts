import type { YankDestinationStatus, YankState } from '../store/yanks.js';
import type { Freeze } from './freeze.js';
import type { Requester } from './types.js';

export interface YankOptions {
  /** Every check and the credential fetch run; each destination says what it would do; nothing changes. */
  dryRun?: boolean | undefined;
  /** Do not freeze the project afterwards. */
  noLock?: boolean | undefined;
  /** Logins that approved (two-person rule), already checked by whoever collected them. */
  approvers?: string[] | undefined;
}

export interface YankDestinationOutcome {
  name: string;
  type: string;
  status: YankDestinationStatus;
  /** What was done, or why not. */
  detail: string;
  location?: string | undefined;
  /** Dry runs: what the destination would do. */
  actions?: string[] | undefined;
  error?: { code: string; message: string } | undefined;
}

export interface YankSummary {
  yankId: string;
  project: string;
  version: string;
  reason: string;
  state: Exclude<YankState, 'yanking'>;
  dryRun: boolean;
  requester: Requester;
  approvers: string[];
  destinations: YankDestinationOutcome[];
  /** Conjur variable ids read (never values). */
  credentialIds: string[];
  /** The freeze this yank put in place (none with --no-lock, a dry run, or when the project was frozen already). */
  frozen?: Freeze | undefined;
  /** The highest released version left that is not yanked: what `latest` points at now. */
  latest?: string | undefined;
  startedAt: string;
  finishedAt: string;
  auditId: string;
  error?: { code: string; message: string } | undefined;
}

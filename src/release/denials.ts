import type { AuditActor, AuditEntry, AuditLog } from '../audit/log.js';
import { toReleaseBotError, type ReleaseBotError } from '../errors.js';
import { clip } from '../validate.js';
import type { ReleaseCore } from './core.js';
import { assertMember } from './membership.js';
import type { Requester } from './types.js';

/** What the audit records of a refusal at a way in, besides its code and reason. */
export interface DenialRecord {
  /** `denied` (the default), or `stage-refused` for a staging refused before anything was read. */
  type?: 'denied' | 'stage-refused';
  actor: AuditActor;
  project?: string | null | undefined;
  version?: string | null | undefined;
  /** More of what was refused (the action, the ssh command), recorded beside the code and the reason. */
  data?: Record<string, unknown>;
}

/**
 * The refusals a way in makes before the core's own gates (an identity it cannot resolve, a reader
 * outside audit_group, a forced command it cannot parse, a stager outside the project's group): each is
 * a security event, audited here and nowhere else. Handlers get this, never the audit log's `append`.
 */
export class Denials {
  constructor(private readonly deps: { audit: Pick<AuditLog, 'append'>; core: Pick<ReleaseCore, 'isMember'> }) {}

  /** Audits the refusal and hands it back for the caller to throw. */
  deny(err: ReleaseBotError, record: DenialRecord): ReleaseBotError {
    this.record(err, record);
    return err;
  }

  /** Audits the refusal; returns the entry (its id is what the chat and the terminal cite). */
  record(err: ReleaseBotError, record: DenialRecord): AuditEntry {
    return recordDenial(this.deps.audit, err, record);
  }

  /**
   * The fail-closed membership check (src/release/membership.ts) at a way in: not a member, Conjur
   * down or the membership undetermined all refuse, and the refusal is audited before it is thrown.
   */
  async assertMember(who: Requester, group: string, refusal: string, record: DenialRecord): Promise<void> {
    try {
      await assertMember(this.deps.core, who, group, refusal);
    } catch (thrown) {
      throw this.deny(toReleaseBotError(thrown), record);
    }
  }
}

/** The audit entry of a refusal: what was refused (clipped), who asked, what was asked, the code and the reason. */
export function recordDenial(audit: Pick<AuditLog, 'append'>, err: ReleaseBotError, record: DenialRecord): AuditEntry {
  return audit.append({
    type: record.type ?? 'denied',
    ...(record.project !== undefined ? { project: record.project === null ? null : clip(record.project, 100) } : {}),
    ...(record.version !== undefined ? { version: record.version === null ? null : clip(record.version, 100) } : {}),
    actor: record.actor,
    data: { ...record.data, code: err.code, reason: err.message },
  });
}

/**
 * Runs `work`; whatever it throws is a refusal, audited (as `describe` says once the work has failed:
 * it may have learnt the project and version by then) and thrown on as a coded error.
 */
export async function refusalsAudited<T>(
  audit: Pick<AuditLog, 'append'>,
  describe: () => DenialRecord,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (thrown) {
    const err = toReleaseBotError(thrown);
    recordDenial(audit, err, describe());
    throw err;
  }
}

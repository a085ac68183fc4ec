import type { FrozenData } from '../audit/entries.js';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { Db } from '../store/db.js';
import { FreezeRecords, type Freeze } from '../store/freezes.js';
import { actorOf } from './actor.js';
import type { ReleaseCore } from './core.js';
import { refusalsAudited } from './denials.js';
import { assertMember } from './membership.js';
import type { AuditAppend } from './ports.js';
import { oneLineReason } from './reason.js';
import type { Requester } from './types.js';

export type { Freeze } from '../store/freezes.js';

/**
 * Locks and unlocks releases of a project (`/release lock|unlock`). Only members of the project's
 * authorized group may do either: a freeze stops releases, so it is as sensitive as a release. Every
 * lock, unlock and refusal is audited. The core itself reads the `freezes` table when it releases.
 */
export class Freezes {
  private readonly records: FreezeRecords;

  constructor(
    private readonly core: Pick<ReleaseCore, 'project' | 'isMember'>,
    /** Every lock, unlock and refusal is audited here (app/create.ts gives the append only). */
    private readonly audit: AuditAppend,
    db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.records = new FreezeRecords(db);
  }

  get(project: string): Freeze | undefined {
    return this.records.get(project);
  }

  list(): Freeze[] {
    return this.records.list();
  }

  async lock(projectName: string, reason: string, actor: Requester): Promise<Freeze> {
    return this.audited('lock', projectName, actor, async () => {
      const project = this.core.project(projectName);
      const why = cleanReason(reason);
      await this.assertMayFreeze(actor, project.authorized_group, project.name);
      const freeze: Freeze = { project: project.name, by: actor.login, reason: why, at: this.now().toISOString() };
      if (!this.records.insert(freeze)) {
        const current = this.get(project.name) as Freeze;
        throw new ReleaseBotError(
          ErrorCode.Conflict,
          `${project.name} is already frozen by ${current.by} since ${current.at}: ${current.reason}`,
          {
            details: { by: current.by, at: current.at, reason: current.reason },
          },
        );
      }
      this.audit.append({ type: 'frozen', project: project.name, actor: actorOf(actor), data: { reason: why } });
      return freeze;
    });
  }

  /**
   * Freezes a project as the last step of a yank (as shipit locks deploys after a rollback), whose
   * requester already passed the yank's own gate (yank_group). A project frozen already stays frozen
   * as it was (undefined). Audited as `frozen`, with `data` saying which yank froze it.
   */
  freezeAfterYank(project: string, reason: string, actor: Requester, data: Pick<FrozenData, 'yankId' | 'version'>): Freeze | undefined {
    const freeze: Freeze = { project, by: actor.login, reason: cleanReason(reason), at: this.now().toISOString() };
    if (!this.records.insert(freeze)) return undefined;
    this.audit.append({ type: 'frozen', project, actor: actorOf(actor), data: { reason: freeze.reason, ...data } });
    return freeze;
  }

  /** Lifts a freeze; returns the freeze that was lifted. */
  async unlock(projectName: string, actor: Requester): Promise<Freeze> {
    return this.audited('unlock', projectName, actor, async () => {
      const project = this.core.project(projectName);
      await this.assertMayFreeze(actor, project.authorized_group, project.name);
      const current = this.get(project.name);
      if (!current) throw new ReleaseBotError(ErrorCode.NotFound, `${project.name} is not frozen`);
      this.records.delete(project.name);
      this.audit.append({
        type: 'unfrozen',
        project: project.name,
        actor: actorOf(actor),
        data: { lockedBy: current.by, lockedAt: current.at, reason: current.reason },
      });
      return current;
    });
  }

  private async assertMayFreeze(actor: Requester, group: string, project: string): Promise<void> {
    await assertMember(
      this.core,
      actor,
      group,
      `${actor.login} is not a member of the Conjur group ${group}, which may freeze and release ${project}`,
    );
  }

  private async audited<T>(action: 'lock' | 'unlock', project: string, actor: Requester, work: () => Promise<T>): Promise<T> {
    return refusalsAudited(this.audit, () => ({ project, actor: actorOf(actor), data: { action } }), work);
  }
}

/** A freeze's reason: one line of printable text (see reason.ts). */
function cleanReason(reason: string): string {
  return oneLineReason(reason, 'say why the project is frozen: `/release lock <project> <reason>`');
}

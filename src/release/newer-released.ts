import type { Db } from '../store/db.js';
import { releasedVersions } from '../store/yanks.js';
import { compareVersions } from './version-order.js';

/** The highest released, not yanked version of the project when it is newer than `version` (see PublishContext). */
export function newerReleased(db: Db, project: string, version: string): string | undefined {
  const highest = releasedVersions(db, project).sort(compareVersions).at(-1);
  return highest !== undefined && compareVersions(highest, version) > 0 ? highest : undefined;
}

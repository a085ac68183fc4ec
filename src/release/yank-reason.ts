import { oneLineReason } from './reason.js';

export { MAX_REASON } from './reason.js';

/** A yank's reason: one line of printable text (see reason.ts). */
export function cleanReason(reason: string): string {
  return oneLineReason(reason, 'say why the version is yanked: `/release yank <project> <version> <reason>`');
}

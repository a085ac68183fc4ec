import { ErrorCode, ReleaseBotError } from '../errors.js';

/** The longest reason a yank keeps (a freeze reason holds as many characters, the prefix included). */
export const MAX_REASON = 300;

/** A reason is shown in chat, the audit, an npm deprecation and a file: one line of printable text. */
export function cleanReason(reason: string): string {
  const clean = reason
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!clean) throw new ReleaseBotError(ErrorCode.BadInput, 'say why the version is yanked: `/release yank <project> <version> <reason>`');
  if (clean.length > MAX_REASON)
    throw new ReleaseBotError(ErrorCode.BadInput, `the reason is ${clean.length} characters long: keep it under ${MAX_REASON}`);
  return clean;
}

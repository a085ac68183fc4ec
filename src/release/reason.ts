import { ErrorCode, ReleaseBotError } from '../errors.js';

/** The longest reason kept (a freeze or a yank; a freeze after a yank holds as many characters, its prefix included). */
export const MAX_REASON = 300;

/**
 * A reason is shown in chat, the audit, an npm deprecation and a file: one line of printable text (control
 * characters and the Unicode line and paragraph separators become spaces), at most MAX_REASON long.
 * `missing` says how to give one when there is none.
 */
export function oneLineReason(reason: string, missing: string): string {
  const clean = reason
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!clean) throw new ReleaseBotError(ErrorCode.BadInput, missing);
  if (clean.length > MAX_REASON)
    throw new ReleaseBotError(ErrorCode.BadInput, `the reason is ${clean.length} characters long: keep it under ${MAX_REASON}`);
  return clean;
}

import { clip } from '../../src/validate.js';

/** Hostile input quoted back in an answer or a log: control characters replaced, length clipped. */
export function safeText(s: string, max = 80): string {
  // eslint-disable-next-line no-control-regex
  return clip(s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?'), max);
}

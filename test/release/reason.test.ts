import { ErrorCode } from '../../src/errors.js';
import { MAX_REASON, oneLineReason } from '../../src/release/reason.js';
import { cleanReason } from '../../src/release/yank-reason.js';

describe('a freeze or yank reason (src/release/reason.ts)', () => {
  it('is one line of printable text: control characters and the Unicode line and paragraph separators become spaces', () => {
    expect(oneLineReason(' broken\r\nbuild\u2028see\u2029ticket\u0007 42 ', 'say why')).toBe('broken build see ticket 42');
  });

  it('refuses an empty reason with the hint it is given, and one over MAX_REASON characters', () => {
    expect(() => oneLineReason(' \n\u2028 ', 'say why the project is frozen')).toThrow(
      expect.objectContaining({ code: ErrorCode.BadInput, message: 'say why the project is frozen' }),
    );
    expect(() => oneLineReason('x'.repeat(MAX_REASON + 1), 'say why')).toThrow(
      expect.objectContaining({ code: ErrorCode.BadInput, message: expect.stringContaining(`keep it under ${MAX_REASON}`) }),
    );
    expect(oneLineReason('x'.repeat(MAX_REASON), 'say why')).toHaveLength(MAX_REASON);
  });

  it("is a yank's with the yank's hint", () => {
    expect(() => cleanReason('')).toThrow('say why the version is yanked: `/release yank <project> <version> <reason>`');
  });
});

import { lint } from '../support/lint.js';

/**
 * Issue 14: no file over 300 lines and no function over 60 in the product (src/, app/, handlers/,
 * publishers/), enforced by the lint in CI, without exemptions: the release and the ways in stay
 * split into stages and small named steps instead of growing back into one long function.
 */
const PRODUCT_FILES = ['src/release/sneaky.ts', 'app/sneaky.ts', 'handlers/jenkins/sneaky.ts', 'publishers/sneaky.ts'];

const functionOf = (lines: number) =>
  [
    'export function long(): number {',
    '  let n = 0;',
    ...Array.from({ length: lines - 4 }, () => '  n += 1;'),
    '  return n;',
    '}',
    '',
  ].join('\n');

describe('the size rules hold in every product folder', () => {
  it.each(PRODUCT_FILES)(
    '%s: a function of 61 lines is refused, one of 60 passes',
    async (file) => {
      const long = await lint(file, functionOf(61));
      expect(long.code).toBe(1);
      expect(long.out).toMatch(/too many lines \(61\)\. Maximum allowed is 60/);
      const fits = await lint(file, functionOf(60));
      expect(fits.out).not.toMatch(/max-lines/);
      expect(fits.code).toBe(0);
    },
    120_000,
  );

  it.each(PRODUCT_FILES)(
    '%s: a file of 301 lines is refused',
    async (file) => {
      const source = ['export const lines: number[] = [];', ...Array.from({ length: 300 }, (_, i) => `lines.push(${i});`)].join('\n');
      const r = await lint(file, source);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/File has too many lines \(301\)\. Maximum allowed is 300/);
    },
    120_000,
  );

  it('tests and benchmarks are not held to it', async () => {
    const r = await lint('test/release/sneaky.test.ts', functionOf(80));
    expect(r.out).not.toMatch(/max-lines/);
  }, 120_000);
});

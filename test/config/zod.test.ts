import { z } from '../../src/config/zod.js';

/**
 * The product's zod (src/config/zod.ts) stands in for zod's translations until one is asked for: every
 * problem is still written in English, and a translation still loads when something asks for it.
 */
describe('the configuration zod', () => {
  it('writes its problems in English', () => {
    expect(z.string().safeParse(1).error?.issues[0]?.message).toBe('Invalid input: expected string, received number');
  });

  it('loads a translation on first use', () => {
    const de = z.locales.de;
    expect(typeof de).toBe('function');
    expect('fr' in z.locales).toBe(true);
  });
});

import { describe, expect, it } from '@jest/globals';
import { canonicalJson } from '../../src/audit/canonical.js';

/** The definition canonicalJson's one-pass writer must match byte for byte (the audit chain's hashes depend on it). */
function reference(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([, x]) => x !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, x]) => [k, sortKeys(x)]),
      );
    }
    return v;
  };
  return JSON.stringify(sortKeys(value));
}

describe('canonicalJson', () => {
  const values: unknown[] = [
    null,
    0,
    -0,
    1.5e300,
    Number.NaN,
    'a "quoted" \u2028 line\nand \ud800 a lone surrogate',
    true,
    [],
    {},
    [1, undefined, 'x', null, { b: 1, a: [2, { d: undefined, c: 3 }] }],
    { z: 1, a: { y: [true, false], b: 'é', B: 'upper', _: '_' }, m: undefined, ключ: 'значение' },
    { 10: 'ten', 9: 'nine', a: 'a', '01': 'zero-one', '-1': 'minus' },
    { at: new Date(0), buf: Buffer.from('x'), nested: { toJSON: () => 'own' } },
    Object.assign(Object.create(null) as object, { b: 2, a: 1 }),
    // eslint-disable-next-line no-sparse-arrays
    [1, , 3],
    { fn: () => 1, sym: Symbol('s'), list: [() => 1] },
    { actor: { login: 'alice', chat: 'U1' }, data: { files: [{ path: 'a/b.tgz', sha256: 'f'.repeat(64), size: 4096 }] } },
  ];

  it.each(values.map((v, i) => [i, v]))('writes value %i as JSON.stringify of the key-sorted copy does', (_, value) => {
    expect(canonicalJson(value)).toBe(reference(value));
  });
});

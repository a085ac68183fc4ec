import { createHash } from 'node:crypto';
import { migrations } from '../../src/store/migrations.js';

/**
 * A released migration is never edited (src/store/migrations.ts): a database migrated by an older
 * release-bot has run exactly this text, and a fresh one must end up with the same schema. The text is
 * partly built from shared constants (the audit chain's columns, a destination row's first columns), so
 * an edit to one of them would change released migrations silently; this pins what each one says.
 */
const released = [
  '1ca3e0a95d583261acebe13548b176f60f7de56ffbef5139c9bb5a3063720529',
  'bad5540bc181f8226cbcd453bcdb50da9d40d91f7e99580796bdf393dd65f339',
  '6406f43020d3557cede0fdb57a0f7105266233e12562bb201bd55a37a6e8d707',
  '908793ce98bc785e291c76babf8674e0a2e883fbe0fb539553eb8a83029329d5',
  '7800023b1f660fc8dbfbcd9cd124290cb2a21d62dc99cfc751e6845215f7276c',
  'e7a8c60dc1d7152127eb9a90bb33c67d4e8d4914407b77c99686c599759ca72b',
  'e9a97741b2ca25ee4f4ee4515dba41178316c8b0b363f32b67fb128d6bd6b9ce',
  'b8c1d4586121e8bcca04fea89496d5b74d7f2e614f794ab6e7813fd410992a60',
  'a4316143d323621f2c43851d9fee0a6e7e0cf743e056d83050de8dbed44390a1',
  '68bed597052de40a0ddc37705ed78f767d0ecbd93654e23dd6623647be317417',
];

describe('released migrations', () => {
  it('say what they said when they were released (new ones are appended after them)', () => {
    expect(migrations.length).toBeGreaterThanOrEqual(released.length);
    const now = migrations.slice(0, released.length).map((m) => createHash('sha256').update(m).digest('hex'));
    expect(now).toEqual(released);
  });
});

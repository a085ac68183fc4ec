import { openDatabase } from '../../src/store/db.js';
import { UsedTokenIds } from '../../src/store/token-ids.js';
import { makeTmpDir } from '../support/tmp.js';

describe('UsedTokenIds', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  beforeEach(() => (tmp = makeTmpDir('release-bot-token-ids-')));
  afterEach(() => tmp.cleanup());

  const rows = (db: ReturnType<typeof openDatabase>) => (db.prepare('SELECT count(*) AS n FROM used_token_ids').get() as { n: number }).n;

  it('takes a token id once until it expires, then again, whether or not the expired id was pruned yet', () => {
    const db = openDatabase(tmp.dir);
    const tokens = new UsedTokenIds(db);
    const now = 1_800_000_000;
    expect(tokens.claim('jti-a', now + 300, now)).toBe(true);
    expect(tokens.claim('jti-a', now + 300, now + 10)).toBe(false);
    expect(tokens.used('jti-a', now + 300)).toBe(true);
    // Expired 5 s after the last prune: still in the table, not used, and claimed again by a new token.
    expect(tokens.claim('jti-b', now + 5, now)).toBe(true);
    expect(tokens.used('jti-b', now + 10)).toBe(false);
    expect(tokens.claim('jti-b', now + 600, now + 10)).toBe(true);
    expect(tokens.claim('jti-b', now + 600, now + 20)).toBe(false);
    db.close();
  });

  it('prunes expired ids at most once a minute', () => {
    const db = openDatabase(tmp.dir);
    const tokens = new UsedTokenIds(db);
    const now = 1_800_000_000;
    expect(tokens.claim('jti-1', now + 1, now)).toBe(true);
    expect(tokens.claim('jti-2', now + 1, now + 30)).toBe(true);
    expect(rows(db)).toBe(2);
    expect(tokens.claim('jti-3', now + 600, now + 61)).toBe(true);
    expect(rows(db)).toBe(1);
    db.close();
  });
});

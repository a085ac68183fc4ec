import path from 'node:path';
import { AuditLog } from '../../src/audit/log.js';
import { chainFromDb, chainFromJsonl, verifyChain } from '../../src/audit/verify.js';
import { canonicalJson, sha256Hex } from '../../src/audit/canonical.js';
import { Redactor } from '../../src/redact.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { makeTmpDir } from '../support/tmp.js';

describe('audit chain verification', () => {
  const tmp = makeTmpDir();
  let db: Db;
  let log: AuditLog;
  let n = 0;

  /** A fresh database with `count` entries, seq 1..count. */
  const freshLog = (count: number) => {
    db?.close();
    db = openDatabase(path.join(tmp.dir, `data-${++n}`));
    log = new AuditLog(db, new Redactor());
    for (let i = 1; i <= count; i++) {
      log.append({
        type: i % 2 ? 'requested' : 'published',
        project: 'conjur-cli',
        version: `4.2.${i}`,
        releaseId: `rel_${i}`,
        actor: { via: 'cli', conjurLogin: 'alice' },
        data: { durationMs: i, destinations: [{ name: 'downloads', type: 'directory', status: 'published' }] },
      });
    }
  };
  const verify = (anchors: string[] = []) => verifyChain(chainFromDb(db), { anchors });
  const row = (seq: number) => db.prepare('SELECT * FROM audit_log WHERE seq = ?').get(seq) as Record<string, unknown>;

  afterAll(() => {
    db?.close();
    tmp.cleanup();
  });

  it('accepts an untouched chain and reports its head', () => {
    freshLog(5);
    const r = verify();
    expect(r).toMatchObject({ ok: true, count: 5, first: { seq: 1 }, head: { seq: 5, hash: row(5).hash }, lastGood: { seq: 5 } });
    expect(r.break).toBeUndefined();
  });

  it('names an entry whose data was edited in SQLite', () => {
    freshLog(5);
    const data = JSON.parse(row(3).data_json as string);
    data.destinations[0].status = 'failed';
    db.prepare('UPDATE audit_log SET data_json = ? WHERE seq = 3').run(canonicalJson(data));
    const r = verify();
    expect(r.ok).toBe(false);
    expect(r.break).toMatchObject({ kind: 'changed', seq: 3, id: row(3).id });
    expect(r.lastGood).toMatchObject({ seq: 2 });
  });

  it('names an entry whose actor was edited', () => {
    freshLog(4);
    db.prepare('UPDATE audit_log SET actor_json = ? WHERE seq = 2').run(canonicalJson({ via: 'cli', conjurLogin: 'mallory' }));
    expect(verify().break).toMatchObject({ kind: 'changed', seq: 2 });
  });

  it('names the place of a deleted row, with the missing seq', () => {
    freshLog(5);
    db.prepare('DELETE FROM audit_log WHERE seq = 3').run();
    const r = verify();
    expect(r.break).toMatchObject({ kind: 'removed', seq: 4, id: row(4).id });
    expect(r.break?.message).toContain('seq 3 missing');
  });

  it('names the first of two rows whose contents were swapped', () => {
    freshLog(6);
    const two = row(2);
    const five = row(5);
    const swap = db.prepare(
      'UPDATE audit_log SET id = ?, at = ?, type = ?, project = ?, version = ?, release_id = ?, actor_json = ?, data_json = ?, prev_hash = ?, hash = ? WHERE seq = ?',
    );
    const cols = (r: Record<string, unknown>) =>
      ['id', 'at', 'type', 'project', 'version', 'release_id', 'actor_json', 'data_json', 'prev_hash', 'hash'].map((c) => r[c]);
    db.transaction(() => {
      swap.run(`tmp-${two.id}`, ...cols(two).slice(1), 2); // ids are unique: move one out of the way first
      swap.run(...cols(two), 5);
      swap.run(...cols(five), 2);
    })();
    const r = verify();
    expect(r.break).toMatchObject({ kind: 'reordered', seq: 2, id: five.id });
    expect(r.break?.message).toContain('chained after seq 4');
  });

  it('names an entry whose prev_hash was edited', () => {
    freshLog(4);
    db.prepare('UPDATE audit_log SET prev_hash = ? WHERE seq = 3').run('f'.repeat(64));
    expect(verify().break).toMatchObject({ kind: 'relinked', seq: 3 });
  });

  it('catches an edit whose hash was recomputed at the next entry', () => {
    freshLog(4);
    const r2 = row(2);
    const data = { ...JSON.parse(r2.data_json as string), n: 99 };
    const hash = sha256Hex(
      canonicalJson({
        id: r2.id,
        at: r2.at,
        type: r2.type,
        project: r2.project,
        version: r2.version,
        releaseId: r2.release_id,
        actor: JSON.parse(r2.actor_json as string),
        data,
        prevHash: r2.prev_hash,
      }),
    );
    db.prepare('UPDATE audit_log SET data_json = ?, hash = ? WHERE seq = 2').run(canonicalJson(data), hash);
    const r = verify();
    expect(r.break).toMatchObject({ kind: 'replaced', seq: 3 });
    expect(r.break?.message).toContain(`seq 2 (${r2.id}) was rewritten`);
  });

  it('reports a row that no longer parses', () => {
    freshLog(3);
    db.prepare("UPDATE audit_log SET data_json = '{not json' WHERE seq = 1").run();
    expect(verify().break).toMatchObject({ kind: 'unreadable', seq: 1 });
  });

  it('cannot see a truncated tail without an anchor, and can with one', () => {
    freshLog(5);
    const anchored = row(5).hash as string;
    db.prepare('DELETE FROM audit_log WHERE seq >= 4').run();
    expect(verify()).toMatchObject({ ok: true, count: 3 });
    const r = verify([anchored]);
    expect(r.ok).toBe(false);
    expect(r.anchors).toEqual([{ hash: anchored, seq: undefined }]);
    expect(verify([row(2).hash as string])).toMatchObject({ ok: true, anchors: [{ seq: 2 }] });
  });

  it('finds a later append after truncation through the gap it leaves (seq never reused), and through the anchor', () => {
    freshLog(3);
    const anchored = row(3).hash as string;
    db.prepare('DELETE FROM audit_log WHERE seq = 3').run();
    expect(log.append({ type: 'published', actor: { via: 'cli' }, data: { conjurIdentity: 'forged' } }).seq).toBe(4);
    expect(verify()).toMatchObject({ ok: false, break: undefined, gaps: [{ from: 3, to: 3 }] });
    expect(verify([anchored]).ok).toBe(false);
  });

  it('verifies an exported JSONL copy, and names a changed line', () => {
    freshLog(4);
    const lines = [...log.all()].map((e) => canonicalJson(e));
    expect(verifyChain(chainFromJsonl(`${lines.join('\n')}\n`))).toMatchObject({ ok: true, count: 4 });
    const edited = lines.map((l, i) => (i === 1 ? l.replace('"conjurLogin":"alice"', '"conjurLogin":"eve"') : l));
    expect(edited[1]).toContain('eve');
    expect(verifyChain(chainFromJsonl(edited.join('\n'))).break).toMatchObject({ kind: 'changed', seq: 2 });
    const reordered = [lines[0], lines[2], lines[1], lines[3]].join('\n');
    expect(verifyChain(chainFromJsonl(reordered)).break).toMatchObject({ kind: 'reordered', seq: 3 });
  });
});

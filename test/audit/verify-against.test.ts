import { appendFileSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { canonicalJson } from '../../src/audit/canonical.js';
import { formatSyslog } from '../../src/audit/forward-syslog.js';
import { SyslogSink } from '../../src/audit/forward-syslog.js';
import { AuditLog, entryHash, GENESIS_HASH, rowToEntry, type AuditEntry } from '../../src/audit/log.js';
import { Redactor } from '../../src/redact.js';
import { migrate } from '../../src/store/db.js';
import { migrations } from '../../src/store/migrations.js';
import { startBotEnv, type BotEnv, mirrorProject } from './bot-env.js';

const DB = 'release-bot.sqlite';
const TOKEN = 'mirror-token-canary-against-4d2e8a';

type Row = Parameters<typeof rowToEntry>[0];

/** What an attacker with write access to the database does after an edit: recompute every hash. */
function rechain(db: Database.Database): void {
  let prev = GENESIS_HASH;
  for (const row of db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as Row[]) {
    const e = rowToEntry(row);
    const hash = entryHash({ ...e, prevHash: prev });
    db.prepare('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, row.seq);
    prev = hash;
  }
}

/** Inserts a forged entry chained to the current last one, with a seq of the attacker's choice. */
function forge(
  db: Database.Database,
  seq: number,
  input: Pick<AuditEntry, 'type' | 'actor' | 'data'> & { project: string; version: string },
): void {
  const last = db.prepare('SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { hash: string };
  const base = {
    id: `aud_forged${seq}`,
    at: new Date().toISOString(),
    type: input.type,
    project: input.project,
    version: input.version,
    releaseId: null,
    actor: input.actor,
    data: input.data,
    prevHash: last.hash,
  };
  db.prepare(
    'INSERT INTO audit_log (seq, id, at, type, project, version, release_id, actor_json, data_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(
    seq,
    base.id,
    base.at,
    base.type,
    base.project,
    base.version,
    null,
    canonicalJson(base.actor),
    canonicalJson(base.data),
    base.prevHash,
    entryHash(base),
  );
}

/** A raw TCP syslog receiver that writes the bytes it gets to a file, as they arrived (octet-counted frames). */
async function tcpToFile(file: string): Promise<{ port: number; close(): Promise<void> }> {
  writeFileSync(file, '');
  const done = new Set<Promise<void>>();
  const server = net.createServer((s) => {
    done.add(new Promise((resolve) => s.on('close', () => resolve())));
    s.on('data', (d) => appendFileSync(file, d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      await Promise.all(done);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The attacker can write the database (and recompute every hash); the forwarded copy (JSONL file,
 * syslog) was written elsewhere as each entry was appended. `audit verify --against` must name every
 * entry that differs, by sequence number, and exit 65.
 */
describe('audit verify --against a forwarded copy, and sequence gaps', () => {
  let bot: BotEnv;
  let jsonl: string;
  let syslogFramed: string;
  let syslogLines: string;
  let entries: AuditEntry[];
  let n = 0;

  /** A copy of the bot's data directory an attack can be run on. */
  const tamperedCopy = (attack: (db: Database.Database) => void): string => {
    const dir = path.join(bot.dir, `attack-${++n}`);
    mkdirSync(dir);
    copyFileSync(path.join(bot.dataDir, DB), path.join(dir, DB));
    const db = new Database(path.join(dir, DB));
    try {
      attack(db);
    } finally {
      db.close();
    }
    return dir;
  };

  beforeAll(async () => {
    bot = await startBotEnv((dir) => mirrorProject(dir), {
      variables: { 'release/mirror/token': { value: TOKEN, readers: ['host:release-bot'] } },
    });
    bot.stageFiles('conjur-cli', '4.2.0', { 'conjur-cli-4.2.0.gem': 'gem bytes 4.2.0' });
    expect((await bot.cli('stage', 'conjur-cli', '4.2.0', '--build-number', '7')).code).toBe(0);
    expect((await bot.cli('publish', 'conjur-cli', '4.2.0', '--as', 'bob')).code).toBe(77);
    expect((await bot.cli('publish', 'conjur-cli', '4.2.0', '--as', 'alice')).code).toBe(0);
    // Every entry in the main file: the copies below are taken of it alone.
    const db = new Database(path.join(bot.dataDir, DB));
    db.pragma('wal_checkpoint(TRUNCATE)');
    entries = [...new AuditLog(db, new Redactor()).all()];
    db.close();
    expect(entries.map((e) => e.type)).toEqual(['staged', 'denied', 'requested', 'published']);

    jsonl = path.join(bot.dir, 'forwarded.jsonl');
    expect((await bot.cli('audit', 'export', '--output', jsonl)).code).toBe(0);
    // The syslog sink's own bytes over TCP, written to a file as they arrived.
    syslogFramed = path.join(bot.dir, 'forwarded.syslog');
    const receiver = await tcpToFile(syslogFramed);
    const sink = new SyslogSink(`tcp://127.0.0.1:${receiver.port}`);
    await sink.send(entries);
    await sink.close();
    await receiver.close();
    // A syslog daemon's file: one RFC 5424 message per line.
    syslogLines = path.join(bot.dir, 'forwarded.log');
    writeFileSync(syslogLines, entries.map((e) => `${formatSyslog(e)}\n`).join(''));
  });

  afterAll(async () => {
    await bot.close();
  });

  const verify = (dir: string, ...args: string[]) => bot.cli('audit', 'verify', '--data-dir', dir, ...args);

  it("agrees with an untouched database, for a JSONL export, the syslog sink's octet-counted frames and a syslog file of lines", async () => {
    expect(readFileSync(syslogFramed, 'utf8')).toMatch(/^\d+ <86>1 /);
    for (const copy of [jsonl, syslogFramed, syslogLines]) {
      const r = await verify(bot.dataDir, '--against', copy);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('database and forwarded copy agree on every entry');
      expect(r.stdout).toContain(`(${copy === jsonl ? 'jsonl' : 'syslog'}): 4 entries, seq 1–4`);
    }
  });

  it('catches a rewritten requester whose hashes were recomputed (the chain alone says intact)', async () => {
    const dir = tamperedCopy((db) => {
      const row = db.prepare("SELECT seq, actor_json FROM audit_log WHERE type = 'requested'").get() as { seq: number; actor_json: string };
      db.prepare('UPDATE audit_log SET actor_json = ? WHERE seq = ?').run(
        canonicalJson({ ...JSON.parse(row.actor_json), conjurLogin: 'mallory' }),
        row.seq,
      );
      rechain(db);
    });
    const alone = await verify(dir);
    expect(alone.code).toBe(0);
    for (const copy of [jsonl, syslogFramed, syslogLines]) {
      const r = await verify(dir, '--against', copy);
      expect(r.code).toBe(65);
      expect(r.stdout).toMatch(/^ {2}seq 3: changed: .*actor, hash differ/m);
      // Every later entry's hash was recomputed, so each of them differs too, and is named.
      expect(r.stdout).toMatch(/^ {2}seq 4: changed: /m);
      expect(r.stdout).not.toMatch(/^ {2}seq [12]: /m);
    }
    const json = JSON.parse((await verify(dir, '--against', jsonl, '--json')).stdout);
    expect(json.against.differences.map((d: { seq: number; kind: string }) => [d.seq, d.kind])).toEqual([
      [3, 'changed'],
      [4, 'changed'],
    ]);
  });

  it('catches a deleted denial (hashes recomputed): the copy names it, and verify alone reports the gap', async () => {
    const dir = tamperedCopy((db) => {
      db.prepare("DELETE FROM audit_log WHERE type = 'denied'").run();
      rechain(db);
    });
    const alone = await verify(dir);
    expect(alone.code).toBe(65);
    expect(alone.stdout).toContain('seq 2 MISSING: sequence numbers are never reused, so this entry was deleted');
    const r = await verify(dir, '--against', syslogFramed);
    expect(r.code).toBe(65);
    expect(r.stdout).toMatch(
      new RegExp(`^ {2}seq 2: missing-from-database: ${entries[1]?.id} \\(denied of \\S+\\) is in the forwarded copy`, 'm'),
    );
  });

  it('catches a reused sequence number: the last entry replaced by a forged one with its seq', async () => {
    const dir = tamperedCopy((db) => {
      db.prepare('DELETE FROM audit_log WHERE seq = 4').run();
      forge(db, 4, {
        type: 'published',
        project: 'conjur-cli',
        version: '4.2.0',
        actor: { via: 'cli', conjurLogin: 'mallory' },
        data: { destinations: [] },
      });
    });
    expect((await verify(dir)).code).toBe(0);
    for (const copy of [jsonl, syslogLines]) {
      const r = await verify(dir, '--against', copy);
      expect(r.code).toBe(65);
      expect(r.stdout).toMatch(
        new RegExp(`^ {2}seq 4: changed: the database holds aud_forged4 \\(hash \\S+\\), the forwarded copy ${entries[3]?.id}`, 'm'),
      );
    }
  });

  it('catches a forged entry appended to the database', async () => {
    const dir = tamperedCopy((db) =>
      forge(db, 5, {
        type: 'approved',
        project: 'conjur-cli',
        version: '4.2.0',
        actor: { via: 'slack', conjurLogin: 'mallory' },
        data: {},
      }),
    );
    expect((await verify(dir)).code).toBe(0);
    const r = await verify(dir, '--against', jsonl);
    expect(r.code).toBe(65);
    expect(r.stdout).toMatch(
      /^ {2}seq 5: missing-from-copy: aud_forged5 \(approved\) is in the database after the copy's last entry \(seq 4\)/m,
    );
  });

  it("never hands a deleted last entry's seq to the next entry, so the deletion shows as a gap", async () => {
    const dir = tamperedCopy((db) => {
      db.prepare('DELETE FROM audit_log WHERE seq = 4').run();
      new AuditLog(db, new Redactor()).append({
        type: 'frozen',
        project: 'conjur-cli',
        actor: { via: 'cli:test' },
        data: { reason: 'after the deletion' },
      });
      expect(db.prepare('SELECT max(seq) AS seq FROM audit_log').get()).toEqual({ seq: 5 });
    });
    const r = await verify(dir);
    expect(r.code).toBe(65);
    expect(r.stdout).toContain('seq 4 MISSING');
    expect(JSON.parse((await verify(dir, '--json')).stdout).gaps).toEqual([{ from: 4, to: 4 }]);
  });

  it('names an edited forwarded copy too', async () => {
    const edited = path.join(bot.dir, 'edited.jsonl');
    const lines = readFileSync(jsonl, 'utf8').trim().split('\n');
    const second = JSON.parse(lines[1] as string) as AuditEntry;
    lines[1] = canonicalJson({ ...second, actor: { ...second.actor, conjurLogin: 'carol' } });
    writeFileSync(edited, `${lines.join('\n')}\n`);
    const r = await verify(bot.dataDir, '--against', edited);
    expect(r.code).toBe(65);
    expect(r.stdout).toMatch(/^ {2}seq 2: copy-inconsistent: /m);
  });
});

describe('migration 5: the audit table rebuilt with AUTOINCREMENT', () => {
  it('keeps every row, seq and hash, and the chain still verifies', () => {
    const db = new Database(':memory:');
    for (const sql of migrations.slice(0, 4)) db.exec(sql);
    db.pragma('user_version = 4');
    const log = new AuditLog(db, new Redactor());
    for (let i = 0; i < 3; i++) log.append({ type: 'frozen', project: 'p', actor: { via: 'cli:test' }, data: { reason: `freeze ${i}` } });
    const before = db.prepare('SELECT * FROM audit_log ORDER BY seq').all();
    migrate(db);
    expect(db.prepare('SELECT * FROM audit_log ORDER BY seq').all()).toEqual(before);
    expect(String((db.prepare("SELECT sql FROM sqlite_master WHERE name = 'audit_log'").get() as { sql: string }).sql)).toContain(
      'AUTOINCREMENT',
    );
    db.prepare('DELETE FROM audit_log WHERE seq = 3').run();
    expect(
      log.append({
        type: 'unfrozen',
        project: 'p',
        actor: { via: 'cli:test' },
        data: { lockedBy: 'alice', lockedAt: '2030-01-01T00:00:00.000Z', reason: 'freeze 2' },
      }).seq,
    ).toBe(4);
    db.close();
  });
});

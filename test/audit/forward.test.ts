import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { AuditEntryBase, AuditType } from '../../src/audit/entries.js';
import { entryHash, AuditLog, type AuditEntry } from '../../src/audit/log.js';
import { formatSyslog, frameOctetCounting, parseSyslogUrl, SD_ID } from '../../src/audit/forward-syslog.js';
import { startAuditForwarding, type AuditForwarding } from '../../src/audit/forwarding.js';
import { EventBus } from '../../src/events.js';
import { chainFromJsonl, verifyChain } from '../../src/audit/verify.js';
import { Redactor } from '../../src/redact.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { freePort } from '../support/ports.js';
import { makeTmpDir } from '../support/tmp.js';
import { listenSyslog, parse5424, type SyslogListener } from './syslog-listener.js';

// Syslog framing reads the kind, never the data: any kind may carry this published entry's data here.
const entry = (over: Partial<AuditEntryBase> & { type?: AuditType } = {}): AuditEntry =>
  ({
    seq: 7,
    id: 'aud_abcdefghijkl',
    at: '2025-05-04T10:11:12.345Z',
    type: 'published',
    project: 'conjur-cli',
    version: '4.2.0',
    releaseId: 'rel_123',
    actor: { via: 'slack', chatUserId: 'U024BE7LH', conjurLogin: 'alice' },
    data: { destinations: [{ name: 'gems', type: 'rubygems', status: 'published' }] },
    prevHash: 'a'.repeat(64),
    hash: 'b'.repeat(64),
    ...over,
  }) as AuditEntry;

describe('RFC 5424 formatting', () => {
  it('writes header, structured data and the whole entry as JSON', () => {
    const line = formatSyslog(entry(), { hostname: 'release-1' });
    const m = parse5424(line);
    expect(m).toMatchObject({
      pri: 86,
      version: 1,
      timestamp: '2025-05-04T10:11:12.345Z',
      hostname: 'release-1',
      app: 'release-bot',
      procid: '-',
      msgid: 'published',
    });
    expect(m.sd).toBe(
      `[${SD_ID} id="aud_abcdefghijkl" seq="7" type="published" project="conjur-cli" version="4.2.0" release="rel_123" login="alice" via="slack" hash="${'b'.repeat(64)}" prevHash="${'a'.repeat(64)}"][meta sequenceId="7"]`,
    );
    expect(JSON.parse(m.msg)).toEqual(entry());
  });

  it('raises the severity of refusals and failures to warning', () => {
    expect(parse5424(formatSyslog(entry({ type: 'denied' }))).pri).toBe(10 * 8 + 4);
    expect(parse5424(formatSyslog(entry({ type: 'interrupted' }))).pri).toBe(84);
    expect(parse5424(formatSyslog(entry({ type: 'staged' }))).pri).toBe(86);
  });

  it('escapes hostile values in structured data and keeps header fields single words', () => {
    const line = formatSyslog(entry({ actor: { via: 'ssh', conjurLogin: 'a"] [x y="z\\' } }), { hostname: 'bad host\nname' });
    const m = parse5424(line);
    expect(m.hostname).toBe('badhostname');
    expect(m.sd).toContain('login="a\\"\\] [x y=\\"z\\\\"');
    expect(line).not.toContain('\n');
  });

  it('frames by octet count in bytes, not characters', () => {
    expect(frameOctetCounting('ü1').toString('utf8')).toBe('3 ü1');
  });

  it('parses only udp:// and tcp:// URLs with a port', () => {
    expect(parseSyslogUrl('tcp://logs.example:6514')).toEqual({ protocol: 'tcp', host: 'logs.example', port: 6514 });
    expect(parseSyslogUrl('udp://[::1]:514')).toEqual({ protocol: 'udp', host: '::1', port: 514 });
    for (const bad of ['http://x:1', 'tcp://x', 'tcp://x:0', 'tcp://x:70000', 'udp://x:1/y'])
      expect(() => parseSyslogUrl(bad)).toThrow('AUDIT_SYSLOG_URL');
  });
});

describe('audit forwarding', () => {
  const tmp = makeTmpDir();
  const logLines: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (logLines.push(String(c)), cb()) }));
  const open: { db: Db; forwarding?: AuditForwarding }[] = [];
  let n = 0;
  const fast = { baseDelayMs: 30, maxDelayMs: 150, pollMs: 100, syslog: { udpSettleMs: 60, connectTimeoutMs: 1000 } };

  /** A database and audit log; `env` picks the sinks as the bot's configuration would. */
  const setup = (env: { AUDIT_SYSLOG_URL?: string; AUDIT_JSONL_FILE?: string }, dataDir = path.join(tmp.dir, `data-${++n}`)) => {
    const db = openDatabase(dataDir);
    const bus = new EventBus();
    const audit = new AuditLog(db, new Redactor(), undefined, { bus });
    const forwarding = startAuditForwarding({ config: { env }, db, bus, log }, fast);
    const handle = { db, forwarding };
    open.push(handle);
    return { db, audit, forwarding, dataDir };
  };
  const append = (audit: AuditLog, i: number) =>
    audit.append({
      type: 'staged',
      project: 'conjur-cli',
      version: `1.0.${i}`,
      actor: { via: 'cli:root' },
      data: { reportedBy: `cli:root ${i}` },
    });
  const ids = (messages: string[]) => messages.map((m) => (JSON.parse(parse5424(m).msg) as AuditEntry).id);
  const listeners: SyslogListener[] = [];
  const listen = async (protocol: 'udp' | 'tcp', port?: number) => {
    const l = await listenSyslog(protocol, port);
    listeners.push(l);
    return l;
  };

  afterEach(async () => {
    for (const h of open.splice(0)) {
      await h.forwarding?.stop(200);
      h.db.close();
    }
    for (const l of listeners.splice(0)) await l.close();
  });
  afterAll(() => tmp.cleanup());

  for (const protocol of ['udp', 'tcp'] as const) {
    it(`sends every appended entry over ${protocol} to a loopback listener, in order, verifiable`, async () => {
      const listener = await listen(protocol);
      const { audit } = setup({ AUDIT_SYSLOG_URL: `${protocol}://127.0.0.1:${listener.port}` });
      const appended = [1, 2, 3].map((i) => append(audit, i));
      const got = await listener.waitFor(3);
      expect(ids(got)).toEqual(appended.map((e) => e.id));
      const remote = got.map((m) => JSON.parse(parse5424(m).msg) as AuditEntry);
      for (const e of remote) expect(entryHash(e)).toBe(e.hash);
      expect(remote[2]?.prevHash).toBe(remote[1]?.hash);
    });

    it(`never blocks an append on a down ${protocol} listener, and delivers once it is up`, async () => {
      const port = await freePort();
      const { audit, forwarding } = setup({ AUDIT_SYSLOG_URL: `${protocol}://127.0.0.1:${port}` });
      const started = Date.now();
      const appended = [1, 2, 3, 4].map((i) => append(audit, i));
      expect(Date.now() - started).toBeLessThan(500);
      await new Promise((r) => setTimeout(r, 400));
      expect(forwarding.forwarders[0]?.consecutiveFailures).toBeGreaterThan(0);
      expect(forwarding.forwarders[0]?.pending()).toBe(4);
      const listener = await listen(protocol, port);
      appended.push(append(audit, 5));
      const got = await listener.waitFor(5);
      expect(new Set(ids(got))).toEqual(new Set(appended.map((e) => e.id)));
      // In order of first arrival: a retried batch can only repeat what came before, never skip.
      expect([...new Set(ids(got))]).toEqual(appended.map((e) => e.id));
      expect(logLines.join('')).toContain('audit forwarding failed; the entry is kept and retried');
    });
  }

  it('reconnects over TCP after the listener goes away and comes back', async () => {
    const first = await listen('tcp');
    const { audit } = setup({ AUDIT_SYSLOG_URL: `tcp://127.0.0.1:${first.port}` });
    const a = append(audit, 1);
    await first.waitFor(1);
    await first.close();
    await new Promise((r) => setTimeout(r, 100));
    const b = append(audit, 2);
    const c = append(audit, 3);
    await new Promise((r) => setTimeout(r, 300));
    const second = await listen('tcp', first.port);
    const got = await second.waitFor(2);
    expect(ids(first.messages)).toEqual([a.id]);
    expect(ids(got)).toEqual(expect.arrayContaining([b.id, c.id]));
  });

  it('keeps unforwarded entries across a restart and resumes from the high-water mark', async () => {
    const listener = await listen('tcp');
    const url = `tcp://127.0.0.1:${listener.port}`;
    const one = setup({ AUDIT_SYSLOG_URL: url });
    const early = [1, 2].map((i) => append(one.audit, i));
    await listener.waitFor(2);
    await listener.close();
    await new Promise((r) => setTimeout(r, 100));
    const late = [3, 4].map((i) => append(one.audit, i));
    await one.forwarding.stop(300);
    expect(one.forwarding.forwarders[0]?.position).toBe(early[1]?.seq);
    one.db.close();
    open.splice(
      open.findIndex((h) => h.db === one.db),
      1,
    );

    // "Restart": a new process state on the same database; the listener is back.
    const back = await listen('tcp', listener.port);
    const two = setup({ AUDIT_SYSLOG_URL: url }, one.dataDir);
    const got = await back.waitFor(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(ids(got)).toEqual(late.map((e) => e.id));
    const mark = two.db.prepare('SELECT forwarded_seq FROM audit_forwarding WHERE forwarder = ?').get(`syslog:${url}`) as {
      forwarded_seq: number;
    };
    expect(mark.forwarded_seq).toBe(late[1]?.seq);
  });

  it('picks up entries another process appended to the shared database', async () => {
    const listener = await listen('udp');
    const { dataDir } = setup({ AUDIT_SYSLOG_URL: `udp://127.0.0.1:${listener.port}` });
    const other = openDatabase(dataDir); // what a CLI process does: its own connection, no forwarder
    try {
      const e = append(new AuditLog(other, new Redactor()), 1);
      const got = await listener.waitFor(1);
      expect(ids(got)).toEqual([e.id]);
    } finally {
      other.close();
    }
  });

  it('appends a JSONL copy that verifies, and retries until its directory exists', async () => {
    const dir = path.join(tmp.dir, 'not-yet');
    const file = path.join(dir, 'audit.jsonl');
    const { audit, forwarding } = setup({ AUDIT_JSONL_FILE: file });
    const appended = [1, 2, 3].map((i) => append(audit, i));
    await new Promise((r) => setTimeout(r, 200));
    expect(forwarding.forwarders[0]?.consecutiveFailures).toBeGreaterThan(0);
    mkdirSync(dir);
    expect(await forwarding.forwarders[0]?.flush(3000)).toBe(true);
    const text = readFileSync(file, 'utf8');
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(appended.map((e) => e.id));
    expect(verifyChain(chainFromJsonl(text))).toMatchObject({ ok: true, count: 3 });
  });
});

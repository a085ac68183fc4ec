import { canonicalJson } from '../../src/audit/canonical.js';
import { compareWithCopy, parseForwardedCopy } from '../../src/audit/compare.js';
import { formatSyslog, frameOctetCounting } from '../../src/audit/forward-syslog.js';
import { entryHash, GENESIS_HASH, type AuditEntry } from '../../src/audit/log.js';
import type { ChainItem } from '../../src/audit/verify.js';

/** A chain of `n` entries; entry 2's project holds the characters RFC 5424 escapes in SD values. */
function chain(n: number): AuditEntry[] {
  const out: AuditEntry[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const base = {
      id: `aud_${seq}`,
      at: `2026-01-01T00:00:0${seq}.000Z`,
      type: 'frozen' as const,
      project: seq === 2 ? 'a]b"c\\d' : 'p',
      version: null,
      releaseId: null,
      actor: { via: 'cli:test' },
      data: { reason: 'x'.repeat(seq === 3 ? 70_000 : 5) },
      prevHash: prev,
    };
    const hash = entryHash(base);
    out.push({ ...base, seq, hash });
    prev = hash;
  }
  return out;
}
const items = (entries: AuditEntry[]): ChainItem[] =>
  entries.map((e) => ({ seq: e.seq, id: e.id, hash: e.hash, prevHash: e.prevHash, entry: e }));

describe('reading a forwarded copy', () => {
  const entries = chain(3);

  it('reads octet-counted frames and lines in one file, escaped SD values, and a message cut short (UDP) by its structured data', () => {
    const cut = formatSyslog(entries[2] as AuditEntry).slice(0, 65_000);
    const data = Buffer.concat([
      frameOctetCounting(formatSyslog(entries[0] as AuditEntry)),
      Buffer.from(`\n${formatSyslog(entries[1] as AuditEntry)}\n${cut}\n`),
    ]);
    const copy = parseForwardedCopy(data);
    expect(copy).toMatchObject({ format: 'syslog', unreadable: [] });
    expect(copy.items.map((i) => [i.seq, i.id, Boolean(i.entry)])).toEqual([
      [1, 'aud_1', true],
      [2, 'aud_2', true],
      [3, 'aud_3', false],
    ]);
    expect(copy.items[2]?.hash).toBe(entries[2]?.hash);
    expect(compareWithCopy(items(entries), copy)).toEqual([]);
  });

  it('takes an entry forwarded twice (at least once delivery) as one, and names two different entries under one seq', () => {
    const jsonl = (es: AuditEntry[]) => Buffer.from(es.map((e) => `${canonicalJson(e)}\n`).join(''));
    expect(compareWithCopy(items(entries), parseForwardedCopy(jsonl([...entries, entries[2] as AuditEntry])))).toEqual([]);
    const other = { ...(entries[2] as AuditEntry), id: 'aud_other' };
    const forged = { ...other, hash: entryHash(other) };
    const diffs = compareWithCopy(items(entries), parseForwardedCopy(jsonl([...entries, forged])));
    expect(diffs.map((d) => [d.seq, d.kind])).toEqual([[3, 'changed']]);
    expect(diffs[0]?.message).toContain('the sequence number was reused');
  });

  it('names lines that carry no entry instead of skipping them', () => {
    const copy = parseForwardedCopy(Buffer.from(`${canonicalJson(entries[0])}\nnot json\n{"seq":2}\n`));
    expect(copy.unreadable).toEqual(['line 2: not JSON', 'line 3: not an audit entry (seq, id, at, type, actor, data, prevHash, hash)']);
  });
});

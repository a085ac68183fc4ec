import { canonicalJson } from './canonical.js';
import { SD_ID } from './forward-syslog.js';
import { entryHash, type AuditEntry } from './log.js';
import type { ChainItem } from './verify.js';

/** One entry of a forwarded copy: what the sink wrote, and where in the file it is. */
export interface CopyItem {
  seq: number;
  id: string;
  hash: string;
  prevHash: string;
  /** The whole entry, when the copy carries it (JSONL; syslog messages not cut short). */
  entry?: AuditEntry | undefined;
  where: string;
}

export interface ForwardedCopy {
  format: 'jsonl' | 'syslog';
  items: CopyItem[];
  /** Lines or frames that carry no entry the bot wrote (named, never silently skipped). */
  unreadable: string[];
}

export type DifferenceKind =
  /** In the copy, not in the database: deleted from the database. */
  | 'missing-from-database'
  /** In the database, not in the copy: added to the database (forged, or not forwarded yet). */
  | 'missing-from-copy'
  /** Both have this seq, with different content or hashes. */
  | 'changed'
  /** The copy's own entry does not hash to the hash it carries: the copy was edited. */
  | 'copy-inconsistent';

export interface Difference {
  seq: number;
  kind: DifferenceKind;
  message: string;
}

const ENTRY_KEYS = ['id', 'at', 'type', 'actor', 'data', 'prevHash', 'hash'] as const;

function asEntry(parsed: Record<string, unknown>): AuditEntry | undefined {
  if (typeof parsed.seq !== 'number' || !ENTRY_KEYS.every((k) => k in parsed)) return undefined;
  return { project: null, version: null, releaseId: null, ...parsed } as AuditEntry;
}

/**
 * Reads a forwarded copy: a JSON Lines file (the JSONL sink, `audit export`) or a syslog file as the
 * syslog sink wrote it (RFC 5424 messages one per line, or octet-counted frames as sent over TCP).
 */
export function parseForwardedCopy(data: Buffer): ForwardedCopy {
  const text = data.toString('utf8');
  const first = text.trimStart()[0];
  return first === '{' ? parseJsonl(text) : parseSyslogFile(data);
}

function parseJsonl(text: string): ForwardedCopy {
  const items: CopyItem[] = [];
  const unreadable: string[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    const where = `line ${i + 1}`;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      unreadable.push(`${where}: not JSON`);
      return;
    }
    const entry = asEntry(parsed);
    if (!entry) unreadable.push(`${where}: not an audit entry (seq, ${ENTRY_KEYS.join(', ')})`);
    else items.push({ seq: entry.seq, id: entry.id, hash: entry.hash, prevHash: entry.prevHash, entry, where });
  });
  return { format: 'jsonl', items, unreadable };
}

/** Splits octet-counted frames (`<length> <message>`, length in bytes) and plain lines, in any mix. */
function syslogMessages(data: Buffer): { message: string; where: string }[] {
  const out: { message: string; where: string }[] = [];
  let pos = 0;
  let n = 0;
  while (pos < data.length) {
    while (pos < data.length && (data[pos] === 0x0a || data[pos] === 0x0d || data[pos] === 0x20)) pos += 1;
    if (pos >= data.length) break;
    n += 1;
    const counted = /^(\d{1,9}) </.exec(data.subarray(pos, pos + 12).toString('latin1'));
    if (counted) {
      const start = pos + (counted[1] as string).length + 1;
      const end = Math.min(data.length, start + Number(counted[1]));
      out.push({ message: data.subarray(start, end).toString('utf8'), where: `frame ${n} (byte ${pos})` });
      pos = end;
    } else {
      const nl = data.indexOf(0x0a, pos);
      const end = nl < 0 ? data.length : nl;
      out.push({ message: data.subarray(pos, end).toString('utf8').replace(/\r$/, ''), where: `message ${n} (byte ${pos})` });
      pos = end + 1;
    }
  }
  return out;
}

const SD_PARAM = /\s([A-Za-z]+)="((?:[^"\\]|\\.)*)"/g;

function parseSyslogFile(data: Buffer): ForwardedCopy {
  const items: CopyItem[] = [];
  const unreadable: string[] = [];
  for (const { message, where } of syslogMessages(data)) {
    const sdStart = message.indexOf(`[${SD_ID}`);
    if (sdStart < 0) {
      unreadable.push(`${where}: no [${SD_ID} ...] structured data`);
      continue;
    }
    const bom = message.indexOf('\uFEFF');
    // Values escape `"`, `\` and `]`, so the params are matched up to the message body, not up to a `]`.
    const params = new Map<string, string>();
    for (const m of message.slice(sdStart, bom < 0 ? undefined : bom).matchAll(SD_PARAM)) {
      if (!params.has(m[1] as string)) params.set(m[1] as string, (m[2] as string).replace(/\\(["\\\]])/g, '$1'));
    }
    let entry: AuditEntry | undefined;
    if (bom >= 0) {
      try {
        entry = asEntry(JSON.parse(message.slice(bom + 1)) as Record<string, unknown>);
      } catch {
        // A UDP datagram cut at 65,000 bytes: the structured data still names seq and both hashes.
      }
    }
    const seq = entry?.seq ?? Number(params.get('seq'));
    if (!Number.isInteger(seq) || seq < 1) {
      unreadable.push(`${where}: no sequence number`);
      continue;
    }
    items.push({
      seq,
      id: entry?.id ?? params.get('id') ?? '',
      hash: entry?.hash ?? params.get('hash') ?? '',
      prevHash: entry?.prevHash ?? params.get('prevHash') ?? '',
      entry,
      where,
    });
  }
  return { format: 'syslog', items, unreadable };
}

const short = (h: string) => (h ? `${h.slice(0, 12)}…` : '(none)');

/** Top-level fields in which two entries differ. */
function differingFields(a: AuditEntry, b: AuditEntry): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter(
    (k) =>
      canonicalJson((a as unknown as Record<string, unknown>)[k] ?? null) !==
      canonicalJson((b as unknown as Record<string, unknown>)[k] ?? null),
  );
}

/**
 * The copy's entries by sequence number, one each; what is wrong within the copy itself (an entry
 * that does not hash to its hash, a sequence number used twice) goes into `differences`.
 */
function indexCopy(copy: ForwardedCopy, differences: Difference[]): Map<number, CopyItem> {
  const copied = new Map<number, CopyItem>();
  for (const item of copy.items) {
    if (item.entry && entryHash(item.entry) !== item.hash) {
      differences.push({
        seq: item.seq,
        kind: 'copy-inconsistent',
        message: `the copy's entry at ${item.where} does not hash to the hash it carries (${short(item.hash)}): the copy itself was edited`,
      });
    }
    const seen = copied.get(item.seq);
    // Forwarding is at least once: the same entry sent twice is one entry.
    if (seen && (seen.hash !== item.hash || seen.id !== item.id)) {
      differences.push({
        seq: item.seq,
        kind: 'changed',
        message: `the copy holds two different entries with this seq (${seen.where}: ${seen.id}, ${item.where}: ${item.id}): the sequence number was reused`,
      });
    }
    if (!seen || (!seen.entry && item.entry)) copied.set(item.seq, item);
  }
  return copied;
}

/** The difference at one sequence number between the database's entry and the copy's, if any. */
function compareAt(seq: number, db: ChainItem | undefined, cp: CopyItem | undefined, copyHead: number): Difference | undefined {
  if (cp && !db) {
    return {
      seq,
      kind: 'missing-from-database',
      message: `${cp.id} (${cp.entry?.type ?? 'entry'}${cp.entry?.at ? ` of ${cp.entry.at}` : ''}) is in the forwarded copy (${cp.where}) but not in the database: it was deleted`,
    };
  }
  if (db && !cp) {
    const type = db.entry?.type ?? 'entry';
    return {
      seq,
      kind: 'missing-from-copy',
      message:
        seq > copyHead
          ? `${db.id} (${type}) is in the database after the copy's last entry (seq ${copyHead}): appended later without reaching the copy (forged, or not forwarded yet: check again once forwarding caught up)`
          : `${db.id} (${type}) is in the database but never reached the forwarded copy: it was added to the database`,
    };
  }
  if (!db || !cp) return undefined;
  if (db.id !== cp.id || db.hash !== cp.hash || db.prevHash !== cp.prevHash) {
    const fields = db.entry && cp.entry ? differingFields(db.entry, cp.entry).filter((f) => f !== 'seq') : [];
    return {
      seq,
      kind: 'changed',
      message: `the database holds ${db.id} (hash ${short(db.hash)}), the forwarded copy ${cp.id} (hash ${short(cp.hash)})${fields.length ? `: ${fields.join(', ')} differ` : ''}`,
    };
  }
  if (db.entry && cp.entry && canonicalJson(db.entry) !== canonicalJson(cp.entry)) {
    return { seq, kind: 'changed', message: `same hashes, different content: ${differingFields(db.entry, cp.entry).join(', ')} differ` };
  }
  return undefined;
}

/**
 * Compares the database with a forwarded copy, entry by entry on the sequence number. Every entry
 * missing on either side, or different, is one difference. The copy is the anchor: it was written
 * elsewhere as each entry was appended, so rewriting the database (hashes recomputed) cannot change it.
 */
export function compareWithCopy(database: readonly ChainItem[], copy: ForwardedCopy): Difference[] {
  const differences: Difference[] = [];
  const copied = indexCopy(copy, differences);
  const copyHead = Math.max(0, ...copied.keys());
  const stored = new Map(database.map((d) => [d.seq, d]));
  for (const seq of [...new Set([...stored.keys(), ...copied.keys()])].sort((a, b) => a - b)) {
    const difference = compareAt(seq, stored.get(seq), copied.get(seq), copyHead);
    if (difference) differences.push(difference);
  }
  return differences.sort((a, b) => a.seq - b.seq);
}

import { AuditRows, rowToEntry } from '../store/audit.js';
import type { Db } from '../store/db.js';
import type { AuditEntry } from './entries.js';
import { entryHash, GENESIS_HASH } from './log.js';

/** One stored entry as verification sees it: what could be parsed, and the two hashes as stored. */
export interface ChainItem {
  seq: number;
  id: string;
  hash: string;
  prevHash: string;
  entry?: AuditEntry | undefined;
  /** Why the entry could not be read (e.g. its data is no longer JSON). */
  unreadable?: string | undefined;
}

export type BreakKind =
  /** The content no longer matches the hash stored with it. */
  | 'changed'
  /** Only the link was edited: restoring prev_hash makes the entry match its hash again. */
  | 'relinked'
  /** prev_hash names an entry stored elsewhere in the log. */
  | 'reordered'
  /** prev_hash names no entry, and seq numbers are missing before it: entries were deleted. */
  | 'removed'
  /** prev_hash names no entry, and no seq is missing: the entry before it was rewritten (hash recomputed) or the log renumbered. */
  | 'replaced'
  /** The stored row cannot be parsed. */
  | 'unreadable';

export interface ChainBreak {
  kind: BreakKind;
  seq: number;
  id: string;
  message: string;
}

export interface ChainPoint {
  seq: number;
  id: string;
  hash: string;
}

export interface VerifyResult {
  ok: boolean;
  count: number;
  first?: ChainPoint | undefined;
  /** The newest entry: the hash to anchor elsewhere. */
  head?: ChainPoint | undefined;
  /** The last entry before the first break: everything up to it is intact. */
  lastGood?: ChainPoint | undefined;
  break?: ChainBreak | undefined;
  /** Anchors (hashes recorded elsewhere earlier) and where each was found; a missing one fails. */
  anchors: { hash: string; seq?: number | undefined }[];
  /**
   * Sequence numbers missing between entries (or before the first). They are never reused, so a gap
   * is a deletion even when the chain after it was recomputed to look intact.
   */
  gaps: SeqGap[];
}

export interface SeqGap {
  /** First and last missing sequence number. */
  from: number;
  to: number;
}

/** The runs of sequence numbers missing from `seqs` (in the order given), counting from 1. */
export function sequenceGaps(seqs: Iterable<number>): SeqGap[] {
  const gaps: SeqGap[] = [];
  let expected = 1;
  for (const seq of seqs) {
    if (seq > expected) gaps.push({ from: expected, to: seq - 1 });
    expected = Math.max(expected, seq + 1);
  }
  return gaps;
}

const short = (h: string) => `${h.slice(0, 12)}…`;

/**
 * Walks the chain oldest first and stops at the first entry that was changed, removed or reordered.
 * A log cut short at its end still forms an intact chain: only an anchor (a head hash recorded
 * elsewhere earlier, e.g. by the syslog copy) can show that; pass it in `anchors`.
 */
export function verifyChain(items: Iterable<ChainItem>, options: { anchors?: readonly string[] } = {}): VerifyResult {
  // Items are taken in the order given (seq order from the database, line order from a file): that
  // order is the claim being checked, so it is never re-sorted here.
  const all = [...items];
  const byHash = new Map<string, ChainItem>();
  for (const item of all) if (!byHash.has(item.hash)) byHash.set(item.hash, item);

  let expectedPrev = GENESIS_HASH;
  let previous: ChainItem | undefined;
  let brokenAt: ChainBreak | undefined;
  let intactCount = 0;
  for (const item of all) {
    brokenAt = checkOne(item, expectedPrev, previous, byHash);
    if (brokenAt) break;
    expectedPrev = item.hash;
    previous = item;
    intactCount += 1;
  }

  const point = (i: ChainItem | undefined): ChainPoint | undefined => i && { seq: i.seq, id: i.id, hash: i.hash };
  // An anchor counts only inside the intact part of the chain: after a break, no hash can be trusted.
  const intact = all.slice(0, intactCount);
  const anchors = (options.anchors ?? []).map((hash) => ({ hash, seq: intact.find((i) => i.hash === hash.toLowerCase())?.seq }));
  const gaps = sequenceGaps(all.map((i) => i.seq));
  return {
    ok: !brokenAt && anchors.every((a) => a.seq !== undefined) && gaps.length === 0,
    count: all.length,
    first: point(all[0]),
    head: point(all[all.length - 1]),
    lastGood: point(previous),
    break: brokenAt,
    anchors,
    gaps,
  };
}

function checkOne(
  item: ChainItem,
  expectedPrev: string,
  previous: ChainItem | undefined,
  byHash: Map<string, ChainItem>,
): ChainBreak | undefined {
  const at = { seq: item.seq, id: item.id };
  if (!item.entry) {
    return {
      ...at,
      kind: 'unreadable',
      message: `the stored entry cannot be read (${item.unreadable ?? 'unknown reason'}): it was edited`,
    };
  }
  const computed = entryHash(item.entry);
  const linked = item.prevHash === expectedPrev;
  const after = previous ? `seq ${previous.seq} (${previous.id})` : 'the start of the log';
  if (computed !== item.hash) {
    if (!linked && entryHash({ ...item.entry, prevHash: expectedPrev }) === item.hash) {
      return { ...at, kind: 'relinked', message: `its prev_hash was edited: it no longer names ${after}, which it was chained to` };
    }
    return {
      ...at,
      kind: 'changed',
      message: `its content was changed after it was written: stored hash ${short(item.hash)}, content hashes to ${short(computed)}`,
    };
  }
  if (linked) return undefined;
  const target = byHash.get(item.prevHash);
  if (target && target.seq !== item.seq) {
    return {
      ...at,
      kind: 'reordered',
      message: `it is out of order: it was chained after seq ${target.seq} (${target.id}) but is stored after ${after}`,
    };
  }
  const gap = previous ? item.seq - previous.seq - 1 : item.seq - 1;
  if (gap > 0) {
    return {
      ...at,
      kind: 'removed',
      message: `an entry before it was removed (seq ${item.seq - gap}${gap > 1 ? `–${item.seq - 1}` : ''} missing): its prev_hash ${short(item.prevHash)} names no entry in the log`,
    };
  }
  return {
    ...at,
    kind: 'replaced',
    message: previous
      ? `it was chained to an entry that is no longer in the log (prev_hash ${short(item.prevHash)}): ${after} was rewritten with a recomputed hash, or an entry between them was removed and the log renumbered`
      : `it was chained to an entry that is no longer in the log (prev_hash ${short(item.prevHash)}): the entries before it were removed`,
  };
}

/** The audit table as chain items, oldest first; rows that no longer parse are kept as unreadable. */
export function* chainFromDb(db: Db): IterableIterator<ChainItem> {
  for (const row of new AuditRows(db).rows()) {
    const base = { seq: row.seq, id: row.id, hash: row.hash, prevHash: row.prev_hash };
    try {
      yield { ...base, entry: rowToEntry(row) };
    } catch (err) {
      yield { ...base, unreadable: (err as Error).message };
    }
  }
}

/** An `audit export --jsonl` file as chain items, so a copy kept elsewhere can be verified too. */
export function* chainFromJsonl(text: string): IterableIterator<ChainItem> {
  let line = 0;
  for (const raw of text.split('\n')) {
    line += 1;
    if (raw.trim() === '') continue;
    let parsed: Partial<AuditEntry>;
    try {
      parsed = JSON.parse(raw) as Partial<AuditEntry>;
    } catch (err) {
      yield { seq: line, id: `line ${line}`, hash: '', prevHash: '', unreadable: `line ${line} is not JSON: ${(err as Error).message}` };
      continue;
    }
    const seq = typeof parsed.seq === 'number' ? parsed.seq : line;
    const id = typeof parsed.id === 'string' ? parsed.id : `line ${line}`;
    const complete = ['id', 'at', 'type', 'actor', 'data', 'prevHash', 'hash'].every((k) => k in parsed);
    yield {
      seq,
      id,
      hash: String(parsed.hash ?? ''),
      prevHash: String(parsed.prevHash ?? ''),
      ...(complete
        ? { entry: { project: null, version: null, releaseId: null, ...parsed } as AuditEntry }
        : { unreadable: `line ${line} lacks some of id, at, type, actor, data, prevHash, hash` }),
    };
  }
}

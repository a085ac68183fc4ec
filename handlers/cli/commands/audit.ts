import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../commander.js';
import { canonicalJson } from '../../../src/audit/canonical.js';
import { auditCode } from '../../../src/audit/entries.js';
import type { AuditEntry } from '../../../src/audit/log.js';
import { formatTrace, traceVersion } from '../../../src/audit/trace.js';
import { compareWithCopy, parseForwardedCopy, type Difference, type ForwardedCopy } from '../../../src/audit/compare.js';
import { chainFromJsonl, verifyChain, type VerifyResult } from '../../../src/audit/verify.js';
import { ErrorCode, ReleaseBotError } from '../../../src/errors.js';
import { readAuditRecords } from '../../../app/audit-records.js';
import { assertProjectName, assertVersion, clip } from '../../../src/validate.js';
import { action, positiveInt } from '../run.js';

/** `audit verify` exits with this when the chain is broken or an anchor is missing (EX_DATAERR). */
export const CHAIN_BROKEN_EXIT = 65;

function hash64(v: string, previous: string[] = []): string[] {
  if (!/^[0-9a-fA-F]{64}$/.test(v)) throw new InvalidArgumentError('a SHA-256 hash: 64 hex digits (the head hash `audit verify` printed)');
  return [...previous, v.toLowerCase()];
}

function auditId(id: string): string {
  if (!/^aud_[A-Za-z0-9_-]{1,64}$/.test(id))
    throw new ReleaseBotError(ErrorCode.BadInput, `invalid audit entry id ${JSON.stringify(clip(id))}: ids look like aud_XXXXXXXXXXXX`);
  return id;
}

/** The exported form: every field, including seq and both hashes, canonical JSON on one line. */
export function exportLine(e: AuditEntry): string {
  return canonicalJson(e);
}

function listLine(e: AuditEntry): string {
  return `${e.at} ${e.id} ${e.type.padEnd(12)} ${e.project ?? '-'} ${e.version ?? '-'} ${e.actor.conjurLogin ?? e.actor.via}${auditCode(e) ? ` ${auditCode(e)}` : ''}\n`;
}

export function verifyText(r: VerifyResult, source: string): string {
  const lines: string[] = [];
  if (r.break) {
    lines.push(`audit chain BROKEN at seq ${r.break.seq} (${r.break.id}): ${r.break.kind}: ${r.break.message}`);
    lines.push(
      r.lastGood
        ? `intact before it: seq ${r.first?.seq}–${r.lastGood.seq}, last good hash ${r.lastGood.hash}`
        : 'no entry before it is intact',
    );
  } else if (r.count === 0) {
    lines.push(`audit log is empty (${source})`);
  } else {
    lines.push(`audit chain intact: ${r.count} entries, seq ${r.first?.seq}–${r.head?.seq} (${source})`);
  }
  for (const g of r.gaps) {
    lines.push(
      `seq ${g.from}${g.to > g.from ? `–${g.to}` : ''} MISSING: sequence numbers are never reused, so ${g.to > g.from ? 'these entries were' : 'this entry was'} deleted`,
    );
  }
  for (const a of r.anchors) {
    lines.push(
      a.seq !== undefined
        ? `anchor ${a.hash}: found at seq ${a.seq}`
        : `anchor ${a.hash}: NOT FOUND in the intact chain: entries were removed from the end, or the log was rewritten`,
    );
  }
  if (r.head) {
    lines.push(`head: seq ${r.head.seq} ${r.head.id} ${r.head.hash}`);
    lines.push(
      'Entries removed from the end leave an intact chain: keep the head hash elsewhere (the syslog copy carries every hash) and check it later with `release-bot audit verify --anchor <hash>`.',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The comparison with a forwarded copy: one line per difference, each with its sequence number. */
export function againstText(file: string, copy: ForwardedCopy, differences: readonly Difference[]): string {
  const seqs = copy.items.map((i) => i.seq);
  const lines = [
    `forwarded copy ${file} (${copy.format}): ${copy.items.length} entries${seqs.length ? `, seq ${Math.min(...seqs)}–${Math.max(...seqs)}` : ''}`,
  ];
  for (const u of copy.unreadable) lines.push(`  unreadable: ${u}`);
  if (differences.length === 0) lines.push('database and forwarded copy agree on every entry');
  else
    lines.push(
      `database and forwarded copy DIFFER (${differences.length}):`,
      ...differences.map((d) => `  seq ${d.seq}: ${d.kind}: ${d.message}`),
    );
  return `${lines.join('\n')}\n`;
}

const DATA_DIR_OPTION = ['--data-dir <dir>', 'the data directory (default: RELEASE_BOT_DATA_DIR or ./data)'] as const;

type ListOptions = { project?: string; version?: string; limit: number; json?: boolean; dataDir?: string };
type VerifyOptions = { anchor: string[]; input?: string; against?: string; json?: boolean; dataDir?: string };

async function printList(o: ListOptions): Promise<void> {
  readAuditRecords(o.dataDir, (audit) => {
    const entries = audit.entries.list({ project: o.project, version: o.version, limit: o.limit });
    for (const e of entries) process.stdout.write(o.json ? `${JSON.stringify(e)}\n` : listLine(e));
  });
}

async function printEntry(id: string, o: { dataDir?: string }): Promise<void> {
  auditId(id);
  readAuditRecords(o.dataDir, (audit) => {
    const entry = audit.entries.get(id);
    if (!entry) throw new ReleaseBotError(ErrorCode.NotFound, `no audit entry ${id}`);
    process.stdout.write(`${JSON.stringify(entry, null, 2)}\n`);
  });
}

async function exportEntries(o: { output?: string; dataDir?: string }): Promise<void> {
  readAuditRecords(o.dataDir, (audit) => {
    const lines: string[] = [];
    for (const e of audit.entries.all()) {
      const line = `${exportLine(e)}\n`;
      if (o.output) lines.push(line);
      else process.stdout.write(line);
    }
    // 'wx': an export never overwrites a file, which could be an earlier copy kept as evidence.
    if (o.output) writeFileSync(o.output, lines.join(''), { mode: 0o600, flag: 'wx' });
  });
}

async function verifyAudit(o: VerifyOptions): Promise<number> {
  if (o.input && o.against)
    throw new ReleaseBotError(ErrorCode.BadInput, '--input and --against do not go together: --against compares the database with a copy');
  if (o.input) {
    const result = verifyChain(chainFromJsonl(readFileSync(o.input, 'utf8')), { anchors: o.anchor });
    process.stdout.write(o.json ? `${JSON.stringify(result, null, 2)}\n` : verifyText(result, o.input));
    return result.ok ? 0 : CHAIN_BROKEN_EXIT;
  }
  // The copy is read before the database: it is the anchor, and reading it cannot change it.
  const copy = o.against === undefined ? undefined : parseForwardedCopy(readFileSync(o.against));
  const { result, differences } = readAuditRecords(o.dataDir, (audit) => {
    const items = [...audit.chain()];
    return { result: verifyChain(items, { anchors: o.anchor }), differences: copy ? compareWithCopy(items, copy) : [] };
  });
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify(copy ? { ...result, against: { file: o.against, format: copy.format, count: copy.items.length, unreadable: copy.unreadable, differences } } : result, null, 2)}\n`,
    );
  } else {
    process.stdout.write(verifyText(result, 'database') + (copy ? againstText(o.against as string, copy, differences) : ''));
  }
  return result.ok && differences.length === 0 && (copy?.unreadable.length ?? 0) === 0 ? 0 : CHAIN_BROKEN_EXIT;
}

async function traceAudit(project: string, version: string, o: { json?: boolean; dataDir?: string }): Promise<number> {
  assertProjectName(project);
  assertVersion(version);
  return readAuditRecords(o.dataDir, (audit) => {
    const chain = verifyChain(audit.chain());
    const entries = audit.entries.list({ project, version, limit: 100_000 }).reverse();
    if (entries.length === 0) throw new ReleaseBotError(ErrorCode.NotFound, `the audit log has no entry for ${project} ${version}`);
    const trace = traceVersion(project, version, entries);
    process.stdout.write(o.json ? `${JSON.stringify({ trace, chain }, null, 2)}\n` : `${formatTrace(trace, chain)}\n`);
    if (!chain.ok) return CHAIN_BROKEN_EXIT;
    return trace.outcome?.type === 'published' ? 0 : 66;
  });
}

/** One of `audit`'s commands: each reads the database of --data-dir (or the configured one). */
function subcommand(audit: Command, name: string, description: string): Command {
  return audit
    .command(name)
    .description(description)
    .option(...DATA_DIR_OPTION);
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('read, verify, export and trace the hash-chained audit log');

  subcommand(audit, 'list', 'the latest audit entries, newest first')
    .option('--project <p>', 'only this project')
    .option('--version <v>', 'only this version')
    .option('--limit <n>', 'how many entries', positiveInt, 20)
    .option('--json', 'one JSON object per line')
    .action(action(printList));

  subcommand(audit, 'show', 'one audit entry as JSON, with its hashes')
    .argument('<id>', 'the entry id (aud_...)')
    .action(action(printEntry));

  subcommand(audit, 'export', 'every entry, oldest first, one canonical JSON object per line (verifiable with `audit verify --input`)')
    .option('--jsonl', 'JSON Lines (the only format, and the default)', true)
    .option('--output <file>', 'write to this new file (mode 0600) instead of stdout')
    .action(action(exportEntries));

  subcommand(audit, 'verify', 'walk the hash chain; name the first entry changed, removed or reordered; exit 65 if any')
    .option('--anchor <hash>', 'a head hash recorded earlier: it must still be in the chain (repeatable)', hash64, [] as string[])
    .option('--input <file>', 'verify an `audit export` file instead of the database')
    .option(
      '--against <file>',
      "also compare the database, entry by entry, with a forwarded copy (JSONL, or the syslog sink's RFC 5424 messages)",
    )
    .option('--json', 'print the result as JSON')
    .action(action(verifyAudit));

  subcommand(audit, 'trace', 'the chain of custody of a version: build, digests, requester, approvers, Conjur reads, destinations')
    .argument('<project>')
    .argument('<version>')
    .option('--json', 'print the trace as JSON')
    .action(action(traceAudit));
}

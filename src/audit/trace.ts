import { auditCode, isAuditType, type ArtifactDigests, type AuditedDestination, type AuditEntry, type AuditEntryOf } from './entries.js';
import type { VerifyResult } from './verify.js';

export type { ArtifactDigests } from './entries.js';

export interface TraceDestination {
  name: string;
  type: string;
  status: string;
  readBackDigest?: string | undefined;
  location?: string | undefined;
  /** The signed provenance it published: the subject and the sha256 of the `.intoto.jsonl` content. */
  attestations?: { subject: string; digest: string; keyId?: string | undefined; location?: string | undefined }[] | undefined;
}

/** The chain of custody of one version, gathered from its audit entries. */
export interface Trace {
  project: string;
  version: string;
  /** The entry that ends the release being traced: `published` when there is one, else the latest attempt. */
  outcome?: { type: string; at: string; seq: number; auditId: string; releaseId: string | null; resumeOf?: string | undefined } | undefined;
  build: { job?: string | undefined; number?: number | undefined; url?: string | undefined; commit?: string | undefined };
  staged?:
    { at: string; seq: number; auditId: string; reportedBy?: string | undefined; artifact?: ArtifactDigests | undefined } | undefined;
  /** The digests measured when publishing (hashed while copying the verified files, the image re-inspected). */
  publishedArtifact?: ArtifactDigests | undefined;
  /** Whether the digests measured when publishing equal those recorded at staging; undefined when nothing was measured. */
  digestsMatch?: boolean | undefined;
  requester?: { login?: string | undefined; chatUserId?: string | undefined; via: string } | undefined;
  approvers: string[];
  conjurIdentity?: string | undefined;
  /** sha256 of the projects file (the policy) the release ran under. */
  policySha256?: string | undefined;
  credentialIds: string[];
  destinations: TraceDestination[];
  /** Yanks of this version (`yanked`, `yank-failed`), oldest first: who, why, who approved, each destination's answer. */
  yanks: {
    type: string;
    at: string;
    seq: number;
    auditId: string;
    yankId?: string | undefined;
    who: string;
    reason?: string | undefined;
    approvers: string[];
    destinations: { name: string; status: string }[];
  }[];
  /** Everything else recorded for this version (denials, failures, interruptions), oldest first. */
  others: { type: string; at: string; seq: number; auditId: string; who: string; detail?: string | undefined }[];
}

/** An empty string recorded is as good as none. */
const str = (v: string | null | undefined): string | undefined => v || undefined;

function sameDigests(a: ArtifactDigests, b: ArtifactDigests): boolean {
  const key = (d: ArtifactDigests) =>
    d.kind === 'files' ? JSON.stringify(d.files.map((f) => [f.path, f.sha256]).sort()) : `${d.ref}@${d.digest}`;
  return a.kind === b.kind && key(a) === key(b);
}

/** Who approved the release that ended in `end`: those its entries recorded, and approvals given for it or before it. */
function approversOf(mine: readonly AuditEntry[], end: AuditEntry | undefined, recorded: readonly string[]): string[] {
  const approvers = new Set(recorded);
  for (const e of mine.filter(isAuditType('approved'))) {
    if (end && (e.releaseId === end.releaseId || e.seq <= end.seq)) {
      const login = e.actor.conjurLogin ?? str(e.data.approver);
      if (login) approvers.add(login);
    }
  }
  return [...approvers].sort();
}

function traceDestination(d: AuditedDestination): TraceDestination {
  return {
    name: d.name,
    type: d.type,
    status: d.status,
    readBackDigest: str(d.readBackDigest),
    location: str(d.location),
    ...(d.attestations
      ? {
          attestations: d.attestations.map((a) => ({
            subject: a.subject,
            digest: a.digest,
            keyId: str(a.keyId),
            location: str(a.location),
          })),
        }
      : {}),
  };
}

function traceYank(e: AuditEntryOf<'yanked'> | AuditEntryOf<'yank-failed'>): Trace['yanks'][number] {
  return {
    type: e.type,
    at: e.at,
    seq: e.seq,
    auditId: e.id,
    yankId: str(e.data.yankId),
    who: e.actor.conjurLogin ?? e.actor.via,
    reason: str(e.data.reason),
    approvers: e.data.approvers ?? [],
    destinations: (e.data.destinations ?? []).map((x) => ({ name: x.name, status: x.status })),
  };
}

/**
 * Builds the trace of `project version` from its audit entries (oldest first). Pure: the caller
 * reads the entries, and checks the chain they come from.
 */
export function traceVersion(project: string, version: string, entries: readonly AuditEntry[]): Trace {
  const mine = entries.filter((e) => e.project === project && e.version === version);
  const ends = mine.filter(isAuditType('published', 'failed', 'interrupted', 'dry-run'));
  const end = [...ends].reverse().find((e) => e.type === 'published') ?? ends[ends.length - 1];
  const before = end ? mine.filter((e) => e.seq <= end.seq) : mine;
  const stagedEntry = [...before].reverse().find(isAuditType('staged'));
  const requested = end?.releaseId ? mine.filter(isAuditType('requested')).find((e) => e.releaseId === end.releaseId) : undefined;
  // An interruption records no more than the state it cut short: everything else comes from the other entries.
  const endData = end && end.type !== 'interrupted' ? end.data : undefined;
  const stagedData = stagedEntry?.data;
  const build: Trace['build'] = { ...stagedData?.build, ...endData?.build };

  const stagedArtifact = stagedData?.artifact;
  // Only what was measured counts: `artifact` in the entry is the staging record, copied.
  const publishedArtifact = endData?.publishedArtifact;
  const actor = (requested ?? end)?.actor;
  const yankEntries = mine.filter(isAuditType('yanked', 'yank-failed'));
  const used = new Set([stagedEntry?.seq, requested?.seq, end?.seq, ...yankEntries.map((e) => e.seq)]);

  return {
    project,
    version,
    outcome: end && {
      type: end.type,
      at: end.at,
      seq: end.seq,
      auditId: end.id,
      releaseId: end.releaseId,
      resumeOf: str(endData?.resumeOf),
    },
    build,
    staged: stagedEntry && {
      at: stagedEntry.at,
      seq: stagedEntry.seq,
      auditId: stagedEntry.id,
      reportedBy: str(stagedData?.reportedBy),
      artifact: stagedArtifact,
    },
    publishedArtifact,
    digestsMatch: stagedArtifact && publishedArtifact ? sameDigests(stagedArtifact, publishedArtifact) : undefined,
    requester: actor && { login: actor.conjurLogin, chatUserId: actor.chatUserId, via: actor.via },
    approvers: approversOf(mine, end, endData?.approvers ?? requested?.data.approvers ?? []),
    conjurIdentity: str(endData?.conjurIdentity),
    policySha256: str(endData?.policySha256) ?? str(requested?.data.policySha256),
    credentialIds: endData?.credentialIds ?? [],
    destinations: (endData?.destinations ?? []).map(traceDestination),
    yanks: yankEntries.map(traceYank),
    others: mine
      .filter((e) => !used.has(e.seq))
      .map((e) => ({
        type: e.type,
        at: e.at,
        seq: e.seq,
        auditId: e.id,
        who: e.actor.conjurLogin ?? e.actor.via,
        detail: str(auditCode(e)),
      })),
  };
}

function artifactLines(a: ArtifactDigests | undefined): string[] {
  if (!a) return ['    (no digests recorded)'];
  if (a.kind === 'docker') return [`    ${a.ref}@${a.digest}`];
  return a.files.map((f) => `    sha256:${f.sha256}  ${f.path}${f.size !== undefined ? ` (${f.size} bytes)` : ''}`);
}

/** What differs between the staging digests and those measured at publish, one line per file. */
function differenceLines(staged: ArtifactDigests | undefined, measured: ArtifactDigests): string[] {
  if (!staged || staged.kind !== 'files' || measured.kind !== 'files') {
    return [
      ...(staged ? ['    staged:'].concat(artifactLines(staged).map((l) => `  ${l}`)) : []),
      '    measured:',
      ...artifactLines(measured).map((l) => `  ${l}`),
    ];
  }
  const before = new Map(staged.files.map((f) => [f.path, f]));
  const after = new Map(measured.files.map((f) => [f.path, f]));
  const out: string[] = [];
  for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const b = before.get(path);
    const a = after.get(path);
    if (b && a && b.sha256 === a.sha256) out.push(`    sha256:${a.sha256}  ${path} (same)`);
    else if (b && a) out.push(`    sha256:${a.sha256}  ${path} CHANGED (staged sha256:${b.sha256})`);
    else if (a) out.push(`    sha256:${a.sha256}  ${path} ADDED after staging`);
    else if (b) out.push(`    ${path} MISSING at publish (staged sha256:${b.sha256})`);
  }
  return out;
}

/** The outcome, the chain, the build and the digests at staging and at publish. */
function custodyLines(t: Trace, chain?: VerifyResult): string[] {
  const lines: string[] = [];
  const o = t.outcome;
  const title = o
    ? `${o.type === 'published' ? 'PUBLISHED' : `NOT PUBLISHED (latest attempt ${o.type})`} at ${o.at}`
    : 'NOT PUBLISHED (no release attempt recorded)';
  lines.push(
    `${t.project} ${t.version}: ${title}${o ? ` — release ${o.releaseId ?? '?'}, audit ${o.auditId} (seq ${o.seq})${o.resumeOf ? `, resuming ${o.resumeOf}` : ''}` : ''}`,
  );
  if (chain) {
    lines.push(
      chain.break
        ? `audit chain: BROKEN at seq ${chain.break.seq} (${chain.break.id}): do not trust this trace past that point (run \`release-bot audit verify\`)`
        : `audit chain: intact, ${chain.count} entries, head ${chain.head?.hash ?? '-'}`,
    );
  }
  const b = t.build;
  lines.push(
    `Jenkins:     job ${b.job ?? '(not reported)'}, build ${b.number !== undefined ? `#${b.number}` : '(no number)'} ${b.url ?? '(no URL)'}, commit ${b.commit ?? '(not reported)'}`,
  );
  if (t.staged) {
    lines.push(
      `staged:      ${t.staged.at} by ${t.staged.reportedBy ?? '?'} (audit ${t.staged.auditId}, seq ${t.staged.seq})`,
      ...artifactLines(t.staged.artifact),
    );
  } else {
    lines.push('staged:      (no staging entry)');
  }
  if (o) {
    if (!t.publishedArtifact) {
      lines.push(
        'at publish:  no digests measured (the attempt ended before the files were verified, or the entry predates measured digests)',
      );
    } else if (t.digestsMatch === true) {
      lines.push('at publish:  same digests as at staging (re-hashed before publishing)');
    } else {
      lines.push('at publish:  DIFFERENT digests from staging:', ...differenceLines(t.staged?.artifact, t.publishedArtifact));
    }
  }
  return lines;
}

function destinationLines(destinations: readonly TraceDestination[]): string[] {
  const lines = ['destinations:'];
  if (destinations.length === 0) lines.push('    (none recorded)');
  const width = Math.max(0, ...destinations.map((d) => `${d.name} [${d.type}]`.length));
  for (const d of destinations) {
    lines.push(
      `    ${`${d.name} [${d.type}]`.padEnd(width)}  ${d.status.padEnd(15)}  read-back ${d.readBackDigest ?? '-'}${d.location ? `  ${d.location}` : ''}`,
    );
    for (const a of d.attestations ?? [])
      lines.push(
        `      attestation sha256:${a.digest}  ${a.subject}${a.keyId ? ` (key id ${a.keyId.slice(0, 16)})` : ''}${a.location ? `  ${a.location}` : ''}`,
      );
  }
  return lines;
}

/** The trace as one screen of text. `chain` is the verification of the log the entries came from. */
export function formatTrace(t: Trace, chain?: VerifyResult): string {
  const lines = custodyLines(t, chain);
  const r = t.requester;
  lines.push(`requested:   ${r ? `${r.login ?? '?'}${r.chatUserId ? ` (chat ${r.chatUserId})` : ''} via ${r.via}` : '-'}`);
  lines.push(`approved:    ${t.approvers.length ? t.approvers.join(', ') : '(no approvals recorded)'}`);
  if (t.outcome)
    lines.push(
      `policy:      ${t.policySha256 ? `sha256:${t.policySha256} (the projects file this release ran under)` : '(not recorded: the release predates policy hashes)'}`,
    );
  lines.push(`Conjur:      as ${t.conjurIdentity ?? '?'}, read ${t.credentialIds.length ? t.credentialIds.join(', ') : '(no variables)'}`);
  lines.push(...destinationLines(t.destinations));
  for (const y of t.yanks) {
    lines.push(
      `${y.type === 'yanked' ? 'YANKED:     ' : 'yank FAILED:'} ${y.at} by ${y.who}${y.approvers.length ? `, approved by ${y.approvers.join(', ')}` : ', no approvals recorded'}: ${y.reason ?? '(no reason recorded)'} — ${y.yankId ?? '?'}, audit ${y.auditId} (seq ${y.seq})`,
      ...y.destinations.map((d) => `    ${d.name}  ${d.status}`),
    );
  }
  if (t.others.length) {
    lines.push('other entries:');
    for (const e of t.others.slice(-6)) lines.push(`    ${e.at} ${e.type} by ${e.who}${e.detail ? ` (${e.detail})` : ''} — ${e.auditId}`);
    if (t.others.length > 6) lines.push(`    … ${t.others.length - 6} more (release-bot audit list --project ${t.project})`);
  }
  return lines.join('\n');
}

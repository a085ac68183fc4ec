import type { DestinationOutcome, ReleaseSummary } from './types.js';

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/** "provenance: signed (key id …)" for a destination that published signed attestations; empty otherwise. */
export function provenanceText(d: DestinationOutcome): string {
  const keys = [...new Set((d.attestations ?? []).map((a) => a.keyId))];
  return keys.length > 0 ? `provenance: signed (key id ${keys.map((k) => k.slice(0, 16)).join(', ')})` : '';
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** The audit summary as plain text: the terminal's view, and the fallback text of the chat message. */
export function summaryText(s: ReleaseSummary): string {
  const verb = s.dryRun ? 'Dry run of' : s.state === 'published' ? 'Released' : 'Release FAILED:';
  const lines = [
    `${verb} ${s.project} ${s.version} (${s.state})`,
    `build: ${s.build.number !== undefined ? `#${s.build.number}` : 'unknown'}${s.build.job ? ` (${s.build.job})` : ''}${s.build.url ? ` ${s.build.url}` : ''}${s.build.commit ? ` commit ${s.build.commit.slice(0, 12)}` : ''}`,
    s.artifact.kind === 'files'
      ? `artifact: ${s.artifact.files.map((f) => `${f.path} sha256:${short(f.sha256)}`).join(', ')}`
      : `artifact: ${s.artifact.ref}@sha256:${short(s.artifact.digest)}`,
    `requested by: ${s.requester.login}${s.approvers.length ? `; approved by: ${s.approvers.join(', ')}` : ''}`,
    ...s.destinations.map((d) => {
      const what =
        d.status === 'failed'
          ? `failed (${d.error?.code}): ${d.error?.message}`
          : d.plan
            ? `would ${d.plan.join('; ')}`
            : `${d.status}${d.readBackDigest ? ` ${short(d.readBackDigest)}` : ''}`;
      const signed = provenanceText(d);
      return `  - ${d.name} [${d.type}]: ${what} in ${formatDuration(d.durationMs)}${d.attempts > 1 ? ` after ${d.attempts} attempts` : ''}${signed ? `; ${signed}` : ''}`;
    }),
    ...(s.error ? [`error (${s.error.code}): ${s.error.message}`] : []),
    `total: ${formatDuration(s.durationMs)}; release ${s.releaseId}; audit entry ${s.auditId}`,
  ];
  return lines.join('\n');
}

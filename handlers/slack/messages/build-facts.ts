import type { BuildInfo, StagedArtifact } from '../../../src/publishing/types.js';
import { code, esc, link, shortDigest } from './mrkdwn.js';

/** `<url|#123>`, or `#123`, or `unknown`. */
export function buildLink(build: BuildInfo): string {
  const label = build.number !== undefined ? `#${build.number}` : 'unknown build';
  return link(build.url, label) + (build.job ? ` (${esc(build.job)})` : '');
}

/** What buildLink shows, as plain text for a `text` fallback (escape it with the rest). */
export function buildPlain(build: BuildInfo): string {
  return `${build.number !== undefined ? `#${build.number}` : 'unknown build'}${build.job ? ` (${build.job})` : ''}`;
}

export function commitText(build: BuildInfo): string {
  return build.commit ? code(build.commit.slice(0, 12)) : '_not reported_';
}

/** One line per file (short sha256), or the image digest; at most `max` files, then a count. */
export function digestLines(artifact: StagedArtifact, max = 8): string {
  if (artifact.kind === 'docker') return `${code(artifact.ref)} ${code(`sha256:${shortDigest(artifact.digest)}`)}`;
  const lines = artifact.files.slice(0, max).map((f) => `${code(f.path)} ${code(shortDigest(f.sha256))}`);
  if (artifact.files.length > max) lines.push(`…and ${artifact.files.length - max} more`);
  return lines.join('\n') || '_no files_';
}

export function digestsPlain(artifact: StagedArtifact): string {
  return artifact.kind === 'docker'
    ? `${artifact.ref}@sha256:${shortDigest(artifact.digest)}`
    : artifact.files.map((f) => `${f.path} sha256:${shortDigest(f.sha256)}`).join(', ');
}

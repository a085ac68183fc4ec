import { canonicalJson } from '../audit/canonical.js';
import type { Config, ProjectConfig } from './load.js';

/**
 * What a reload may not change: these are fixed until restart. The staging directory holds the
 * builds already staged and quarantined, and the releases running from it; moving it under them
 * would orphan those builds. (Environment variables — Conjur, Slack, the data directory — are read
 * once at start and a reload never re-reads them.)
 */
export function fixedUntilRestart(running: Config, next: Config): string[] {
  const problems: string[] = [];
  if (next.stagingDir !== running.stagingDir) {
    problems.push(
      `staging_dir: changed from ${running.stagingDir} to ${next.stagingDir}, which takes a restart (builds staged under the old directory would be lost to the bot): put the old value back, or restart release-bot serve to apply it`,
    );
  }
  return problems;
}

const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/**
 * A short, human summary of what a new policy changes: projects added or removed, and per project
 * its groups, approvals, destinations and other keys. One line per change.
 */
export function summarizePolicyChange(before: Config, after: Config): string[] {
  const lines: string[] = [];
  if (before.channel !== after.channel) lines.push(`channel: ${before.channel} → ${after.channel}`);
  if (!same(before.identity, after.identity)) lines.push('identity: changed');
  const added = [...after.projects.keys()].filter((p) => !before.projects.has(p));
  const removed = [...before.projects.keys()].filter((p) => !after.projects.has(p));
  if (added.length) lines.push(`projects added: ${added.join(', ')}`);
  if (removed.length) lines.push(`projects removed: ${removed.join(', ')}`);
  for (const [name, next] of after.projects) {
    const prev = before.projects.get(name);
    if (prev) lines.push(...projectChanges(name, prev, next));
  }
  return lines;
}

function projectChanges(name: string, prev: ProjectConfig, next: ProjectConfig): string[] {
  const lines: string[] = [];
  const key = (k: string, a: unknown, b: unknown) => {
    if (!same(a, b)) lines.push(`${name}: ${k} ${String(a ?? '(none)')} → ${String(b ?? '(none)')}`);
  };
  key('authorized_group', prev.authorized_group, next.authorized_group);
  key('approvals', prev.approvals, next.approvals);
  key('approver_group', prev.approver_group, next.approver_group);
  key('channel', prev.channel, next.channel);
  key('jenkins_job', prev.jenkins_job, next.jenkins_job);
  const before = new Map(prev.destinations.map((d) => [d.name, d]));
  const after = new Map(next.destinations.map((d) => [d.name, d]));
  const addedDest = [...after.keys()].filter((d) => !before.has(d));
  const removedDest = [...before.keys()].filter((d) => !after.has(d));
  const changedDest = [...after.keys()].filter((d) => before.has(d) && !same(before.get(d), after.get(d)));
  if (addedDest.length) lines.push(`${name}: destinations added: ${addedDest.join(', ')}`);
  if (removedDest.length) lines.push(`${name}: destinations removed: ${removedDest.join(', ')}`);
  if (changedDest.length) lines.push(`${name}: destinations changed: ${changedDest.join(', ')}`);
  const covered = new Set(['name', 'authorized_group', 'approvals', 'approver_group', 'channel', 'jenkins_job', 'destinations']);
  const others = [...new Set([...Object.keys(prev), ...Object.keys(next)])]
    .filter((k) => !covered.has(k))
    .filter((k) => !same((prev as unknown as Record<string, unknown>)[k], (next as unknown as Record<string, unknown>)[k]));
  if (others.length) lines.push(`${name}: also changed: ${others.sort().join(', ')}`);
  return lines;
}

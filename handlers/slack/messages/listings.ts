import { auditCode, type AuditEntry } from '../../../src/audit/entries.js';
import type { ApprovalRequest } from '../../../src/release/approvals.js';
import type { Freeze } from '../../../src/release/freeze.js';
import type { ReleaseRecord } from '../../../src/store/releases.js';
import type { StagedBuild } from '../../../src/store/staged-builds.js';
import type { YankRecord } from '../../../src/store/yanks.js';
import { buildLink, buildPlain, digestsPlain } from './build-facts.js';
import { code, context, esc, header, section, sectionsOf, when, type SlackMessage } from './mrkdwn.js';

export interface StagedItem {
  staged: StagedBuild;
  /** The release holding the version (published or running), if any. */
  release?: ReleaseRecord | undefined;
  /** The version was yanked (or is being yanked): never to be released again. */
  yanked?: boolean | undefined;
}

/** `/release list [project]`: current staged builds, newest first, and whether each is still to release. */
export function stagedListMessage(items: StagedItem[], project?: string): SlackMessage {
  const ready = items.filter((i) => !i.release && !i.yanked);
  const line = (i: StagedItem) =>
    `• ${code(i.staged.project)} ${code(i.staged.version)} build ${buildLink(i.staged.build)} staged ${when(i.staged.stagedAt)}${i.yanked ? ' (*yanked*)' : i.release ? ` (${esc(i.release.state)} by ${esc(i.release.requesterLogin ?? '?')})` : ''}`;
  const scope = project ? ` of ${project}` : '';
  return {
    text: esc(
      items.length
        ? [
            `Staged builds${scope}: ${ready.length} ready to release`,
            ...items.map(
              (i) =>
                `- ${i.staged.project} ${i.staged.version}${i.yanked ? ' (yanked)' : i.release ? ` (${i.release.state}) by ${i.release.requesterLogin ?? '?'}` : ''}, build ${buildPlain(i.staged.build)} staged ${i.staged.stagedAt}`,
            ),
          ].join('\n')
        : `No staged builds${scope}.`,
    ),
    blocks: [
      section(`*Staged builds${esc(scope)}*: ${ready.length} ready to release`),
      ...sectionsOf(items.map(line)),
      context(`release one with ${code('/release <project> <version>')}`),
    ],
  };
}

export interface StatusView {
  project: string;
  version?: string | undefined;
  staged: StagedBuild[];
  releases: ReleaseRecord[];
  freeze?: Freeze | undefined;
  approvals: ApprovalRequest[];
  /** Yanks of the project (or version), newest first. */
  yanks?: YankRecord[] | undefined;
}

/** `/release status <project> [version]`: the latest releases first, then the freeze, the staged builds and open approvals. */
export function statusMessage(v: StatusView): SlackMessage {
  const title = `${v.project}${v.version ? ` ${v.version}` : ''}`;
  const staged = v.staged.map(
    (s) =>
      `• ${code(s.version)} build ${buildLink(s.build)} staged ${when(s.stagedAt)} by ${esc(s.reportedBy)}: ${esc(digestsPlain(s.artifact))}`,
  );
  const releases = v.releases.map(
    (r) =>
      `• ${code(r.version)} ${esc(r.state)}${r.dryRun ? ' (dry run)' : ''} by ${esc(r.requesterLogin ?? '?')} ${when(r.createdAt)} ${code(r.id)}${r.errorCode ? ` ${esc(r.errorCode)}` : ''}`,
  );
  const yanks = (v.yanks ?? []).map(
    (y) =>
      `• ${code(y.version)} *${esc(y.state === 'yanked' ? 'yanked' : `yank ${y.state}`)}* by ${esc(y.requesterLogin)} ${when(y.createdAt)}: _${esc(y.reason)}_ ${code(y.id)}`,
  );
  const approvals = v.approvals.map(
    (a) =>
      `• ${code(a.version)} asked by ${esc(a.requester.login)}: ${a.approvals.length} of ${a.needed} approval(s), expires ${when(a.expiresAt)}`,
  );
  return {
    text: esc(statusText(v, title)),
    // Releases first: what people come to status for, above what is merely staged.
    blocks: [
      header(`Status of ${title}`),
      section(`*Latest releases*\n${releases.join('\n') || '_none_'}`),
      ...(yanks.length ? [section(`*Yanked*\n${yanks.join('\n')}`)] : []),
      section(
        v.freeze
          ? `:snowflake: *Frozen* by ${esc(v.freeze.by)} since ${when(v.freeze.at)}: _${esc(v.freeze.reason)}_`
          : ':sunny: Not frozen',
      ),
      section(`*Staged*\n${staged.join('\n') || '_none_'}`),
      ...(approvals.length ? [section(`*Waiting for approval*\n${approvals.join('\n')}`)] : []),
    ],
  };
}

/** The plain text of the status: every release, yank, staged build and approval on a line of its own. */
function statusText(v: StatusView, title: string): string {
  return [
    `Status of ${title}`,
    `releases: ${v.releases.map((r) => `${r.version} ${r.state}`).join(', ') || 'none'}`,
    ...v.releases.map(
      (r) =>
        `  - ${r.version} ${r.state}${r.dryRun ? ' (dry run)' : ''} by ${r.requesterLogin ?? '?'} ${r.createdAt} ${r.id}${r.errorCode ? ` ${r.errorCode}` : ''}`,
    ),
    ...(v.yanks?.length
      ? [
          'yanked:',
          ...v.yanks.map(
            (y) =>
              `  - ${y.version} (${y.state === 'yanked' ? 'yanked' : `yank ${y.state}`}: ${y.reason}) by ${y.requesterLogin} ${y.createdAt} ${y.id}`,
          ),
        ]
      : []),
    v.freeze ? `FROZEN by ${v.freeze.by} since ${v.freeze.at}: ${v.freeze.reason}` : 'not frozen',
    `staged: ${v.staged.map((s) => s.version).join(', ') || 'none'}`,
    ...v.staged.map(
      (s) => `  - ${s.version} build ${buildPlain(s.build)} staged ${s.stagedAt} by ${s.reportedBy}: ${digestsPlain(s.artifact)}`,
    ),
    ...(v.approvals.length
      ? [
          'waiting for approval:',
          ...v.approvals.map(
            (a) =>
              `  - ${a.version} asked by ${a.requester.login}: ${a.approvals.length} of ${a.needed} approval(s), expires ${a.expiresAt}`,
          ),
        ]
      : []),
  ].join('\n');
}

/** `/release audit [project] [limit]`: who did what, newest first. Entries name Conjur variable ids, never values. */
export function auditListMessage(entries: AuditEntry[], project?: string): SlackMessage {
  const who = (e: AuditEntry) => e.actor.conjurLogin ?? e.actor.via;
  const why = (e: AuditEntry) => (auditCode(e) ? ` ${auditCode(e)}` : '');
  const plain = entries.map((e) => `${e.at} ${e.id} ${e.type} ${e.project ?? '-'} ${e.version ?? '-'} ${who(e)}${why(e)}`);
  return {
    text: esc(
      entries.length
        ? `Audit${project ? ` of ${project}` : ''}, newest first:\n${plain.join('\n')}`
        : `No audit entries${project ? ` for ${project}` : ''}.`,
    ),
    blocks: [
      section(`*Audit${project ? ` of ${esc(project)}` : ''}*, newest first`),
      ...sectionsOf(
        entries.map(
          (e) =>
            `• ${when(e.at)} *${esc(e.type)}* ${code(e.project ?? '-')} ${code(e.version ?? '-')} by ${esc(who(e))}${esc(why(e))} ${code(e.id)}`,
        ),
      ),
      context('the full entries: `release-bot audit list --json`'),
    ],
  };
}

import type { BuildInfo } from '../../../src/publishing/types.js';
import type { Freeze } from '../../../src/release/freeze.js';
import type { DestinationRecord, ReleaseRecord } from '../../../src/store/releases.js';
import { buildLink } from './build-facts.js';
import { code, context, esc, header, section, when, type SlackMessage } from './mrkdwn.js';

/** A build reported for a version that is released or being released: it was refused, and people should know. */
export function stageConflictMessage(e: {
  project: string;
  version: string;
  reportedBy: string;
  build: BuildInfo;
  releasedBy: string | null;
  releaseId: string;
}): SlackMessage {
  return {
    text: esc(
      `Warning: ${e.reportedBy} reported another build (${e.build.number !== undefined ? `#${e.build.number}` : 'unknown'}) for ${e.project} ${e.version}${e.build.job ? ` (Jenkins job ${e.build.job})` : ''}, which ${e.releasedBy ?? 'someone'} already released or is releasing (${e.releaseId}). The report was refused; nothing changed.`,
    ),
    blocks: [
      header(`:warning: Another build reported for ${e.project} ${e.version}`),
      section(
        `${esc(e.reportedBy)} reported build ${buildLink(e.build)} for ${code(e.project)} ${code(e.version)}, which ${esc(e.releasedBy ?? 'someone')} already released or is releasing (${code(e.releaseId)}).\n` +
          'The report was refused and nothing changed: a released version is never replaced. If this build is meant to ship, give it a new version.',
      ),
    ],
  };
}

/** A release the bot found mid-way after a restart: marked interrupted, never resumed automatically. */
export function interruptedMessage(release: ReleaseRecord, destinations: DestinationRecord[], auditId: string): SlackMessage {
  const lines = destinations.map((d) => `• *${esc(d.destination)}*: ${esc(d.status)}`);
  const resume = `/release ${release.project} ${release.version} resume`;
  return {
    text: esc(
      `Release ${release.id} of ${release.project} ${release.version} (requested by ${release.requesterLogin ?? 'unknown'}) was interrupted: release-bot stopped while it ran.${destinations.map((d) => `\n- ${d.destination}: ${d.status}`).join('')}\nNothing is published again automatically; resume with ${resume}. Audit entry ${auditId}.`,
    ),
    blocks: [
      header(`:warning: Release of ${release.project} ${release.version} was interrupted`),
      section(
        `release-bot stopped while ${code(release.id)} (requested by ${esc(release.requesterLogin ?? 'unknown')}) was ${esc(release.errorCode === 'INTERRUPTED' ? 'running' : release.state)}.${lines.length ? `\n${lines.join('\n')}` : ''}`,
      ),
      section(`Nothing is published again automatically. To run only the destinations that had not finished: ${code(resume)}`),
      context(`audit entry ${code(auditId)}`),
    ],
  };
}

export function frozenMessage(f: Freeze): SlackMessage {
  return {
    text: esc(`${f.project} is frozen by ${f.by} since ${f.at}: ${f.reason}. Releases are refused until /release unlock ${f.project}.`),
    blocks: [
      section(`:snowflake: *${esc(f.project)}* is frozen by ${esc(f.by)} since ${when(f.at)}: _${esc(f.reason)}_`),
      context(`releases are refused until ${code(`/release unlock ${f.project}`)}`),
    ],
  };
}

export function unfrozenMessage(f: Freeze, by: string): SlackMessage {
  return {
    text: esc(`${f.project} is no longer frozen (unlocked by ${by}; it was frozen by ${f.by} since ${f.at}: ${f.reason}).`),
    blocks: [
      section(`:sunny: *${esc(f.project)}* is no longer frozen: unlocked by ${esc(by)}`),
      context(`it was frozen by ${esc(f.by)} since ${when(f.at)}: ${esc(f.reason)}`),
    ],
  };
}

/** serve refused an edited projects file: the policy in force did not change, and someone must fix the file. */
export function policyRejectedMessage(e: {
  file: string;
  sha256: string | null;
  runningSha256: string;
  problems: string[];
  auditId: string;
}): SlackMessage {
  const problems = e.problems.slice(0, 10);
  return {
    // The file name and the problems quote what someone wrote: escaped in the fallback as in the blocks.
    text: esc(
      `The edited projects file ${e.file} was refused: ${problems.join('; ')}${e.problems.length > problems.length ? `; … ${e.problems.length - problems.length} more` : ''}. The running policy (sha256 ${e.runningSha256.slice(0, 12)}) stays in force. Audit entry ${e.auditId}.`,
    ),
    blocks: [
      header(':no_entry: Projects file refused'),
      section(
        `${code(e.file)}${e.sha256 ? ` (sha256 ${code(e.sha256.slice(0, 12))})` : ''} was not loaded:\n${problems.map((p) => `• ${esc(p)}`).join('\n')}${e.problems.length > problems.length ? `\n… ${e.problems.length - problems.length} more` : ''}`,
      ),
      section(`The running policy (sha256 ${code(e.runningSha256.slice(0, 12))}) stays in force until the file is fixed.`),
      context(`audit entry ${code(e.auditId)}`),
    ],
  };
}
